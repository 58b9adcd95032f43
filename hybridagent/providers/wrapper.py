"""One base for the Model layers that wrap another Model, like pydantic-ai's models/wrapper.py.

The Agents SDK's `Model` takes ten parameters in each of its two calls; a layer that
changes one of them (the settings, the model that answers, the errors) should not
write all ten out twice. `CallModel` takes them once, as one `ModelCall`, and hands the
call to `respond` / `stream`; `WrapperModel` forwards both, and `close`, to `inner`
unchanged, so a layer overrides only what it changes. Retry advice and run-end cleanup
are deliberately not forwarded (no layer ever did; the SDK's defaults apply): Temporal's
retry policy is the only retry loop (openai_compat.py).

Every backend builds its layers in one order, from the outside in:

    CacheLayer                 all backends (hybrid.py)
    ToolsWhereSupported        ollama, both API modes (its emulated twin: ToolEmulatingModel)
      or ToolEmulatingModel    local (SmolLM2 never calls tools natively)
    SupervisedModel            local, when the worker started the server
    GuardedModel               all backends
    the adapter                OpenAIChatCompletionsModel, OllamaNativeModel, LitellmModel

The cache is outermost: it strips the workflow's cache marker before any other layer or
server sees it, and a hit costs nothing below it. Tool emulation sits above the guard:
one emulated call is several requests (a garbled step or invalid arguments is asked for
again), each guarded on its own, and its verdicts on the model's output
(InvalidToolCallError, MalformedToolStepError) never count against the backend's
circuit. The supervisor waits out a server restart before the guard checks the circuit,
and reads the guard's typed errors to tell a death of the server from a failed call.
The guard is next to the adapter because the adapter's client errors are what it types.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, TypeVar

from agents import (
    AgentOutputSchemaBase,
    Handoff,
    Model,
    ModelResponse,
    ModelSettings,
    ModelTracing,
    Tool,
    TResponseInputItem,
)
from agents.items import TResponseStreamEvent

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class ModelCall:
    """The arguments of one `Model.get_response` / `stream_response` call."""

    system_instructions: str | None
    input: str | list[TResponseInputItem]
    model_settings: ModelSettings
    tools: list[Tool]
    output_schema: AgentOutputSchemaBase | None
    handoffs: list[Handoff[Any, Any]]
    tracing: ModelTracing
    previous_response_id: str | None = None
    conversation_id: str | None = None
    prompt: Any | None = None

    def _arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The call as `Model`'s positional and keyword arguments."""
        fields = [getattr(self, f.name) for f in dataclasses.fields(self)]
        keywords = ("previous_response_id", "conversation_id", "prompt")
        return tuple(fields[:7]), dict(zip(keywords, fields[7:], strict=True))

    async def answer_from(self, model: Model) -> ModelResponse:
        args, kwargs = self._arguments()
        return await model.get_response(*args, **kwargs)

    def stream_from(self, model: Model) -> AsyncIterator[TResponseStreamEvent]:
        args, kwargs = self._arguments()
        return model.stream_response(*args, **kwargs)


class CallModel(Model):
    """A Model that receives each of its two calls as one ModelCall."""

    @abc.abstractmethod
    async def respond(self, call: ModelCall) -> ModelResponse: ...

    @abc.abstractmethod
    def stream(self, call: ModelCall) -> AsyncIterator[TResponseStreamEvent]: ...

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any | None = None,
    ) -> ModelResponse:
        return await self.respond(
            ModelCall(
                system_instructions,
                input,
                model_settings,
                tools,
                output_schema,
                handoffs,
                tracing,
                previous_response_id,
                conversation_id,
                prompt,
            )  # fmt: skip
        )

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[TResponseStreamEvent]:
        """The same parameters as `get_response`, in the same order: ModelCall's fields."""
        return self.stream(ModelCall(*args, **kwargs))


class WrapperModel(CallModel):
    """A layer over `inner`: both calls and `close` go to it unchanged unless overridden."""

    def __init__(self, inner: Model) -> None:
        self.inner = inner

    async def respond(self, call: ModelCall) -> ModelResponse:
        return await call.answer_from(self.inner)

    def stream(self, call: ModelCall) -> AsyncIterator[TResponseStreamEvent]:
        return call.stream_from(self.inner)

    async def close(self) -> None:
        await self.inner.close()


def layer_of(model: Model, kind: type[M]) -> M | None:
    """The outermost layer of `kind` in `model`: itself, or one it wraps, at any depth."""
    while not isinstance(model, kind):
        if not isinstance(model, WrapperModel):
            return None
        model = model.inner
    return model
