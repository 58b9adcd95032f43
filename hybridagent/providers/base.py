"""What every backend module offers the hybrid provider."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from agents import Model

# Every backend's listing type; plain data, so the worker's health report carries it too.
from hybridagent.worker_health import ModelListing as ModelListing


class Backend(Protocol):
    prefix: str

    def get_model(self, model: str) -> Model:
        """Return a Model for the name after the prefix; raise a ProviderError if impossible."""
        ...

    async def list_models(self) -> ModelListing: ...

    async def aclose(self) -> None: ...


class ModelBackend:
    """A backend whose models need no client of their own (an in-process model, a
    test's fake): `make(model)` builds the Model for a name after the prefix, once."""

    def __init__(
        self,
        prefix: str,
        make: Callable[[str], Model],
        *,
        endpoint: str = "in-process",
        models: Sequence[str] = (),
    ) -> None:
        self.prefix = prefix
        self.endpoint = endpoint
        self._make = make
        self._listed = list(models)
        self._models: dict[str, Model] = {}

    def get_model(self, model: str) -> Model:
        if model not in self._models:
            self._models[model] = self._make(model)
        return self._models[model]

    async def list_models(self) -> ModelListing:
        names = [f"{self.prefix}/{model}" for model in self._listed]
        return ModelListing(self.prefix, self.endpoint, True, names)

    async def aclose(self) -> None:
        for model in self._models.values():
            await model.close()
