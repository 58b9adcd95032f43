"""A Model wrapper that turns transport failures into one-sentence, typed errors.

The OpenAI client says "Connection error." when Ollama is down; users need to hear
which backend at which address, and Temporal needs a type name to decide on retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
from agents import Model, ModelResponse
from agents.items import TResponseStreamEvent

from hybridagent.providers.errors import (
    InvalidApiKeyError,
    ProviderUnreachableError,
    UnknownModelError,
)


class GuardedModel(Model):
    def __init__(self, inner: Model, *, backend: str, endpoint: str, model: str) -> None:
        self.inner = inner
        self.backend = backend
        self.endpoint = endpoint
        self.model = model

    def _translate(self, err: Exception) -> Exception | None:
        if isinstance(err, openai.APIConnectionError):  # includes APITimeoutError
            return ProviderUnreachableError(
                f"{self.backend} is not reachable at {self.endpoint} ({type(err).__name__})."
            )
        if isinstance(err, openai.AuthenticationError | openai.PermissionDeniedError):
            return InvalidApiKeyError(
                f"{self.backend} rejected the API key for model {self.model!r} "
                f"(HTTP {err.status_code})."
            )
        if isinstance(err, openai.NotFoundError):
            return UnknownModelError(
                f"{self.backend} at {self.endpoint} has no model {self.model!r}."
            )
        return None

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        try:
            return await self.inner.get_response(*args, **kwargs)
        except Exception as err:
            translated = self._translate(err)
            if translated is None:
                raise
            raise translated from err

    async def stream_response(
        self, *args: Any, **kwargs: Any
    ) -> AsyncIterator[TResponseStreamEvent]:
        try:
            async for event in self.inner.stream_response(*args, **kwargs):
                yield event
        except Exception as err:
            translated = self._translate(err)
            if translated is None:
                raise
            raise translated from err

    async def close(self) -> None:
        await self.inner.close()
