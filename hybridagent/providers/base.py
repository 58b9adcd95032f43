"""What every backend module offers the hybrid provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from agents import Model


@dataclass(frozen=True)
class ModelListing:
    """One provider's answer to `hybridagent models`."""

    provider: str
    endpoint: str
    reachable: bool
    models: list[str] = field(default_factory=list)
    detail: str = ""


class Backend(Protocol):
    prefix: str

    def get_model(self, model: str) -> Model:
        """Return a Model for the name after the prefix; raise a ProviderError if impossible."""
        ...

    async def list_models(self) -> ModelListing: ...

    async def aclose(self) -> None: ...
