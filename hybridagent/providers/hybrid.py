"""HybridModelProvider: the worker's one ModelProvider, routing `prefix/model` names to
backends, as the Agents SDK's MultiProvider does, and failing fast on unknown prefixes.
"""

from __future__ import annotations

from collections.abc import Mapping

from agents import Model, ModelProvider

from hybridagent.providers.base import Backend, ModelListing
from hybridagent.providers.errors import NoLocalModelError
from hybridagent.providers.registry import BUILTIN, Registry
from hybridagent.providers.response_cache import CacheLayer, ResponseCache
from hybridagent.routing.names import ModelRef, is_default


class HybridModelProvider(ModelProvider):
    def __init__(
        self,
        backends: Mapping[str, Backend],
        default_model: str | None,
        cache: ResponseCache | None = None,
        *,
        registry: Registry = BUILTIN,
    ) -> None:
        """`default_model` is a full `prefix/model` name, or None when no model is available;
        `cache` answers repeated calls the workflow marked cacheable (response_cache.py);
        `registry` says which names exist and what each backend can do (a snapshot of it
        is taken: the worker's names stay what they were when it was built)."""
        self._backends = dict(backends)
        self.cache = cache
        self._layers: dict[str, CacheLayer] = {}
        self.registry = registry.copy()
        self.names = self.registry.names
        self.default_model = default_model
        self._default_ref = self.names.parse(default_model) if default_model else None

    def resolve(self, name: str | None) -> ModelRef:
        """The concrete model a (possibly default or bare) name means on this worker."""
        if is_default(name):
            if self._default_ref is None:
                raise NoLocalModelError(
                    "No default model is available: Ollama does not answer and the embedded "
                    "model is not running; start Ollama or install the embedded model."
                )
            return self._default_ref
        default_prefix = self._default_ref.prefix if self._default_ref else None
        assert name is not None
        return self.names.parse(name, default_prefix)

    def get_model(self, model_name: str | None) -> Model:
        ref = self.resolve(model_name)
        backend = self._backends.get(ref.prefix)
        if backend is None:
            raise NoLocalModelError(
                f"Model prefix {ref.prefix!r} is not configured on this worker "
                f"(configured: {', '.join(sorted(self._backends)) or 'none'})."
            )
        model = backend.get_model(ref.model)
        layer = self._layers.get(ref.name)
        if layer is None or layer.inner is not model:
            layer = self._layers[ref.name] = CacheLayer(model, ref.name, self.cache)
        return layer

    def backend(self, prefix: str) -> Backend | None:
        return self._backends.get(prefix)

    async def list_models(self) -> list[ModelListing]:
        return [await backend.list_models() for backend in self._backends.values()]

    async def aclose(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()
