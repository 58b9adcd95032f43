"""Ollama's native `/api/chat` as an Agents SDK `Model` (OLLAMA_API_MODE=native).

Why a second adapter next to the OpenAI-compatible one: Ollama serves a model with
OLLAMA_CONTEXT_LENGTH tokens (4096 by default) unless the request sets `options.num_ctx`,
and silently drops the start of a longer prompt, which for an agent is its instructions
and tool definitions. /v1 cannot size the context; /api/chat can, per call, and also
takes `keep_alive`, `think` and `format` (a JSON schema).

The request goes through the official client's `_request`, not `AsyncClient.chat`:
`chat()` re-validates tools through the client's pydantic `Tool`, which keeps only
type/items/description/enum of each property, so `anyOf` (every optional argument) and
nested object properties would never reach the server.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import ollama
from agents import ModelResponse, Usage
from agents.items import TResponseOutputItem, TResponseStreamEvent
from agents.models.fake_id import FAKE_RESPONSES_ID
from agents.tracing import generation_span
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
    ResponseTextDeltaEvent,
    ResponseUsage,
)
from openai.types.responses.response_reasoning_item import Content as ReasoningText

from hybridagent.providers.errors import MalformedResponseError
from hybridagent.providers.ollama_request import (
    REPLY_RESERVE_TOKENS,
    context_size,
    prompt_chars,
    schema_of,
    to_messages,
    to_tools,
)
from hybridagent.providers.wrapper import CallModel, ModelCall


def to_output(message: ollama.Message) -> list[TResponseOutputItem]:
    """An Ollama answer as Responses output items: thinking, text, then tool calls."""
    output: list[TResponseOutputItem] = []
    if message.thinking:
        output.append(
            ResponseReasoningItem(
                id=FAKE_RESPONSES_ID,
                summary=[],
                content=[ReasoningText(text=message.thinking, type="reasoning_text")],
                type="reasoning",
            )
        )
    if message.content or not message.tool_calls:
        output.append(_message(message.content or "", "completed"))
    for call in message.tool_calls or []:
        output.append(
            ResponseFunctionToolCall(
                id=FAKE_RESPONSES_ID,
                # Ollama's calls carry no id; the SDK pairs each result with its call by one.
                call_id=f"call_{uuid.uuid4().hex[:24]}",
                name=call.function.name,
                arguments=json.dumps(call.function.arguments),
                type="function_call",
                status="completed",
            )
        )
    return output


def _message(text: str, status: Any) -> ResponseOutputMessage:
    content = [ResponseOutputText(text=text, annotations=[], type="output_text")] if text else []
    return ResponseOutputMessage(
        id=FAKE_RESPONSES_ID, content=content, role="assistant", status=status, type="message"
    )


def to_usage(answer: ollama.ChatResponse) -> Usage:
    prompt, reply = answer.prompt_eval_count or 0, answer.eval_count or 0
    return Usage(requests=1, input_tokens=prompt, output_tokens=reply, total_tokens=prompt + reply)


class OllamaNativeModel(CallModel):
    """One Ollama model over `/api/chat`.

    `served_context` is the least `num_ctx` sent (what Ollama serves anyway);
    `max_context` caps it, and is otherwise read once from `/api/show` (the model's
    trained context) so a long conversation never asks for more than the model has.
    """

    def __init__(
        self,
        client: ollama.AsyncClient,
        model: str,
        *,
        served_context: int = 4096,
        max_context: int | None = None,
        keep_alive: str | float | None = "5m",
    ) -> None:
        self.client = client
        self.model = model
        self.served_context = served_context
        self.max_context = max_context
        if isinstance(keep_alive, str) and keep_alive.lstrip("-").isdigit():
            # OLLAMA_KEEP_ALIVE=-1 (forever) is a number to the API; as a string it is a
            # duration without a unit, which Ollama refuses.
            keep_alive = int(keep_alive)
        self.keep_alive = keep_alive

    async def _trained_context(self) -> int | None:
        if self.max_context is None:
            try:
                shown = await self.client.show(self.model)
            except (ollama.ResponseError, httpx.HTTPError, OSError, ValueError):
                return None  # the chat request that follows reports the failure
            self.max_context = next(
                (
                    value
                    for key, value in (shown.modelinfo or {}).items()
                    if key.endswith(".context_length") and isinstance(value, int)
                ),
                None,
            )
        return self.max_context

    async def request_body(self, call: ModelCall, *, stream: bool) -> dict[str, Any]:
        """The JSON body of one /api/chat request."""
        settings, output_schema = call.model_settings, call.output_schema
        extra = dict(settings.extra_args or {})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": to_messages(call.system_instructions, call.input),
            "stream": stream,
        }
        if call.tools or call.handoffs:
            body["tools"] = to_tools(call.tools, call.handoffs)
        extra_body = settings.extra_body if isinstance(settings.extra_body, dict) else {}
        schema = schema_of(extra_body.get("response_format"))
        if output_schema is not None and not output_schema.is_plain_text():
            schema = output_schema.json_schema()
        if extra.get("format", schema) is not None:
            body["format"] = extra.get("format", schema)
        if extra.get("think") is not None:
            body["think"] = extra["think"]
        keep_alive = extra.get("keep_alive", self.keep_alive)
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        options: dict[str, Any] = {
            key: value
            for key, value in (
                ("temperature", settings.temperature),
                ("top_p", settings.top_p),
                ("frequency_penalty", settings.frequency_penalty),
                ("presence_penalty", settings.presence_penalty),
                ("num_predict", settings.max_tokens),
            )
            if value is not None
        }
        options["num_ctx"] = context_size(
            prompt_chars(body),
            settings.max_tokens or REPLY_RESERVE_TOKENS,
            floor=self.served_context,
            ceiling=await self._trained_context(),
        )
        body["options"] = options | dict(extra.get("options") or {})
        return body

    async def respond(self, call: ModelCall) -> ModelResponse:
        body = await self.request_body(call, stream=False)
        with generation_span(
            model=self.model, model_config=body["options"], disabled=call.tracing.is_disabled()
        ) as span:
            answer = await self.client._request(
                ollama.ChatResponse, "POST", "/api/chat", json=body, stream=False, timeout=None
            )
            output = to_output(answer.message)
            usage = to_usage(answer)
            if call.tracing.include_data():
                span.span_data.input = body["messages"]
                span.span_data.output = [item.model_dump() for item in output]
            span.span_data.usage = {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
            }
        return ModelResponse(output=output, usage=usage, response_id=None)

    async def stream(self, call: ModelCall) -> AsyncIterator[TResponseStreamEvent]:
        body = await self.request_body(call, stream=True)
        with generation_span(
            model=self.model, model_config=body["options"], disabled=call.tracing.is_disabled()
        ):
            chunks = await self.client._request(
                ollama.ChatResponse, "POST", "/api/chat", json=body, stream=True, timeout=None
            )
            events = StreamEvents(self.model)
            yield events.created()
            async for chunk in chunks:
                for event in events.feed(chunk):
                    yield event
                if chunk.done:
                    for event in events.finish(chunk):
                        yield event
                    return
        raise MalformedResponseError(
            f"Ollama ended the stream for {self.model!r} before its final (done) object."
        )

    async def close(self) -> None:
        """Nothing to close: the client is the backend's, shared by its models."""


