"""The HTTP API (`hybridagent serve`): FastAPI in front of the durable workflows.

Every request that runs a model is a workflow on the worker's task queue; this process
holds no provider key and picks no upstream (workers do). Authentication and limits are
the Gate's (api/gate.py); errors are OpenAI's envelope (api/errors.py).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from hybridagent.api import errors
from hybridagent.api.context import ApiContext
from hybridagent.api.errors import ApiError
from hybridagent.api.gate import Gate
from hybridagent.api.routes_agents import router as agents_router
from hybridagent.api.routes_completions import router as completions_router
from hybridagent.api.routes_ollama import router as ollama_router
from hybridagent.api.routes_runs import router as runs_router
from hybridagent.api.routes_sessions import router as sessions_router
from hybridagent.api.routes_status import router as status_router
from hybridagent.api.routes_usage import router as usage_router
from hybridagent.api.ui_files import UiFiles
from hybridagent.config import Settings
from hybridagent.logs import request_context
from hybridagent.metrics import HttpMetrics, Metrics
from hybridagent.runners.pickup import queue_view
from hybridagent.storage import open_storage
from hybridagent.tracing import instrument_app
from hybridagent.workers.temporal_client import connect

# A client's own request ID is kept when it looks like one (letters, digits, - and _).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# A worker that polled longer ago than this is taken for gone (see runners/pickup.py).
READY_POLL_SECONDS = 75.0


class BodyLimit:
    """Refuses a body over `max_bytes` (413) before the route reads it, whether or not
    the client sent Content-Length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        message = f"The request body is larger than {self.max_bytes} bytes."
        request_id = str(scope.get("state", {}).get("request_id", ""))
        payload = errors.body("request_too_large", message, None, request_id)
        await JSONResponse(payload, status_code=413)(scope, _no_receive, send)


class RequestId:
    """`request.state.request_id` (the client's x-request-id when it looks like one, else
    a new one) and the same `x-request-id` on the response and on every log line emitted
    while the request is handled (hybridagent/logs.py). Plain ASGI: Starlette's
    `@app.middleware("http")` runs every request through a task group and memory
    streams, about 0.2 ms of this process's time per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else f"req_{uuid.uuid4().hex}"
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        with request_context(request_id):  # every log line of the request carries it
            await self.app(scope, receive, with_id)


class _TooLarge(Exception):
    pass


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(
    settings: Settings,
    gate: Gate,
    *,
    client: Client | None = None,
    connect_client: Callable[[Settings], Awaitable[Client]] = connect,
    max_body_bytes: int = 1 << 20,
    metrics: Metrics | None = None,
) -> FastAPI:
    """`client`: a connected Temporal client (tests); else one is connected at start.
    `metrics`: this process's registry, served at /metrics (a new one by default)."""
    metrics = metrics or Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The database the workers write the usage ledger to (and the keys live in).
        ledger = await asyncio.to_thread(open_storage, settings.database_url, settings.state_dir)
        app.state.context = ApiContext(
            settings=settings,
            gate=gate,
            client=client or await connect_client(settings),
            ledger=ledger,
        )
        try:
            yield
        finally:
            ledger.close()

    app = FastAPI(
        title="hybridagent",
        summary="OpenAI-compatible chat completions and a runs API on durable workflows.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.add_exception_handler(ApiError, errors.on_api_error)
    app.add_exception_handler(RequestValidationError, errors.on_validation_error)
    app.add_exception_handler(StarletteHTTPException, errors.on_http_error)
    app.add_exception_handler(Exception, errors.on_unexpected)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The API process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz(request: Request) -> JSONResponse:
        """Temporal answers and a worker polled the task queue recently."""
        context: ApiContext = request.app.state.context
        try:
            view = await queue_view(context.client, settings.task_queue)
        except Exception as err:  # noqa: BLE001 - any RPC failure means "not ready"
            reason = f"Temporal did not answer ({type(err).__name__})."
            return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
        if view.last_poll_seconds is None or view.last_poll_seconds > READY_POLL_SECONDS:
            return JSONResponse(
                {"status": "unavailable", "reason": f"No worker polls {settings.task_queue!r}."},
                status_code=503,
            )
        return JSONResponse({"status": "ready", "pollers": view.pollers})

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def metrics_text() -> Response:
        """Prometheus metrics (docs/observability.md). Unauthenticated, like /healthz:
        labels carry no content and no key; the API listens on loopback by default."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/ui", include_in_schema=False)
    async def ui_root() -> RedirectResponse:
        """The web UI's relative links need the trailing slash."""
        return RedirectResponse("/ui/")

    routers = (completions_router, runs_router, sessions_router, agents_router)
    for routes in (*routers, usage_router, status_router, ollama_router):
        app.include_router(routes)
    app.mount("/ui", UiFiles(), name="ui")
    # The last added runs first: every response, a refused body's too, gets its ID.
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(RequestId)
    app.add_middleware(HttpMetrics, metrics=metrics)
    instrument_app(app)  # outermost when traces are on: the server span covers it all
    return app
