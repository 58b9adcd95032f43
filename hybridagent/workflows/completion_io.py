"""One OpenAI-style chat completion as a workflow's input and output, and the conversions
between OpenAI's chat messages and the Agents SDK's input items.

Plain data: the HTTP API (hybridagent/api) builds the input and reads the output, the
ChatCompletionWorkflow runs it; neither imports the other's stack.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hybridagent.routing.preferences import RoutingPreferences
from hybridagent.routing.thresholds import Location
from hybridagent.workflows.io import RoutingRecord, TokenUsage

Route = Location


class CompletionError(ValueError):
    """A request the completion cannot be made of, in one sentence (HTTP 400)."""


class FunctionDef(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})


class ClientTool(BaseModel):
    """A tool the client runs itself: the model may call it, the workflow never does."""

    type: Literal["function"] = "function"
    function: FunctionDef


class CompletionInput(BaseModel):
    """The ChatCompletionWorkflow's input: the request's fields that shape the call."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None  # a hybridagent model name; None: routed (`auto`)
    agent: str | None = None  # `agent/<name>`: that agent, with its own tools, runs
    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[ClientTool] = Field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    json_schema: dict[str, Any] | None = None  # response_format's schema (object root)
    json_schema_name: str = "response"
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stream: bool = False
    user: str = "api"
    routing: RoutingPreferences | None = None


class ToolCall(BaseModel):
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


# What hybridagent changed about a completion that its client should know.
NoticeCode = Literal["privacy_pinned", "model_replaced", "fallback", "tool_emulation", "cache"]


class Notice(BaseModel):
    code: NoticeCode
    message: str  # one sentence; names models and finding types, never prompt text


class CallRoute(BaseModel):
    model: str
    route: Route
    # The notices known so far (a streamed answer's headers are sent mid-run).
    notices: list[NoticeCode] = Field(default_factory=list)


class CompletionOutput(BaseModel):
    content: str | None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: Literal["stop", "tool_calls", "length"] = "stop"
    model: str  # the model that answered
    route: Route
    usage: TokenUsage = Field(default_factory=TokenUsage)
    notices: list[str] = Field(default_factory=list)
    # The same and more, coded, for the API's x-hybridagent-notice and response field.
    changes: list[Notice] = Field(default_factory=list)


def _text(content: Any) -> str:
    """A message's text: a string, or its text parts joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict)
        )  # fmt: skip
    raise CompletionError("A message's content must be a string or a list of parts.")


def _user_content(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise CompletionError("A user message's content must be a string or a list of parts.")
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            parts.append({"type": "input_text", "text": str(part.get("text", ""))})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise CompletionError("An image_url part needs image_url.url.")
            parts.append({"type": "input_image", "image_url": url, "detail": "auto"})
        else:
            raise CompletionError(f"A user message part of type {kind!r} is not supported.")
    return parts


def to_input_items(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """The instructions (system and developer messages, joined) and the rest of the
    conversation as the Agents SDK's input items: assistant tool calls become function
    calls, tool messages their outputs."""
    system: list[str] = []
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text(message.get("content")))
        elif role == "user":
            items.append({"role": "user", "content": _user_content(message.get("content"))})
        elif role == "assistant":
            text = _text(message.get("content"))
            if text:
                items.append({"role": "assistant", "content": text})
            for call in message.get("tool_calls") or []:
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict) or not call.get("id"):
                    raise CompletionError("An assistant tool call needs an id and a function.")
                items.append(
                    {
                        "type": "function_call",
                        "call_id": str(call["id"]),
                        "name": str(function.get("name", "")),
                        "arguments": str(function.get("arguments") or "{}"),
                    }
                )
        elif role == "tool":
            if not message.get("tool_call_id"):
                raise CompletionError("A tool message needs the tool_call_id it answers.")
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": str(message["tool_call_id"]),
                    "output": _text(message.get("content")),
                }
            )
        else:
            raise CompletionError(
                f"A message's role must be system, user, assistant or tool, not {role!r}."
            )
    if not items:
        raise CompletionError("The messages need at least one user message.")
    return ("\n\n".join(system) if system else None), items


def from_output_items(items: list[Any]) -> tuple[str | None, list[ToolCall]]:
    """The text and the tool calls of a model response's output items (pydantic models
    of the Responses API or their dicts)."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for item in items:
        data = item if isinstance(item, dict) else item.model_dump()
        if data.get("type") == "function_call":
            calls.append(
                ToolCall(id=data["call_id"], name=data["name"], arguments=data["arguments"])
            )
        elif data.get("type") == "message":
            for part in data.get("content") or []:
                if part.get("type") == "output_text":
                    texts.append(part.get("text", ""))
    return ("".join(texts) if texts else None), calls


def output_text(value: object) -> str:
    """A final output as the assistant message's content."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def completion_notices(
    trail: list[RoutingRecord],
    *,
    requested: str | None,
    requested_route: Route,
    answered: str | None,
    replaced: list[str],
    worker_notes: list[str],
) -> list[Notice]:
    """What a client should know about how its completion was made: a cloud model asked
    for and a local one answering because the request held private data, a requested
    model replaced for another reason (`replaced`: the run's notices), fallbacks after
    failed calls, tool calls emulated, an answer from the cache (`worker_notes`)."""
    found: list[Notice] = []
    types = sorted({t for record in trail for t in record.finding_types})
    pinned = any(record.local_only for record in trail) and types
    if requested and requested_route == "cloud" and pinned and answered != requested:
        message = (
            f"The request holds private data ({', '.join(types)}), so it stayed on this "
            f"machine: {answered or 'a local model'} answered instead of {requested}."
        )
        found.append(Notice(code="privacy_pinned", message=message))
    else:
        found += [Notice(code="model_replaced", message=line) for line in replaced]
    for record in trail:
        if record.fallback_from:
            failure = f" ({record.failure})" if record.failure else ""
            took = record.model or "no other model"
            message = f"{record.fallback_from} failed{failure}; {took} took the call."
            found.append(Notice(code="fallback", message=message))
    if "tool_emulation" in worker_notes:
        message = (
            f"{answered} has no native tool calling: hybridagent emulated it with "
            "schema-constrained output."
        )
        found.append(Notice(code="tool_emulation", message=message))
    if "cache" in worker_notes:
        message = "Answered from the worker's response cache: no model was asked."
        found.append(Notice(code="cache", message=message))
    return found
