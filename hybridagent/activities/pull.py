"""Pulling an Ollama model as a Temporal activity, so a download of gigabytes survives a
worker restart and shows its progress in the Web UI.

Every progress line Ollama streams is heartbeated as `{status, digest, total,
completed}`: the pending activity in the Web UI shows the latest, `hybridagent models
pull` reads it with `describe()`, and a worker that dies stops heartbeating, so the
attempt times out after the heartbeat timeout and is retried on another worker.
Idempotent: Ollama resumes a cut-off pull where it stopped and answers "success" at
once for a model it already has.
"""

from __future__ import annotations

import asyncio
import logging

from temporalio import activity
from temporalio.exceptions import ApplicationError

from hybridagent.activity_io import (
    PULL_MODEL,
    PullModelRequest,
    PullProgress,
    PullResult,
    full_name,
)
from hybridagent.failures import NO_OLLAMA_BACKEND, PULL_INCOMPLETE
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.providers.ollama_admin import ModelNotInRegistryError

log = logging.getLogger(__name__)


class _Latest:
    def __init__(self, progress: PullProgress) -> None:
        self.progress = progress


async def _heartbeat_every(seconds: float, latest: _Latest) -> None:
    """Ollama can go quiet for minutes (verifying a large layer); keep the attempt alive."""
    while True:
        await asyncio.sleep(seconds)
        activity.heartbeat(latest.progress)


def _resumed_from() -> PullProgress | None:
    details = activity.info().heartbeat_details
    if not details:
        return None
    return PullProgress.model_validate(details[0])


class PullActivities:
    def __init__(self, provider: HybridModelProvider) -> None:
        self._provider = provider

    @activity.defn(name=PULL_MODEL)
    async def pull_model(self, request: PullModelRequest) -> PullResult:
        """Stream Ollama's `/api/pull`, heartbeating each progress line."""
        backend = self._provider.backend("ollama")
        if not isinstance(backend, OllamaBackend):
            raise ApplicationError(
                "This worker has no Ollama backend to pull models into.",
                type=NO_OLLAMA_BACKEND,
                non_retryable=True,
            )
        model = full_name(request.model)
        resumed = _resumed_from()
        if resumed is not None:
            log.info("resuming the pull of %s after %s", model, resumed.status)
        latest = _Latest(resumed or PullProgress(status="starting"))
        sizes: dict[str, int] = {}
        ticker = asyncio.create_task(_heartbeat_every(request.heartbeat_seconds / 3, latest))
        try:
            async for progress in backend.pull(model):
                latest.progress = progress
                if progress.digest and progress.total:
                    sizes[progress.digest] = progress.total
                activity.heartbeat(progress)
        except ModelNotInRegistryError as err:
            raise ApplicationError(
                str(err), type=ModelNotInRegistryError.__name__, non_retryable=True
            ) from None
        finally:
            ticker.cancel()
        if latest.progress.status != "success":
            # Retryable: Ollama picks up where this attempt stopped.
            raise ApplicationError(
                f"Ollama's pull of {model!r} ended at {latest.progress.status!r}, "
                "before 'success'.",
                type=PULL_INCOMPLETE,
            )
        return PullResult(
            model=model,
            status="success",
            layers=len(sizes),
            bytes=sum(sizes.values()),
            resumed_from=resumed,
        )
