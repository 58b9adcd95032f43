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

from hybridagent.providers.tool_emulation import Constraint, ToolEmulatingModel
from hybridagent.routing.catalog import Capabilities

ToolEmulation = Literal["auto", "always", "never"]


class ToolsWhereSupported(Model):
    """`inner` for calls it can take, its emulated twin for tool calls it cannot."""

    def __init__(
        self,
        inner: Model,
        capabilities: Callable[[], Awaitable[Capabilities]],
        constrain: Constraint,
        mode: ToolEmulation = "auto",
    ) -> None:
        self.inner = inner
        self.emulated = ToolEmulatingModel(inner, constrain)
        self._capabilities = capabilities
        self.mode = mode

    async def emulates(self, tools: list[Tool], handoffs: list[Handoff[Any, Any]]) -> bool:
        if not (tools or handoffs) or self.mode == "never":
            return False
        return self.mode == "always" or not (await self._capabilities()).tools

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
        model = self.emulated if await self.emulates(tools, handoffs) else self.inner
        return await model.get_response(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            tracing,
            previous_response_id=previous_response_id,
            conversation_id=conversation_id,
            prompt=prompt,
        )

    async def stream_response(
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
    ) -> AsyncIterator[TResponseStreamEvent]:
        model = self.emulated if await self.emulates(tools, handoffs) else self.inner
        async for event in model.stream_response(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            tracing,
            previous_response_id=previous_response_id,
            conversation_id=conversation_id,
            prompt=prompt,
        ):
            yield event

    async def close(self) -> None:
        await self.inner.close()
