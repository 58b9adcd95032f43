// The API key lives in this tab's sessionStorage only; every request sends it as a
// Bearer header (never in a URL).
const KEY = "hybridagent.apiKey";

export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export const auth = {
  key: () => sessionStorage.getItem(KEY),
  set: (key) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
  onExpired: () => {},
};

/** fetch with the key; a non-2xx answer throws ApiError with the envelope's message. */
export async function request(path, { method = "GET", body, signal, key } = {}) {
  const headers = { Authorization: `Bearer ${key ?? auth.key() ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const envelope = await response.json().catch(() => ({}));
    const error = envelope.error ?? {};
    if (response.status === 401 && key === undefined) auth.onExpired();
    throw new ApiError(error.message ?? `${response.status} ${response.statusText}`,
      error.code ?? "http_error", response.status);
  }
  return response;
}

export async function json(path, options) {
  return (await request(path, options)).json();
}

/** Server-Sent Events of a fetch response: {event, data} with data parsed as JSON. */
export async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}
