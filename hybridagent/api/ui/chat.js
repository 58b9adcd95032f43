// Chat: the caller's sessions, a conversation streaming as the model writes, agent and
// model pickers, a stop button, and on every reply a badge (local or cloud, the model)
// that opens why it ran there.
import { ApiError, events, json, request } from "./api.js";
import { h, isLocal, say } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { routingForNewSession } from "./settings.js";

export function mountChat(section) {
  let session = null; // the open session's id
  let controller = null; // the streaming reply's AbortController

  const list = h("ul", { class: "sessions", id: "session-list", "aria-label": "Chat sessions" });
  const newChat = h("button", { type: "button", id: "new-chat" }, "New chat");
  const agentPicker = h("select", { id: "agent-picker" });
  const modelPicker = h("select", { id: "model-picker" });
  const log = h("ol", { class: "messages", id: "messages", role: "log", "aria-live": "polite",
    "aria-label": "Conversation" });
  const input = h("textarea", { id: "message", name: "message", rows: "3", required: true,
    placeholder: "Write a message (Enter sends, Shift+Enter a new line)" });
  const send = h("button", { type: "submit", id: "send" }, "Send");
  const stop = h("button", { type: "button", id: "stop", disabled: true }, "Stop");
  const status = h("p", { class: "status", role: "status", id: "chat-status" });
  const form = h("form", { class: "composer", "aria-label": "Composer" },
    h("label", { for: "message", class: "visually-hidden" }, "Message"), input,
    h("div", { class: "composer-buttons" }, send, stop));

  section.append(
    h("aside", { class: "sidebar", "aria-labelledby": "sessions-title" },
      h("h2", { id: "sessions-title" }, "Sessions"), newChat, list),
    h("div", { class: "conversation" },
      h("h1", { id: "chat-title", tabindex: "-1" }, "Chat"),
      h("div", { class: "pickers" },
        h("label", { for: "agent-picker" }, "Agent"), agentPicker,
        h("label", { for: "model-picker" }, "Model"), modelPicker),
      log, status, form));

  newChat.addEventListener("click", () => {
    session = null;
    log.replaceChildren();
    say(status, "New chat: the first message opens a session.");
    markCurrent();
    input.focus();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (text && !controller) sendMessage(text);
  });
  stop.addEventListener("click", () => controller?.abort());
  for (const picker of [agentPicker, modelPicker]) {
    picker.addEventListener("change", async () => {
      if (!session) return;
      const change = picker === agentPicker ? { agent: picker.value } : { model: picker.value };
      try {
        await json(`/v1/sessions/${session}`, { method: "PATCH", body: change });
        say(status, `The next messages go to ${picker.value}.`);
      } catch (err) {
        say(status, err.message);
      }
    });
  }

  async function loadPickers() {
    const [agents, models] = await Promise.all([json("/v1/agents"), json("/v1/models")]);
    const keepAgent = agentPicker.value;
    agentPicker.replaceChildren(...agents.data.map((a) =>
      h("option", { value: a.name, selected: a.name === (keepAgent || "general") }, a.name)));
    const names = models.data.map((m) => m.id).filter((id) => !id.startsWith("agent/"));
    const ordered = ["auto", ...names.filter((n) => n !== "auto")];
    const keepModel = modelPicker.value || "auto";
    modelPicker.replaceChildren(...ordered.map((n) =>
      h("option", { value: n, selected: n === keepModel }, n)));
  }

  async function loadSessions() {
    const sessions = await json("/v1/sessions");
    list.replaceChildren(...sessions.data.map((row) =>
      h("li", {},
        h("button", { type: "button", class: "session", dataset: { id: row.id },
          onclick: () => resume(row.id) },
          h("span", { class: "title" }, row.title || "(no messages yet)"),
          h("span", { class: "meta" },
            `${row.agent} · ${row.messages} messages · ${row.status}`)))));
    if (!sessions.data.length) list.append(h("li", { class: "empty" }, "No sessions yet."));
    markCurrent();
  }

  function markCurrent() {
    for (const button of list.querySelectorAll("button.session")) {
      if (button.dataset.id === session) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }

  async function resume(id) {
    try {
      const found = await json(`/v1/sessions/${id}`);
      session = id;
      log.replaceChildren();
      for (const message of found.messages) {
        if (message.role === "user") addUser(message.content);
        else {
          const reply = addAssistant();
          const model = message.models?.at(-1);
          finish(reply, message.content, {
            model, route: model ? (isLocal(model) ? "local" : "cloud") : null,
            models_used: message.models ?? [], agent: message.agent, web_ui_url: found.web_ui_url,
          });
        }
      }
      if (found.state.agent) agentPicker.value = found.state.agent;
      modelPicker.value = found.state.model ?? "auto";
      say(status, `Resumed: ${found.state.messages} messages.`);
      markCurrent();
      input.focus();
    } catch (err) {
      say(status, err.message);
    }
  }

  function addUser(text) {
    const item = h("li", { class: "message user" },
      h("span", { class: "who visually-hidden" }, "You:"), h("div", { class: "text" }, text));
    log.append(item);
    item.scrollIntoView({ block: "end" });
  }

  function addAssistant() {
    const text = h("div", { class: "text streaming" });
    const item = h("li", { class: "message assistant" },
      h("span", { class: "who visually-hidden" }, "Assistant:"), text);
    log.append(item);
    return { item, text };
  }

  function finish(reply, text, details) {
    reply.text.classList.remove("streaming");
    renderMarkdown(reply.text, text);
    if (details?.model) reply.item.append(badge(details));
    reply.item.scrollIntoView({ block: "end" });
  }

  async function openSession() {
    const body = { agent: agentPicker.value, stream: true };
    if (modelPicker.value && modelPicker.value !== "auto") body.model = modelPicker.value;
    const routing = routingForNewSession();
    if (routing) body.routing = routing;
    const opened = await json("/v1/sessions", { method: "POST", body });
    session = opened.id;
    loadSessions().catch(() => {});
  }

  async function sendMessage(text) {
    controller = new AbortController();
    send.disabled = true;
    stop.disabled = false;
    input.value = "";
    addUser(text);
    const reply = addAssistant();
    let streamed = "";
    let pieces = 0;
    log.setAttribute("aria-busy", "true"); // read out once complete, not piece by piece
    say(status, "The model is writing…");
    try {
      if (!session) await openSession();
      const response = await request(`/v1/sessions/${session}/messages`, {
        method: "POST", body: { content: text, stream: true }, signal: controller.signal,
      });
      for await (const { event, data } of events(response)) {
        if (event === "delta") {
          streamed += data.text;
          pieces += 1;
          reply.text.textContent = streamed;
          reply.item.dataset.pieces = String(pieces);
        } else if (event === "reply") {
          finish(reply, data.reply, data);
          say(status, `Answered by ${data.model ?? "the agent"} (${data.route ?? "?"}).`);
        } else if (event === "error") {
          throw new ApiError(data.error.message, data.error.code, 200);
        }
      }
    } catch (err) {
      reply.text.classList.remove("streaming");
      if (err.name === "AbortError") {
        reply.item.append(h("p", { class: "notice" },
          "Stopped. The session may still finish this reply; resume the session to see it."));
        say(status, "Stopped.");
      } else {
        reply.item.append(h("p", { class: "error", role: "alert" }, err.message));
        say(status, "");
      }
    } finally {
      log.removeAttribute("aria-busy");
      controller = null;
      send.disabled = false;
      stop.disabled = true;
      loadSessions().catch(() => {});
      input.focus();
    }
  }

  return {
    async shown() {
      try {
        await Promise.all([loadPickers(), loadSessions()]);
      } catch (err) {
        say(status, err.message);
      }
      // #/chat/<id> (the dashboard's Resume) opens that session.
      const wanted = (location.hash.match(/^#\/chat\/([\w.-]+)$/) ?? [])[1];
      if (wanted) {
        history.replaceState(null, "", "#/chat"); // once: a later visit keeps its own chat
        await resume(wanted);
      }
    },
  };
}

let badges = 0;

/** "local · local/smollm2", a button that opens the reply's why. */
function badge(details) {
  const id = `why-${++badges}`;
  const route = details.route ?? (isLocal(details.model) ? "local" : "cloud");
  const button = h("button", {
    type: "button", class: `badge ${route}`, "aria-expanded": "false", "aria-controls": id,
    "aria-label": `Ran on a ${route} model, ${details.model}: why`,
  }, `${route} · ${details.model}`);
  const panel = h("div", { class: "why", id, hidden: true }, why(details, route));
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", String(!open));
    panel.hidden = open;
  });
  return h("div", { class: "reply-meta" }, button, panel);
}

function why(details, route) {
  const trail = details.routing_trail ?? [];
  const found = [...new Set(trail.flatMap((r) => r.finding_types ?? []))];
  const rows = [["Where", route === "local" ? "Local model (on machines you control)" : "Cloud model"],
    ["Model", (details.models_used ?? [details.model]).join(" → ")]];
  if (details.agent) rows.push(["Agent", details.agent]);
  if (details.private || found.length) {
    rows.push(["Private data",
      found.length ? `found: ${found.join(", ")}; the session stays on local models`
        : "the session holds private data; it stays on local models"]);
  } else if (details.routing_trail) rows.push(["Private data", "none found"]);
  for (const record of trail) {
    const reasons = record.reasons ?? [];
    const bits = reasons.some((r) => r.startsWith("complexity"))
      ? [...reasons] : [`complexity ${Number(record.complexity).toFixed(2)}`, ...reasons];
    rows.push([`Call ${record.call}: ${record.model ?? "?"}`, bits.join("; ")]);
    if (record.fallback_from) {
      rows.push(["Fallback", `from ${record.fallback_from}${record.failure ? ` (${record.failure})` : ""}`]);
    }
  }
  for (const notice of details.notices ?? []) rows.push(["Notice", notice]);
  const list = h("dl", {}, rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
  const link = details.web_ui_url
    ? h("a", { href: details.web_ui_url, target: "_blank", rel: "noopener noreferrer" },
      "Open its run in the Temporal Web UI")
    : null;
  return [list, link];
}
