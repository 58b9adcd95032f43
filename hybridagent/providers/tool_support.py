"""Tool calls on Ollama models that cannot make them.

Ollama answers a request with `tools` for such a model with HTTP 400 ("does not support
tools") — the breakage users of local agents know best. Ollama says per model whether
it calls tools (`/api/show` capabilities), so a tool-using call to a model without the
capability goes through schema-constrained emulation (tool_emulation.py) instead; calls
without tools, and models that have the capability, go to the model unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

from agents import Handoff, Model, ModelResponse, Tool
from agents.items import TResponseStreamEvent

from hybridagent.providers.tool_emulation import Constraint, ToolEmulatingModel
from hybridagent.providers.wrapper import ModelCall, WrapperModel
from hybridagent.routing.catalog import Capabilities

ToolEmulation = Literal["auto", "always", "never"]


class ToolsWhereSupported(WrapperModel):
    """`inner` for calls it can take, its emulated twin for tool calls it cannot."""

    def __init__(
        self,
        inner: Model,
        capabilities: Callable[[], Awaitable[Capabilities]],
        constrain: Constraint,
        mode: ToolEmulation = "auto",
    ) -> None:
        super().__init__(inner)
        self.emulated = ToolEmulatingModel(inner, constrain)
        self._capabilities = capabilities
        self.mode = mode

    async def emulates(self, tools: list[Tool], handoffs: list[Handoff[Any, Any]]) -> bool:
        if not (tools or handoffs) or self.mode == "never":
            return False
        return self.mode == "always" or not (await self._capabilities()).tools

    async def respond(self, call: ModelCall) -> ModelResponse:
        return await call.answer_from(await self._model_for(call))

    async def stream(self, call: ModelCall) -> AsyncIterator[TResponseStreamEvent]:
        async for event in call.stream_from(await self._model_for(call)):
            yield event

    async def _model_for(self, call: ModelCall) -> Model:
        return self.emulated if await self.emulates(call.tools, call.handoffs) else self.inner
