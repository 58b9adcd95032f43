"""The web UI's static files (api/ui/), served at `/ui` with no build step: plain ES
modules and the vendored libraries (ui/vendor/VENDORED.md). A strict Content Security
Policy keeps every script, style and request on this origin, so a reply's Markdown
cannot load or run anything even if it slipped past DOMPurify."""

from __future__ import annotations

from pathlib import Path

from fastapi.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

UI_DIR = Path(__file__).parent / "ui"
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]


class UiFiles(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=UI_DIR, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_HEADERS]}
            await send(message)

        await super().__call__(scope, receive, with_policy)
