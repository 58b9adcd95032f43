"""The codec server: Temporal's Web UI and CLI send it encrypted payloads to read.

It speaks Temporal's codec server protocol: `POST /encode` and `POST /decode` take and
return `{"payloads": [...]}` in proto3 JSON (metadata values and data base64), also under
a namespace segment (`/{namespace}/decode`, the CLI's `--codec-endpoint` template) or
with the namespace in `X-Namespace`. Every call needs `Authorization: Bearer <token>`;
the Web UI of `hybridagent dev`, which sends no header, gets the same token as a path
prefix (`/t/<token>/decode`). Browsers may call it only from the configured UI origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import secrets
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import Message
from starlette.middleware.cors import CORSMiddleware
from temporalio.api.common.v1 import Payloads

from hybridagent.config import Settings
from hybridagent.errors import ConfigError
from hybridagent.security.codec import EncryptionCodec, PayloadKeyError

TOKEN_FILE = "codec-token"  # in the state directory, mode 0600
ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-Namespace"]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def create_codec_app(
    codec: EncryptionCodec, *, token: str, cors_origin: str, namespace: str
) -> FastAPI:
    """Serves `namespace` only: its key ring is the one `codec` holds."""
    app = FastAPI(title="hybridagent codec server", docs_url=None, redoc_url=None)

    def authorised(request: Request, path_token: str | None) -> bool:
        given = path_token
        if given is None:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            given = value.strip() if scheme.lower() == "bearer" else ""
        return hmac.compare_digest(given.encode(), token.encode())

    async def run(
        request: Request, step: Callable[[list[Any]], Awaitable[list[Any]]],
        path_namespace: str | None, path_token: str | None,
    ) -> JSONResponse:  # fmt: skip
        if not authorised(request, path_token):
            return _error(401, "A codec server token is required: Authorization: Bearer <token>.")
        asked = path_namespace or request.headers.get("x-namespace") or namespace
        if asked != namespace:
            return _error(404, f"This codec server serves namespace {namespace!r}, not {asked!r}.")
        try:
            body = json.loads(await request.body())
            payloads = json_format.ParseDict(body, Payloads())
        except (ValueError, json_format.ParseError) as err:
            return _error(400, f'The body is not a JSON {{"payloads": [...]}}: {err}.')
        try:
            out = Payloads(payloads=await step(list(payloads.payloads)))
        except PayloadKeyError as err:
            return _error(400, str(err))
        return JSONResponse(_as_json(out))

    for prefix in ("", "/{path_namespace}", "/t/{path_token}", "/t/{path_token}/{path_namespace}"):
        for name in ("encode", "decode"):

            def endpoint(
                name: str = name,
            ) -> Callable[..., Awaitable[JSONResponse]]:
                step = codec.encode if name == "encode" else codec.decode

                async def handle(
                    request: Request,
                    path_namespace: str | None = None,
                    path_token: str | None = None,
                ) -> JSONResponse:
                    return await run(request, step, path_namespace, path_token)

                return handle

            app.add_api_route(f"{prefix}/{name}", endpoint(), methods=["POST"])

    app.add_middleware(
        CORSMiddleware,
        allow_origins=[cors_origin.rstrip("/")],
        allow_methods=["POST"],
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=True,
    )
    return app


def _as_json(message: Message) -> dict[str, Any]:
    """Proto3 JSON leaves an empty list out; the protocol's readers expect `payloads`."""
    return {"payloads": [], **json_format.MessageToDict(message)}


def codec_token(settings: Settings) -> str:
    """HYBRIDAGENT_CODEC_TOKEN, else <state_dir>/codec-token, made once (mode 0600)."""
    if settings.codec_token is not None:
        return settings.codec_token.get_secret_value()
    path: Path = settings.state_dir / TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token


def cors_origin(settings: Settings) -> str:
    """HYBRIDAGENT_CODEC_CORS_ORIGIN, else the Web UI's origin (scheme://host:port)."""
    if settings.codec_cors_origin:
        return settings.codec_cors_origin
    scheme, _, rest = settings.web_ui_url.partition("://")
    return f"{scheme}://{rest.split('/')[0]}"


def codec_url(settings: Settings) -> str:
    return f"http://{settings.codec_host}:{settings.codec_port}"


def app_for(settings: Settings) -> FastAPI:
    from hybridagent.security.keys import configured_ring

    ring = configured_ring(settings)
    if ring is None:
        raise ConfigError(
            "No encryption key is configured: set HYBRIDAGENT_ENCRYPTION_KEYS or create "
            f"{settings.key_file} with `hybridagent codec keygen`."
        )
    return create_codec_app(
        EncryptionCodec(ring),
        token=codec_token(settings),
        cors_origin=cors_origin(settings),
        namespace=settings.temporal_namespace,
    )


async def serve_codec(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until Ctrl-C, or until `stop` is set: then the caller owns the signals
    (`hybridagent dev` runs it beside the worker and the API), and uvicorn must not take
    SIGINT from them. `on_ready` gets the URL once it listens."""
    import uvicorn

    class BesideOthers(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(
        app_for(settings), host=settings.codec_host, port=settings.codec_port,
        log_level="warning", access_log=False, lifespan="off", log_config=None,
    )  # fmt: skip
    server = uvicorn.Server(config) if stop is None else BesideOthers(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # the start-up error (a port in use, …)
            raise ConfigError(
                f"The codec server did not start on {settings.codec_host}:{settings.codec_port}."
            )
        await asyncio.sleep(0.02)  # uvicorn sets `started`; nothing to wait on
    if on_ready is not None:
        on_ready(codec_url(settings))
    if stop is None:
        await task
        return
    await asyncio.wait([task, asyncio.create_task(stop.wait())], return_when="FIRST_COMPLETED")
    server.should_exit = True
    await task
