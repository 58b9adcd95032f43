"""A scripted Agents SDK Model and a provider serving it: model calls without a model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from agents import Model, ModelProvider, ModelResponse, Usage
from agents.items import TResponseStreamEvent
from openai.types.responses import ResponseOutputMessage, ResponseOutputText

from hybridagent.providers.stream_events import as_stream


def text_response(text: str, *, input_tokens: int = 3, output_tokens: int = 2) -> ModelResponse:
    message = ResponseOutputMessage(
        id="msg_scripted",
        content=[ResponseOutputText(text=text, annotations=[], type="output_text")],
        role="assistant",
        status="completed",
        type="message",
    )
    usage = Usage(
        requests=1,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )
    return ModelResponse(output=[message], usage=usage, response_id=None)


class ScriptedModel(Model):
    """Answers every call with `respond(call_number)`; `hang=True` never answers."""

    def __init__(
        self, respond: Callable[[int], ModelResponse] | None = None, *, hang: bool = False
    ) -> None:
        self.respond = respond or (lambda n: text_response(f"scripted answer {n}"))
        self.hang = hang
        self.calls = 0

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        self.calls += 1
        if self.hang:
            await asyncio.Event().wait()
        return self.respond(self.calls)

    async def stream_response(
        self, *args: Any, **kwargs: Any
    ) -> AsyncIterator[TResponseStreamEvent]:
        async for event in as_stream(await self.get_response(*args, **kwargs), "scripted"):
            yield event


class ScriptedProvider(ModelProvider):
    def __init__(self, model: Model) -> None:
        self.model = model
        self.names: list[str | None] = []

    def get_model(self, model_name: str | None) -> Model:
        self.names.append(model_name)
        return self.model


class ScriptedBackend:
    """A hybridagent backend serving one scripted model under any name."""

    def __init__(self, model: Model, prefix: str = "local") -> None:
        self.prefix = prefix
        self.model = model

    def get_model(self, model: str) -> Model:
        return self.model

    async def list_models(self) -> Any:
        from hybridagent.providers.base import ModelListing

        return ModelListing(self.prefix, "scripted", True, [f"{self.prefix}/scripted"])

    async def aclose(self) -> None:
        return None
