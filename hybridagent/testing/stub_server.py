"""A recording OpenAI-compatible stub server on loopback: the stand-in for cloud APIs.

It answers /v1/chat/completions (and /chat/completions, as LiteLLM calls it) with a
scripted reply and records every request, so tests can assert what a cloud provider
would have received, and what it never received. A request with `stream: true` gets the
same reply as OpenAI's Server-Sent Events (a usage chunk when `stream_options` asks).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


Reply = Callable[[dict[str, Any]], dict[str, Any]]


def text_reply(text: str) -> Reply:
    def reply(body: dict[str, Any]) -> dict[str, Any]:
        return completion(body.get("model", "stub"), {"role": "assistant", "content": text})

    return reply


def tool_then_text(tool: str, arguments: dict[str, Any], text: str) -> Reply:
    """First a tool call; once the request carries a tool result, a text answer."""

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        if any(m.get("role") == "tool" for m in body.get("messages", [])):
            return text_reply(text)(body)
        call = {
            "id": "call_stub_1",
            "type": "function",
            "function": {"name": tool, "arguments": json.dumps(arguments)},
        }
        return completion(
            body.get("model", "stub"),
            {"role": "assistant", "content": None, "tool_calls": [call]},
            finish_reason="tool_calls",
        )

    return reply


def completion(model: str, message: dict[str, Any], finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def stream_chunks(reply: dict[str, Any], *, include_usage: bool) -> list[dict[str, Any]]:
    """A completion as OpenAI streams it: the role, the text in a few pieces, the tool
    calls, the finish reason, and the usage in a last chunk with no choices."""
    choice = reply["choices"][0]
    message, finish = choice["message"], choice["finish_reason"]
    text = message.get("content") or ""
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    step = max(1, len(text) // 3)
    deltas += [{"content": text[i : i + step]} for i in range(0, len(text), step)]
    if message.get("tool_calls"):
        deltas.append(
            {"tool_calls": [dict(call, index=i) for i, call in enumerate(message["tool_calls"])]}
        )
    base = {k: reply[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        for delta in deltas
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if include_usage and "usage" in reply:
        chunks.append({**base, "choices": [], "usage": reply["usage"]})
    return chunks


@dataclass
class StubServer:
    reply: Reply = field(default_factory=lambda: text_reply("stub answer"))
    requests: list[RecordedRequest] = field(default_factory=list)
    status: int = 200
    # Fault injection: extra headers on error answers (Retry-After), the error message,
    # and `fault` = "hang" (never answer until released), "malformed" (200 with a body
    # that is not JSON) or "cut" (the connection closes half-way through the body).
    error_headers: dict[str, str] = field(default_factory=dict)
    error_message: str = "stub error"
    fault: str | None = None
    # The next this many chat requests are answered with `status` (500 when it is 200);
    # then the stub answers normally again (a retried call that succeeds).
    fail_next: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    # When set: every request is recorded, then answered only once the event is set (so
    # a test can see what was admitted before any of it finishes).
    hold: threading.Event | None = None
    _server: ThreadingHTTPServer | None = None

    def reset(self) -> None:
        self.requests.clear()
        self.reply = text_reply("stub answer")
        self.status = 200
        self.error_headers = {}
        self.error_message = "stub error"
        self.fault = None
        self.fail_next = 0
        self.released.set()
        self.released = threading.Event()
        if self.hold is not None:
            self.hold.set()
        self.hold = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the stub first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> StubServer:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                stub.requests.append(RecordedRequest(self.path, _lower(self.headers), body))
                hold = stub.hold
                if hold is not None:
                    hold.wait()
                if not self.path.rstrip("/").endswith("chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                elif stub.fault == "hang":
                    stub.released.wait()
                elif stub.fault == "malformed":
                    self._send_raw(200, b'{"id": "chatcmpl-stub", "choices": [{"mess')
                elif stub.fault == "cut":
                    data = json.dumps(stub.reply(body)).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                elif stub.status != 200 or stub.fail_next > 0:
                    stub.fail_next = max(stub.fail_next - 1, 0)
                    error = {"error": {"message": stub.error_message, "type": "stub"}}
                    self._send(
                        stub.status if stub.status != 200 else 500, error, stub.error_headers
                    )
                elif body.get("stream"):
                    self._send_stream(stub.reply(body), body.get("stream_options") or {})
                else:
                    self._send(200, stub.reply(body))

            def _send_stream(self, reply: dict[str, Any], options: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()  # no length: the body ends when the connection does
                self.close_connection = True
                for chunk in stream_chunks(reply, include_usage=bool(options.get("include_usage"))):
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def do_GET(self) -> None:  # noqa: N802
                stub.requests.append(RecordedRequest(self.path, _lower(self.headers), {}))
                self._send(
                    200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]}
                )

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                self._send_raw(status, json.dumps(payload).encode(), headers)

            def _send_raw(
                self, status: int, data: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    # http.server's backlog of 5 resets connections when dozens of clients (a worker's
    # concurrent calls, bench/gateway.py's 50 clients) connect at once.
    request_queue_size = 128


def _lower(headers: Any) -> dict[str, str]:
    """HTTP header names are case-insensitive; record them in lower case."""
    return {k.lower(): v for k, v in headers.items()}
