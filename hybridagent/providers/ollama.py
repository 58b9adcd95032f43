"""Ollama: model calls through its OpenAI-compatible /v1 endpoint or, with
OLLAMA_API_MODE=native, its /api/chat; health and listing through its native API with
the official `ollama` client.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Literal

import httpx
import ollama
from agents import Model

from hybridagent.activity_io import PullProgress
from hybridagent.providers import ollama_admin
from hybridagent.providers.base import ModelListing
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.errors import ModelNotFoundError, ProviderUnreachableError
from hybridagent.providers.guarded import GuardedModel
from hybridagent.providers.ollama_native import OllamaNativeModel
from hybridagent.providers.openai_compat import chat_model, make_openai_client
from hybridagent.providers.tool_emulation import (
    ollama_format_constraint,
    openai_json_schema_constraint,
)
from hybridagent.providers.tool_support import ToolEmulation, ToolsWhereSupported
from hybridagent.routing.catalog import Capabilities, ollama_capabilities
from hybridagent.routing.names import UnknownModelError
from hybridagent.worker_health import LoadedModel

PROBE_TIMEOUT_SECONDS = 2.0
CAPABILITY_CACHE_SECONDS = 60.0


class OllamaBackend:
    prefix = "ollama"
    label = "Ollama"  # starts its circuit keys (providers/registry.py)

    def __init__(
        self,
        host: str,
        *,
        served_context: int = 4096,
        transport: httpx.AsyncBaseTransport | None = None,
        circuits: CircuitBreaker | None = None,
        api_mode: Literal["openai", "native"] = "openai",
        keep_alive: str = "5m",
        tool_emulation: ToolEmulation = "auto",
    ) -> None:
        self.circuits = circuits
        self.host = host.rstrip("/")
        self.served_context = served_context
        self.api_mode = api_mode
        self.keep_alive = keep_alive
        self._http = httpx.AsyncClient(transport=transport, timeout=None)
        self._openai = make_openai_client(f"{self.host}/v1", "ollama", self._http)
        self._native = ollama.AsyncClient(
            host=self.host, transport=transport, timeout=PROBE_TIMEOUT_SECONDS
        )
        self._models: dict[str, Model] = {}
        self.tool_emulation = tool_emulation
        self._shown: dict[str, tuple[float, Capabilities]] = {}
        self._transport = transport
        self._long: ollama.AsyncClient | None = None  # pulls and loads: see ollama_admin

    def raw_model(self, model: str) -> Model:
        """The adapter for OLLAMA_API_MODE, failures typed: `/v1` Chat Completions, or
        native `/api/chat`, which sizes `num_ctx` to each call (ollama_native.py)."""
        if self.api_mode == "openai":
            return chat_model(self._openai, model, backend=self.label, circuits=self.circuits)
        native = OllamaNativeModel(
            self._native, model, served_context=self.served_context, keep_alive=self.keep_alive
        )
        return GuardedModel(
            native, backend=self.label, endpoint=self.host, model=model, circuits=self.circuits
        )

    def get_model(self, model: str) -> Model:
        """The mode's adapter; tool calls to a model without tool support are emulated."""
        if model not in self._models:
            constrain = (
                openai_json_schema_constraint
                if self.api_mode == "openai"
                else ollama_format_constraint
            )
            self._models[model] = ToolsWhereSupported(
                self.raw_model(model),
                lambda: self.model_call_capabilities(model),
                constrain,
                self.tool_emulation,
            )
        return self._models[model]

    async def model_call_capabilities(self, model: str) -> Capabilities:
        """`capabilities`, with a missing model typed for fallback."""
        try:
            return await self.capabilities(model)
        except ModelNotFoundError:
            raise
        except UnknownModelError as err:
            raise ModelNotFoundError(str(err)) from None

    async def is_reachable(self) -> bool:
        try:
            await self._native.list()
        except (httpx.HTTPError, ollama.ResponseError, ConnectionError):
            return False
        return True

    async def capabilities(self, model: str) -> Capabilities:
        """From `/api/show`, cached a minute per model for routing and model calls alike;
        raises ModelNotFoundError (an UnknownModelError) for a model Ollama does not have and
        ProviderUnreachableError when Ollama does not answer."""
        cached = self._shown.get(model)
        if cached and time.monotonic() - cached[0] < CAPABILITY_CACHE_SECONDS:
            return cached[1]
        try:
            shown = await self._native.show(model)
        except ollama.ResponseError as err:
            if err.status_code == 404:
                raise ModelNotFoundError(
                    f"Ollama at {self.host} has no model {model!r}; "
                    f"pull it with `ollama pull {model}`."
                ) from None
            raise ProviderUnreachableError(
                f"Ollama at {self.host} answered /api/show with HTTP {err.status_code}."
            ) from None
        except (httpx.HTTPError, ConnectionError) as err:
            raise ProviderUnreachableError(
                f"Ollama is not reachable at {self.host} ({type(err).__name__})."
            ) from None
        capabilities = ollama_capabilities(
            list(shown.capabilities or ["completion"]),
            dict(shown.modelinfo or {}),
            self.served_context,
        )
        self._shown[model] = (time.monotonic(), capabilities)
        return capabilities

    async def list_models(self) -> ModelListing:
        try:
            listed = await self._native.list()
        except (httpx.HTTPError, ollama.ResponseError, ConnectionError) as err:
            return ModelListing(
                "ollama", self.host, False, detail=f"not reachable ({type(err).__name__})"
            )
        names = [f"ollama/{m.model}" for m in listed.models if m.model]
        return ModelListing("ollama", self.host, True, names)

    def _long_client(self) -> ollama.AsyncClient:
        if self._long is None:
            self._long = ollama.AsyncClient(
                host=self.host, transport=self._transport, timeout=ollama_admin.LONG_TIMEOUT
            )
        return self._long

    async def loaded_models(self) -> list[LoadedModel]:
        """`/api/ps`; raises ProviderUnreachableError when Ollama does not answer."""
        return await ollama_admin.loaded_models(self._native, self.host)

    def pull(self, model: str) -> AsyncIterator[PullProgress]:
        """`/api/pull`'s progress lines; ModelNotInRegistryError for a name Ollama's
        registry does not know."""
        return ollama_admin.pull(self._long_client(), self.host, model)

    async def prewarm(self, model: str, keep_alive: str) -> None:
        """Load `model` now and keep it loaded for `keep_alive` (Ollama's duration)."""
        await ollama_admin.prewarm(self._long_client(), self.host, model, keep_alive)

    async def aclose(self) -> None:
        for client in (self._native, self._long):
            if client is not None:
                await client.close()  # type: ignore[no-untyped-call]  # ollama 0.6: unannotated
        await self._openai.close()
        await self._http.aclose()
