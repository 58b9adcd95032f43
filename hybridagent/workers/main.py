"""`hybridagent worker` and `python -m hybridagent.workers.main`: run a worker until
SIGINT or SIGTERM, then drain and close everything it opened.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from hybridagent.config import Settings, load_settings
from hybridagent.logs import announce, configure_logging
from hybridagent.metrics import Metrics
from hybridagent.providers.factory import ProviderStack, build_provider_stack
from hybridagent.storage import open_storage
from hybridagent.tracing import start_tracing
from hybridagent.usage.layer import UsageRecorder
from hybridagent.workers.log_lines import known_faults_in_one_line
from hybridagent.workers.ollama_models import start_preparing_ollama
from hybridagent.workers.plugin import build_plugin, build_worker
from hybridagent.workers.temporal_client import connect

log = logging.getLogger("hybridagent.worker")

OnReady = Callable[[ProviderStack], Awaitable[None] | None]


async def serve(
    settings: Settings, *, stop: asyncio.Event | None = None, on_ready: OnReady | None = None
) -> None:
    """Run a worker until `stop` is set (or a signal arrives when `stop` is None)."""
    start_tracing("hybridagent-worker")
    await connect(settings)  # fail fast, before starting a model server
    known_faults_in_one_line(verbose=settings.sdk_log_level in ("INFO", "DEBUG"))
    stop = stop or _stop_on_signals()
    # The tools' database and the usage ledger, migrated before any model server starts.
    storage = open_storage(settings.database_url, settings.state_dir)
    stack = await build_provider_stack(settings)
    metrics = Metrics()
    metrics.watch_circuits(stack.circuits)
    recorder = UsageRecorder(storage, metrics, settings.usage_reference_model)
    stop_metrics = serve_metrics(settings, metrics)
    try:
        plugin = build_plugin(settings, stack.provider, recorder=recorder)
        client = await connect(
            settings, plugins=[plugin], sdk_metrics_port=settings.sdk_metrics_port
        )
        worker = build_worker(
            client, settings, stack.provider, circuits=stack.circuits, storage=storage
        )
        async with worker:
            ollama = start_preparing_ollama(settings, stack, client)
            try:
                if on_ready is not None:
                    maybe = on_ready(stack)
                    if maybe is not None:
                        await maybe
                await stop.wait()
            finally:
                ollama.cancel()
                await asyncio.gather(ollama, return_exceptions=True)
    finally:
        stop_metrics()
        storage.close()
        await stack.aclose()


def serve_metrics(settings: Settings, metrics: Metrics) -> Callable[[], None]:
    """The worker's /metrics on its loopback port when one is configured; what stops it."""
    port = settings.worker_metrics_port
    if port is None:
        return lambda: None
    log.info("worker metrics on http://127.0.0.1:%d/metrics", port)
    return metrics.serve("127.0.0.1", port)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def describe(stack: ProviderStack, settings: Settings) -> str:
    default = stack.provider.default_model or "none (no local model available)"
    ollama = "reachable" if stack.ollama_reachable else "not reachable"
    return (
        f"worker on task queue {settings.task_queue!r} at {settings.temporal_address}; "
        f"default model {default}; Ollama {ollama} at {settings.ollama_host}"
    )


def main() -> None:
    from hybridagent.entry import exit_now, run_cli_command

    async def run() -> None:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)

        def ready(stack: ProviderStack) -> None:
            announce(describe(stack, settings))

        await serve(settings, on_ready=ready)

    exit_now(lambda: run_cli_command(lambda: asyncio.run(run())))


if __name__ == "__main__":
    main()
