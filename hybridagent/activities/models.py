"""Resolving a requested model name on the worker, where the configuration lives.

The result is recorded in the workflow history, so a run shows (and replays) which
concrete model its `auto` or bare name meant.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from hybridagent.providers.errors import ProviderError
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.routing.names import UnknownModelError
from hybridagent.routing.policy import Candidate


class ResolvedModel(BaseModel):
    name: str
    is_local: bool


# Until capabilities come from Ollama's /api/show and a catalog (issue 3, point 5):
CONTEXT_WINDOWS = {"local": 4096, "ollama": 8192, "openai": 128_000, "litellm": 128_000}


class ModelActivities:
    def __init__(
        self,
        provider: HybridModelProvider,
        cloud_model: str | None = None,
        embedded_context: int = CONTEXT_WINDOWS["local"],
    ) -> None:
        self._provider = provider
        self._cloud_model = cloud_model
        self._embedded_context = embedded_context

    @activity.defn
    async def routing_candidates(self) -> list[Candidate]:
        """The worker's local default and configured cloud model, each marked available or
        not. Idempotent: reads configuration only."""
        names = [n for n in (self._provider.default_model, self._cloud_model) if n]
        candidates = []
        for name in dict.fromkeys(names):
            ref = self._provider.resolve(name)
            try:
                self._provider.get_model(ref.name)
                available = True
            except (UnknownModelError, ProviderError):
                available = False
            context = (
                self._embedded_context if ref.prefix == "local" else CONTEXT_WINDOWS[ref.prefix]
            )
            candidates.append(
                Candidate(
                    name=ref.name, local=ref.is_local, context_window=context, available=available
                )
            )
        return candidates

    @activity.defn
    async def resolve_model(self, requested: str | None) -> ResolvedModel:
        """Idempotent: reads configuration only."""
        try:
            ref = self._provider.resolve(requested)
            self._provider.get_model(ref.name)  # fails now on a missing key or backend
        except (UnknownModelError, ProviderError) as err:
            raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from err
        return ResolvedModel(name=ref.name, is_local=ref.is_local)