class StreamEvents:
    """Ollama stream chunks as the Responses stream events the SDK's runner reads: text
    deltas as they come, then the finished items and `response.completed` with the
    whole output and usage (what `Runner.run_streamed` takes the turn's result from)."""

    def __init__(self, model: str) -> None:
        self.response = Response(
            id=FAKE_RESPONSES_ID,
            created_at=time.time(),
            model=model,
            object="response",
            output=[],
            tool_choice="auto",
            tools=[],
            parallel_tool_calls=False,
        )
        self.sequence = 0
        self.text = ""
        self.thinking = ""
        self.calls: list[ollama.Message.ToolCall] = []
        self.message_index: int | None = None

    def _next(self) -> int:
        self.sequence += 1
        return self.sequence - 1

    def created(self) -> ResponseCreatedEvent:
        return ResponseCreatedEvent(
            response=self.response, type="response.created", sequence_number=self._next()
        )

    def feed(self, chunk: ollama.ChatResponse) -> Iterator[TResponseStreamEvent]:
        self.thinking += chunk.message.thinking or ""
        self.calls.extend(chunk.message.tool_calls or [])
        delta = chunk.message.content or ""
        if not delta:
            return
        if self.message_index is None:
            self.message_index = 1 if self.thinking else 0
            yield ResponseOutputItemAddedEvent(
                item=_message("", "in_progress"),
                output_index=self.message_index,
                type="response.output_item.added",
                sequence_number=self._next(),
            )
            yield ResponseContentPartAddedEvent(
                content_index=0,
                item_id=FAKE_RESPONSES_ID,
                output_index=self.message_index,
                part=ResponseOutputText(text="", annotations=[], type="output_text"),
                type="response.content_part.added",
                sequence_number=self._next(),
            )
        self.text += delta
        yield ResponseTextDeltaEvent(
            content_index=0,
            delta=delta,
            item_id=FAKE_RESPONSES_ID,
            output_index=self.message_index,
            logprobs=[],
            type="response.output_text.delta",
            sequence_number=self._next(),
        )

    def finish(self, final: ollama.ChatResponse) -> Iterator[TResponseStreamEvent]:
        whole = ollama.Message(
            role="assistant",
            content=self.text,
            thinking=self.thinking or None,
            tool_calls=self.calls or None,
        )
        output = to_output(whole)
        for index, item in enumerate(output):
            if isinstance(item, ResponseOutputMessage) and self.message_index is not None:
                yield ResponseContentPartDoneEvent(
                    content_index=0,
                    item_id=FAKE_RESPONSES_ID,
                    output_index=index,
                    part=item.content[0],
                    type="response.content_part.done",
                    sequence_number=self._next(),
                )
            else:
                yield ResponseOutputItemAddedEvent(
                    item=item,
                    output_index=index,
                    type="response.output_item.added",
                    sequence_number=self._next(),
                )
            yield ResponseOutputItemDoneEvent(
                item=item,
                output_index=index,
                type="response.output_item.done",
                sequence_number=self._next(),
            )
        usage = to_usage(final)
        completed = self.response.model_copy()
        completed.output = output
        completed.usage = ResponseUsage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            input_tokens_details=usage.input_tokens_details,
            output_tokens_details=usage.output_tokens_details,
        )
        yield ResponseCompletedEvent(
            response=completed, type="response.completed", sequence_number=self._next()
        )
