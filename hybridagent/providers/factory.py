"""Builds a worker's provider stack from Settings: probes Ollama, starts the embedded
model (under a supervisor that restarts it) when it is needed, and picks the default
model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import httpx

from hybridagent.config import Settings
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.embedded import (
    BUNDLED_ALIAS,
    EmbeddedBackend,
    EmbeddedModelServer,
    llama_server_installed,
)
from hybridagent.providers.embedded_supervisor import EmbeddedSupervisor
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.providers.litellm import LitellmBackend
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.providers.openai import OpenAIBackend
from hybridagent.providers.response_cache import ResponseCache
from hybridagent.routing.names import is_default

log = logging.getLogger(__name__)


@dataclass
class ProviderStack:
    """Everything with a lifecycle that a worker owns for model calls."""

    provider: HybridModelProvider
    embedded_server: EmbeddedModelServer | None
    ollama_reachable: bool
    circuits: CircuitBreaker = field(default_factory=CircuitBreaker)
    supervisor: EmbeddedSupervisor | None = None  # watches embedded_server

    async def aclose(self) -> None:
        """The supervisor stops first, so nothing restarts the server during shutdown."""
        if self.supervisor is not None:
            await self.supervisor.stop()
        await self.provider.aclose()
        if self.embedded_server is not None:
            self.embedded_server.stop()


def choose_default_model(
    configured: str, *, ollama_reachable: bool, ollama_model: str, embedded_running: bool
) -> str | None:
    """`auto` means Ollama's model when Ollama answers, else the embedded one."""
    if not is_default(configured):
        return configured
    if ollama_reachable:
        return f"ollama/{ollama_model}"
    if embedded_running:
        return f"local/{BUNDLED_ALIAS}"
    return None


async def build_provider_stack(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> ProviderStack:
    circuits = CircuitBreaker(
        failure_threshold=settings.circuit_failure_threshold,
        cooldown_seconds=settings.circuit_cooldown_seconds,
    )
    ollama = OllamaBackend(
        settings.ollama_host,
        served_context=settings.ollama_context_length,
        transport=transport,
        circuits=circuits,
        api_mode=settings.ollama_api_mode,
        keep_alive=settings.ollama_keep_alive,
        tool_emulation=settings.tool_emulation,
    )
    ollama_reachable = await ollama.is_reachable()
    embedded_url = settings.embedded_url
    server: EmbeddedModelServer | None = None
    supervisor: EmbeddedSupervisor | None = None
    wants_embedded = settings.embedded == "on" or (
        settings.embedded == "auto" and not ollama_reachable and llama_server_installed()
    )
    if embedded_url is None and wants_embedded:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        server = EmbeddedModelServer(
            settings.embedded_model_path,
            context=settings.embedded_context,
            startup_timeout=settings.embedded_startup_seconds,
            log_path=settings.state_dir / "embedded-model.log",
        )
        supervisor = EmbeddedSupervisor(server)
        embedded_url = await supervisor.start()
        log.info("embedded model server started at %s", embedded_url)
    default = choose_default_model(
        settings.default_model,
        ollama_reachable=ollama_reachable,
        ollama_model=settings.ollama_model,
        embedded_running=embedded_url is not None,
    )
    provider = HybridModelProvider(
        {
            "ollama": ollama,
            "local": EmbeddedBackend(
                embedded_url, transport=transport, circuits=circuits, supervisor=supervisor
            ),
            "openai": OpenAIBackend(
                settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
                settings.openai_base_url,
                transport=transport,
                circuits=circuits,
            ),
            "litellm": LitellmBackend(
                settings.litellm_api_base,
                settings.litellm_api_key.get_secret_value() if settings.litellm_api_key else None,
                circuits=circuits,
            ),
        },
        default,
        ResponseCache(settings.response_cache_max_entries, settings.response_cache_ttl_seconds)
        if settings.response_cache
        else None,
    )
    return ProviderStack(provider, server, ollama_reachable, circuits, supervisor)
