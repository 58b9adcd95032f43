"""`hybridagent serve`: the HTTP API under uvicorn, and the local key `hybridagent dev`
makes on first start."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import uvicorn

from hybridagent.api.app import create_app
from hybridagent.api.key_gate import open_gate
from hybridagent.api.keys import DuplicateKeyError, open_key_store
from hybridagent.config import Settings
from hybridagent.tracing import start_tracing

DEV_KEY_NAME = "dev"
DEV_KEY_FILE = "dev-api-key"  # in the state directory, mode 0600


def api_url(settings: Settings) -> str:
    api = settings.api_settings
    return f"http://{api.host}:{api.port}"


async def serve_api(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until `stop` is set (or Ctrl-C); `on_ready` gets the URL once it listens."""
    api = settings.api_settings
    start_tracing("hybridagent-api")
    gate = open_gate(settings)
    app = create_app(settings, gate, max_body_bytes=api.max_body_bytes)
    config = uvicorn.Config(
        app, host=api.host, port=api.port, log_level="warning", access_log=False,
        lifespan="on", log_config=None,
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # the start-up error (a port in use, …)
                raise SystemExit(f"The API did not start on {api.host}:{api.port}.")
            await asyncio.sleep(0.02)  # uvicorn sets `started`; nothing to wait on
        if on_ready is not None:
            on_ready(api_url(settings))
        if stop is None:
            await task
        else:
            await asyncio.wait(
                [task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
            )
            server.should_exit = True
            await task
    finally:
        await gate.aclose()


def dev_key(settings: Settings) -> str:
    """The local key of `hybridagent dev`: made on first start, kept in the state
    directory (mode 0600) so later starts print the same one."""
    path: Path = settings.state_dir / DEV_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    store = open_key_store(settings)
    try:
        name = DEV_KEY_NAME
        for n in range(2, 100):  # a `dev` key whose file was deleted: a new name
            try:
                _, secret = store.create(name)
                break
            except DuplicateKeyError:
                name = f"{DEV_KEY_NAME}-{n}"
    finally:
        store.close()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return secret
