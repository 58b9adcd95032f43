"""OpenAI (or any OpenAI-compatible cloud endpoint via OPENAI_BASE_URL).

Calls go through Chat Completions, the API every compatible endpoint shares.
"""

from __future__ import annotations

import httpx
import openai
from agents import Model

from hybridagent.providers.base import ModelListing
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.errors import MissingApiKeyError
from hybridagent.providers.openai_compat import chat_model, make_openai_client

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIBackend:
    prefix = "openai"
    label = "OpenAI"  # starts its circuit keys (providers/registry.py)

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        circuits: CircuitBreaker | None = None,
    ) -> None:
        self.circuits = circuits
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._has_key = bool(api_key)
        self._http = httpx.AsyncClient(transport=transport, timeout=None)
        # The client needs some key string to construct; it is never sent without a real one.
        self._client = make_openai_client(self.base_url, api_key or "unset", self._http)
        self._models: dict[str, Model] = {}

    def get_model(self, model: str) -> Model:
        if not self._has_key:
            raise MissingApiKeyError("no OPENAI_API_KEY is set on the worker")
        if model not in self._models:
            self._models[model] = chat_model(
                self._client, model, backend=self.label, circuits=self.circuits
            )
        return self._models[model]

    async def list_models(self) -> ModelListing:
        if not self._has_key:
            return ModelListing("openai", self.base_url, False, detail="OPENAI_API_KEY not set")
        try:
            page = await self._client.models.list()
        except openai.APIError as err:
            return ModelListing("openai", self.base_url, False, detail=type(err).__name__)
        return ModelListing("openai", self.base_url, True, [f"openai/{m.id}" async for m in page])

    async def aclose(self) -> None:
        await self._client.close()
        await self._http.aclose()
