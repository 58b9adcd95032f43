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


class ResolvedModel(BaseModel):
    name: str
    is_local: bool


class ModelActivities:
    def __init__(self, provider: HybridModelProvider) -> None:
        self._provider = provider

    @activity.defn
    async def resolve_model(self, requested: str | None) -> ResolvedModel:
        """Idempotent: reads configuration only."""
        try:
            ref = self._provider.resolve(requested)
            self._provider.get_model(ref.name)  # fails now on a missing key or backend
        except (UnknownModelError, ProviderError) as err:
            raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from err
        return ResolvedModel(name=ref.name, is_local=ref.is_local)
