"""Builds a worker's provider stack from Settings: every registered backend in turn
(providers/registry.py: Ollama is probed, the embedded model started under a supervisor
when it is needed), then the default model.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import httpx

from hybridagent.config import Settings
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.embedded import EmbeddedBackend
from hybridagent.providers.embedded_supervisor import EmbeddedSupervisor
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.providers.registry import BUILTIN, BuildContext, BuiltBackend, Registry
from hybridagent.providers.response_cache import ResponseCache
from hybridagent.routing.names import is_default


@dataclass
class ProviderStack:
    """Everything with a lifecycle that a worker owns for model calls."""

    provider: HybridModelProvider
    built: dict[str, BuiltBackend]  # by prefix, in build order
    circuits: CircuitBreaker = field(default_factory=CircuitBreaker)

    @property
    def ollama_reachable(self) -> bool:
        built = self.built.get("ollama")
        return built is not None and built.reachable is True

    @property
    def supervisor(self) -> EmbeddedSupervisor | None:
        """The embedded server's, when this worker started it."""
        backend = self.provider.backend("local")
        return backend.supervisor if isinstance(backend, EmbeddedBackend) else None

    async def aclose(self) -> None:
        """Every backend closes what its build started, in reverse build order; one that
        fails to close does not keep the others open."""
        async with AsyncExitStack() as closing:
            for built in self.built.values():
                closing.push_async_callback(built.aclose)


def choose_default_model(configured: str, offered: str | None) -> str | None:
    """`auto` means the first backend's offer (Ollama's model when Ollama answers, else
    the embedded one); a configured name stands."""
    return offered if is_default(configured) else configured


async def build_provider_stack(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    registry: Registry = BUILTIN,
) -> ProviderStack:
    registry = registry.copy()
    circuits = CircuitBreaker(
        failure_threshold=settings.circuit_failure_threshold,
        cooldown_seconds=settings.circuit_cooldown_seconds,
    )
    built: dict[str, BuiltBackend] = {}
    offered: str | None = None
    async with AsyncExitStack() as on_failure:
        for spec in registry:
            one = await spec.build(BuildContext(settings, circuits, transport, offered))
            on_failure.push_async_callback(one.aclose)
            built[spec.prefix] = one
            offered = offered or one.default_model
        on_failure.pop_all()  # built: the stack closes them now
    provider = HybridModelProvider(
        {prefix: one.backend for prefix, one in built.items()},
        choose_default_model(settings.default_model, offered),
        ResponseCache(settings.response_cache_max_entries, settings.response_cache_ttl_seconds)
        if settings.response_cache
        else None,
        registry=registry,
    )
    return ProviderStack(provider, built, circuits)
