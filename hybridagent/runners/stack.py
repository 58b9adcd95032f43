"""Whole stacks in one process: `hybridagent dev`, `hybridagent demo`, `hybridagent models`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hybridagent.config import Settings
from hybridagent.dev_state import live_record
from hybridagent.providers.base import ModelListing
from hybridagent.providers.factory import ProviderStack
from hybridagent.providers.registry import BUILTIN, Registry
from hybridagent.runners.devserver import DevServer, port_open
from hybridagent.runners.serve import dev_key, serve_api
from hybridagent.runners.start import report, start_run
from hybridagent.security.codec_server import codec_token, codec_url, serve_codec
from hybridagent.security.keys import ensure_key_file
from hybridagent.worker_health import WorkerHealth
from hybridagent.workers.main import describe, serve
from hybridagent.workflows.io import HaikuInput


def _with_server(settings: Settings, server: DevServer) -> Settings:
    """Settings that talk to `server`; an explicit HYBRIDAGENT_UI_URL keeps its links."""
    update = {"temporal_address": server.address}
    if "ui_url" not in settings.model_fields_set:
        update["ui_url"] = server.ui_url
    return settings.model_copy(update=update)


async def _start_server(server: DevServer) -> None:
    """Launch on the event loop's (long-lived) thread, wait for it in a worker thread."""
    server.launch()
    if server.reuse_notice:
        print(server.reuse_notice, flush=True)
    await asyncio.to_thread(server.wait_ready)


def ensure_encryption(settings: Settings) -> str:
    """Encryption on by default: the state directory's key file, made on first start
    (unless HYBRIDAGENT_ENCRYPTION_KEYS names the keys). One line saying where they are."""
    if settings.encryption_keys is not None:
        return "Payloads are encrypted with the keys in HYBRIDAGENT_ENCRYPTION_KEYS."
    ring, made = ensure_key_file(settings.key_file)
    state = "created" if made else "in"
    return f"Payloads are encrypted with key {ring.active!r} ({state} {settings.key_file})."


def ui_codec_endpoint(settings: Settings) -> str:
    """The codec server URL the dev Web UI calls: the browser sends no Authorization
    header there, so the token is the path prefix the codec server also accepts."""
    return f"{codec_url(settings)}/t/{codec_token(settings)}"


async def _start_codec_server(
    settings: Settings, stop: asyncio.Event, on_ready: Callable[[str], None]
) -> asyncio.Task[None]:
    """The codec server, listening (or its start-up error raised), until `stop`."""
    listening = asyncio.Event()

    def ready(url: str) -> None:
        on_ready(url)
        listening.set()

    task = asyncio.create_task(serve_codec(settings, stop=stop, on_ready=ready))
    waiter = asyncio.create_task(listening.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()
    return task


def _with_codec_port(settings: Settings, ui_port: int) -> Settings:
    """The codec server beside the Web UI: HYBRIDAGENT_CODEC_PORT, else --ui-port + 2
    (8235 by default), so two `dev`s on different UI ports do not collide."""
    if "codec_port" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"codec_port": ui_port + 2})


async def run_dev_stack(settings: Settings, *, port: int, ui_port: int) -> None:
    settings = _with_codec_port(settings, ui_port)
    encryption = ensure_encryption(settings)
    server = DevServer(
        settings.state_dir, port=port, ui_port=ui_port,
        ui_codec_endpoint=ui_codec_endpoint(settings),
    )  # fmt: skip
    try:
        await _start_server(server)
        settings = _with_server(settings, server)

        key = dev_key(settings)
        worker_ready = asyncio.Event()

        codec_line: list[str] = []

        def ready(stack: ProviderStack) -> None:
            print(describe(stack, settings), flush=True)
            print(f"Temporal at {server.address}; Web UI at {settings.web_ui_url}", flush=True)
            print(encryption, *codec_line, sep="\n", flush=True)
            worker_ready.set()

        def api_ready(url: str) -> None:
            print(f"HTTP API at {url} (docs: {url}/docs); for OpenAI clients:", flush=True)
            print(f"  export OPENAI_BASE_URL={url}/v1 OPENAI_API_KEY={key}", flush=True)
            print(f"Chat in the browser at {url}/ui/ (sign in with that key)", flush=True)
            print('Try: hybridagent run "What\'s the weather in Tokyo?" --agent haiku', flush=True)
            print("Press Ctrl-C to stop.", flush=True)

        async def api_after_worker() -> None:
            await worker_ready.wait()
            await serve_api(settings, on_ready=api_ready)

        def codec_ready(url: str) -> None:
            codec_line.append(
                f"Codec server at {url} for the Web UI; from a shell: temporal workflow show "
                f"--codec-endpoint {url} --codec-auth 'Bearer {codec_token(settings)}' -w ID"
            )

        codec_stop = asyncio.Event()
        codec = await _start_codec_server(settings, codec_stop, codec_ready)
        try:
            await asyncio.gather(serve(settings, on_ready=ready), api_after_worker())
        finally:
            codec_stop.set()
            await codec
    finally:
        server.stop()


async def run_demo(settings: Settings, prompt: str, *, port: int, ui_port: int) -> None:
    """The main job: the local haiku weather sample through a real Temporal server."""
    server: DevServer | None = None
    encryption = ensure_encryption(settings)
    own = live_record(settings.state_dir)  # this state directory's server, left running
    if own is not None or not port_open("127.0.0.1", port):
        server = DevServer(settings.state_dir, port=port, ui_port=ui_port)
        if own is None:
            print(f"starting the Temporal dev server on {server.address} ...", flush=True)
        await _start_server(server)
        settings = _with_server(settings, server)
    stop = asyncio.Event()
    ready = asyncio.Event()

    def on_ready(stack: ProviderStack) -> None:
        print(describe(stack, settings), flush=True)
        print(encryption, flush=True)
        ready.set()

    worker = asyncio.create_task(serve(settings, stop=stop, on_ready=on_ready))
    try:
        await asyncio.wait(
            [worker, asyncio.create_task(ready.wait())], return_when="FIRST_COMPLETED"
        )
        if worker.done():
            worker.result()  # raises the worker's start-up error
        print(f"running LocalHaikuWorkflow: {prompt!r}", flush=True)
        # Our own worker has just started; its pollers may not be registered yet.
        outcome = await start_run(
            settings, "LocalHaikuWorkflow", HaikuInput(prompt=prompt), check_pickup=False
        )
        if outcome.error:
            print(f"the run failed: {outcome.error}\nWeb UI: {outcome.url}", flush=True)
            raise SystemExit(1)
        print("\n" + report(outcome))
        if server is not None:
            print(
                f"(the run is stored in {settings.state_dir}/; `hybridagent dev` serves that "
                "Web UI again)"
            )
    finally:
        stop.set()
        await asyncio.gather(worker, return_exceptions=True)
        if server is not None:
            server.stop()


async def list_models(
    settings: Settings, worker: WorkerHealth | None = None, registry: Registry = BUILTIN
) -> list[ModelListing]:
    """What each registered backend offers; never starts a model server. What a worker
    runs itself (its embedded server) is listed as `worker`, its health report, says."""
    return [await spec.listing(settings, worker) for spec in registry]
