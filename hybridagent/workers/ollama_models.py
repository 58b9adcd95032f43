"""Ollama housekeeping around a worker: starting (or joining) a model pull, and what a
worker does at start — pre-warm its default Ollama model and, when asked, pull
configured Ollama models that are missing. Start-up never waits on either.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from hybridagent.activity_io import PullModelRequest, PullResult, full_name
from hybridagent.config import Settings
from hybridagent.providers.errors import ProviderError
from hybridagent.providers.factory import ProviderStack
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.routing.names import UnknownModelError
from hybridagent.workflows.pull_model import pull_workflow_id

log = logging.getLogger("hybridagent.worker")


async def start_pull(
    client: Client, settings: Settings, model: str
) -> WorkflowHandle[Any, PullResult]:
    """Start PullModelWorkflow for `model`, or attach to the one already pulling it."""
    name = full_name(model)
    return await client.start_workflow(
        "PullModelWorkflow",
        PullModelRequest(model=name, heartbeat_seconds=settings.ollama_pull_heartbeat_seconds),
        id=pull_workflow_id(name),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        result_type=PullResult,
    )


def configured_ollama_models(settings: Settings, stack: ProviderStack) -> list[str]:
    """The worker's default model and `routing.local_models`, where they are Ollama's."""
    names = [stack.provider.default_model or "", *settings.routing.local_models]
    return list(dict.fromkeys(full_name(n) for n in names if n.startswith("ollama/")))


async def prepare_ollama(settings: Settings, stack: ProviderStack, client: Client) -> None:
    backend = stack.provider.backend("ollama")
    if not stack.ollama_reachable or not isinstance(backend, OllamaBackend):
        return
    try:
        listing = await backend.list_models()
        installed = {full_name(name) for name in listing.models}
        for model in configured_ollama_models(settings, stack):
            if model in installed:
                continue
            if settings.ollama_auto_pull:
                handle = await start_pull(client, settings, model)
                log.info("Ollama has no %s: pulling it (workflow %s)", model, handle.id)
            else:
                log.warning(
                    "Ollama at %s has no model %s: `hybridagent models pull %s`, or set "
                    "HYBRIDAGENT_OLLAMA_AUTO_PULL=true",
                    backend.host,
                    model,
                    model,
                )
        default = stack.provider.default_model or ""
        if default.startswith("ollama/") and full_name(default) in installed:
            await backend.prewarm(full_name(default), settings.ollama_keep_alive)
            log.info("pre-warmed %s (keep_alive %s)", default, settings.ollama_keep_alive)
    except (ProviderError, UnknownModelError, RPCError) as err:
        log.warning("Ollama preparation at start-up failed: %s", err)


def start_preparing_ollama(
    settings: Settings, stack: ProviderStack, client: Client
) -> asyncio.Task[None]:
    """prepare_ollama in the background; an unexpected failure is logged, not raised."""
    task = asyncio.create_task(prepare_ollama(settings, stack, client))

    def report(done: asyncio.Task[None]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.error("Ollama preparation at start-up failed", exc_info=done.exception())

    task.add_done_callback(report)
    return task
