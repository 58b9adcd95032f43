"""Tool calls and structured output for models that have neither natively.

The model is asked for one JSON object constrained by a schema built from the tool
definitions (`{"action": <tool name | "final_answer">, "arguments": {...}, "answer": ...}`);
the server's grammar guarantees it parses, and we turn it into a proper tool call.
Small models like SmolLM2 follow such a schema reliably where they cannot produce
native tool calls at all. A grammar does not enforce every rule of a schema (and with
several tools the arguments may fit another tool's schema), so the arguments are
validated against the chosen tool's schema, repaired when the fix is obvious, else asked
for once more with the validation error; a second invalid call fails the model call as
InvalidToolCallError, which the workflow answers by trying the next model. A reply that is
no complete step at all (cut off at the token limit, garbled, an unknown action, or an
answer that is itself a step object) is asked for once more, then fails the call as
MalformedToolStepError: such text is never given to the user as the answer.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

from agents import (
    FunctionTool,
    Handoff,
    Model,
    ModelResponse,
    ModelSettings,
    Tool,
    TResponseInputItem,
)
from agents.items import TResponseStreamEvent
from jsonschema import Draft202012Validator
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

from hybridagent.providers.errors import InvalidToolCallError, MalformedToolStepError
from hybridagent.providers.notes import EMULATED_STREAM_MODEL, with_note
from hybridagent.providers.stream_events import as_stream
from hybridagent.providers.wrapper import ModelCall, WrapperModel

FINAL_ANSWER = "final_answer"

# Said to a model whose reply was not one complete step, before asking it once more.
GARBLED_NOTE = (
    "Your last reply was not one complete JSON object as instructed. Reply again with one "
    "short JSON object, and put your words for the user in its answer."
)
PROSE_NOTE = "Your last reply was a JSON object. Reply to the user in plain words."
# The start of a step object (possibly in a code fence): text that must not be an answer.
_STEP_START = re.compile(r'^\s*(?:```(?:json)?\s*)?\{\s*"(?:action|arguments|answer)"\s*:')

# How a backend is told to constrain its output to a JSON schema.
Constraint = Callable[[ModelSettings, dict[str, Any]], ModelSettings]
# One request to the inner model: (instructions, schema or None, messages).
Ask = Callable[[str | None, dict[str, Any] | None, Any], Awaitable[ModelResponse]]


def response_format(schema: dict[str, Any]) -> dict[str, Any]:
    """llama.cpp server's way to constrain output by a JSON schema."""
    return {"type": "json_object", "schema": schema}


def _with_extra_body(settings: ModelSettings, key: str, value: Any) -> ModelSettings:
    extra = dict(settings.extra_body or {})  # type: ignore[call-overload]
    extra[key] = value
    return replace(settings, extra_body=extra)


def llama_cpp_constraint(settings: ModelSettings, schema: dict[str, Any]) -> ModelSettings:
    return _with_extra_body(settings, "response_format", response_format(schema))


def openai_json_schema_constraint(settings: ModelSettings, schema: dict[str, Any]) -> ModelSettings:
    """Chat Completions' structured outputs, as Ollama's /v1 endpoint accepts them."""
    return _with_extra_body(
        settings,
        "response_format",
        {"type": "json_schema", "json_schema": {"name": "step", "schema": schema}},
    )


def ollama_format_constraint(settings: ModelSettings, schema: dict[str, Any]) -> ModelSettings:
    """Ollama's native `format` field (the native adapter reads it from extra_args)."""
    extra = dict(settings.extra_args or {})
    extra["format"] = schema
    return replace(settings, extra_args=extra)


def _tool_specs(
    tools: list[Tool], handoffs: list[Handoff[Any, Any]]
) -> dict[str, tuple[str, dict[str, Any]]]:
    specs: dict[str, tuple[str, dict[str, Any]]] = {}
    for tool in tools:
        if isinstance(tool, FunctionTool):
            specs[tool.name] = (tool.description, tool.params_json_schema)
    for handoff in handoffs:
        specs[handoff.tool_name] = (handoff.tool_description, handoff.input_json_schema)
    return specs


def step_schema(
    specs: dict[str, tuple[str, dict[str, Any]]], answer_schema: dict[str, Any] | None
) -> dict[str, Any]:
    """One flat object: an `action` enum, the tool arguments and the final answer."""
    params = [schema for _, schema in specs.values()]
    arguments: dict[str, Any] = params[0] if len(params) == 1 else {"anyOf": params}
    return {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": [*specs, FINAL_ANSWER]},
            "arguments": arguments,
            "answer": answer_schema or {"type": "string"},
        },
        "required": ["action"],
    }


def tool_instructions(specs: dict[str, tuple[str, dict[str, Any]]]) -> str:
    if not specs:
        return (
            'Reply with one JSON object whose "action" is "final_answer" and whose "answer" '
            "is your reply to the user, using the tool results you were given."
        )
    lines = ["You can call these tools:"]
    for name, (description, schema) in specs.items():
        lines.append(
            f"- {name}: {description} Arguments: {json.dumps(schema.get('properties', {}))}"
        )
    lines.append(
        'Reply with one JSON object. To call a tool, set "action" to the tool name and '
        '"arguments" to its arguments. To reply to the user, set "action" to "final_answer" '
        'and "answer" to your reply.'
    )
    return "\n".join(lines)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def as_plain_messages(
    input: str | list[TResponseInputItem],
) -> tuple[list[TResponseInputItem], set[str]]:
    """Rewrite tool calls and results as ordinary messages any chat template can render.

    Returns the messages and the set of `name + arguments` already called, so a model
    that repeats itself can be stopped.
    """
    if isinstance(input, str):
        return [{"role": "user", "content": input}], set()
    messages: list[TResponseInputItem] = []
    names: dict[str, str] = {}
    called: set[str] = set()
    for raw in input:
        item: dict[str, Any] = dict(raw)
        kind = item.get("type")
        if kind == "function_call":
            names[item["call_id"]] = item["name"]
            args = json.loads(item.get("arguments") or "{}")
            called.add(_call_key(item["name"], args))
            text = json.dumps({"action": item["name"], "arguments": args})
            messages.append({"role": "assistant", "content": text})
        elif kind == "function_call_output":
            name = names.get(item["call_id"], "the tool")
            output = item.get("output")
            output_text = output if isinstance(output, str) else json.dumps(output)
            messages.append({"role": "user", "content": f"Result of {name}: {output_text}"})
        elif "role" in item and (kind in (None, "message")):
            messages.append({"role": item["role"], "content": _text_of(item.get("content"))})
    return messages, called


def _call_key(name: str, arguments: Any) -> str:
    return name + json.dumps(arguments, sort_keys=True)


def _message(text: str) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id=f"msg_{uuid.uuid4().hex}",
        content=[ResponseOutputText(text=text, annotations=[], type="output_text")],
        role="assistant",
        status="completed",
        type="message",
    )


class ToolEmulatingModel(WrapperModel):
    """Wraps a chat model whose server constrains output to a JSON schema."""

    def __init__(self, inner: Model, constrain: Constraint = llama_cpp_constraint) -> None:
        super().__init__(inner)
        self.constrain = constrain

    async def respond(self, call: ModelCall) -> ModelResponse:
        system_instructions, input = call.system_instructions, call.input
        output_schema = call.output_schema
        answer_schema = (
            output_schema.json_schema()
            if output_schema is not None and not output_schema.is_plain_text()
            else None
        )
        specs = _tool_specs(call.tools, call.handoffs)

        async def ask(
            instructions: str | None,
            schema: dict[str, Any] | None,
            messages: str | list[TResponseInputItem],
        ) -> ModelResponse:
            # The choice of action should not be a dice roll: decode greedily unless the
            # agent asked for a temperature.
            settings = _greedy(call.model_settings)
            if schema is not None:
                settings = self.constrain(settings, schema)
            return await _plain_call(call, instructions, messages, settings).answer_from(self.inner)

        if not specs:
            # Structured output alone: constrain the text, the SDK validates it.
            response = await ask(system_instructions, answer_schema, input)
            if answer_schema is None and looks_like_step(_response_text(response)):
                response = await self._prose_again(ask, system_instructions, input, response)
            return response

        messages, called = as_plain_messages(input)
        instructions = "\n\n".join(filter(None, [system_instructions, tool_instructions(specs)]))
        schema = step_schema(specs, answer_schema)
        response, step = await _ask_step(ask, instructions, schema, messages, specs, answer_schema)
        problem = _argument_problem(step, specs)
        if problem is not None:
            repaired = _repaired(step, specs)
            if repaired is not None:
                step = repaired
            else:
                # Once more, told what was wrong; the model's attempt stays in the
                # conversation so it can see its own mistake.
                again = [
                    *messages,
                    {"role": "assistant", "content": _response_text(response)},
                    {"role": "user", "content": f"Those arguments are invalid: {problem}."},
                ]
                retry = await ask(instructions, schema, again)  # type: ignore[arg-type]
                retry.usage.add(response.usage)
                response, retried = retry, _usable_step(retry, specs, answer_schema)
                problem = _argument_problem(retried, specs) if retried else "no complete step"
                if retried is None or problem is not None:
                    raise InvalidToolCallError(
                        f"The model called {step[0]} with invalid arguments twice ({problem})."
                    )
                step = retried
        repeated = step[0] in specs and _call_key(*step) in called
        empty_answer = step[0] == FINAL_ANSWER and step[1] in ("", None)
        if repeated or empty_answer:
            # A repeated call (the model already has that result) or an answer with no
            # text: ask once more with only the answer allowed, so the run moves on
            # instead of looping to max_turns.
            earlier = response
            response, step = await _ask_step(
                ask,
                "\n\n".join(filter(None, [system_instructions, tool_instructions({})])),
                _answer_only_schema(answer_schema),
                messages,
                {},
                answer_schema,
            )
            response.usage.add(earlier.usage)
        answer = ModelResponse(
            output=[_to_output_item(step, response, answer_schema)],
            usage=response.usage,
            response_id=response.response_id,
        )
        return with_note(answer, "tool_emulation")

    @staticmethod
    async def _prose_again(
        ask: Ask,
        instructions: str | None,
        input: str | list[TResponseInputItem],
        first: ModelResponse,
    ) -> ModelResponse:
        """A plain answer that came back as a step object: asked once more for words."""
        messages, _ = as_plain_messages(input)
        retry = await ask(instructions, None, [*messages, {"role": "user", "content": PROSE_NOTE}])
        retry.usage.add(first.usage)
        if looks_like_step(_response_text(retry)):
            raise MalformedToolStepError(
                "The model answered with a tool-call object instead of words twice; "
                "that is no answer to show."
            )
        return retry

    async def stream(self, call: ModelCall) -> AsyncIterator[TResponseStreamEvent]:
        """Plain chat streams from the server token by token; a call with tools or an
        output schema is answered whole (it must be parsed and validated first)."""
        if not _tool_specs(call.tools, call.handoffs) and (
            call.output_schema is None or call.output_schema.is_plain_text()
        ):
            settings = _greedy(call.model_settings)
            plain = _plain_call(call, call.system_instructions, call.input, settings)
            async for event in plain.stream_from(self.inner):
                yield event
            return
        response = await self.respond(call)
        async for event in as_stream(response, EMULATED_STREAM_MODEL):
            yield event


def _greedy(settings: ModelSettings) -> ModelSettings:
    """Temperature 0 unless the agent set one."""
    if settings.temperature is None:
        return replace(settings, temperature=0.0)
    return settings


def _plain_call(
    call: ModelCall,
    instructions: str | None,
    messages: str | list[TResponseInputItem],
    settings: ModelSettings,
) -> ModelCall:
    """A request to the inner model without tools, schema, handoffs or provider-side state:
    all of those are in the instructions and messages."""
    return ModelCall(
        instructions, messages, settings, [], None, [], call.tracing, prompt=call.prompt
    )


def _argument_problem(
    step: tuple[str, Any] | None, specs: dict[str, tuple[str, dict[str, Any]]]
) -> str | None:
    """What is wrong with a tool call's arguments, in one phrase, or None."""
    if step is None or step[0] not in specs:
        return None
    errors = sorted(Draft202012Validator(specs[step[0]][1]).iter_errors(step[1]), key=str)
    if not errors:
        return None
    where = "/".join(str(p) for p in errors[0].absolute_path)
    return f"{where + ': ' if where else ''}{errors[0].message}"


def _repaired(
    step: tuple[str, Any], specs: dict[str, tuple[str, dict[str, Any]]]
) -> tuple[str, Any] | None:
    """The obvious fixes a small model needs most: numbers and booleans sent as strings,
    properties the tool does not take. None when those do not make the call valid."""
    name, arguments = step
    schema = specs[name][1]
    if not isinstance(arguments, dict):
        return None
    properties: dict[str, Any] = schema.get("properties", {})
    fixed: dict[str, Any] = {}
    for key, value in arguments.items():
        if key not in properties:
            continue
        fixed[key] = _coerced(value, properties[key].get("type"))
    if _argument_problem((name, fixed), specs) is not None:
        return None
    return name, fixed


def _coerced(value: Any, kind: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _answer_only_schema(answer_schema: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": [FINAL_ANSWER]},
            "answer": answer_schema or {"type": "string"},
        },
        "required": ["action", "answer"],
    }


def _response_text(response: ModelResponse) -> str:
    parts: list[str] = []
    for item in response.output:
        if isinstance(item, ResponseOutputMessage):
            parts.extend(c.text for c in item.content if isinstance(c, ResponseOutputText))
    return "".join(parts)


def looks_like_step(text: str) -> bool:
    """Whether `text` starts like a step object (`{"action": ...`), not like words."""
    return _STEP_START.match(text) is not None


def _parse_step(response: ModelResponse) -> tuple[str, Any] | None:
    """(action, arguments-or-answer), or None when the text is not a step object."""
    try:
        data = json.loads(_response_text(response))
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("action"), str):
        return None
    if data["action"] == FINAL_ANSWER:
        return FINAL_ANSWER, data.get("answer", "")
    return data["action"], data.get("arguments") or {}


def _usable_step(
    response: ModelResponse,
    specs: dict[str, tuple[str, dict[str, Any]]],
    answer_schema: dict[str, Any] | None,
) -> tuple[str, Any] | None:
    """The reply's step when it is one: a complete object, an action the call offered,
    and (for a plain answer) words rather than another step object."""
    step = _parse_step(response)
    if step is None or (step[0] != FINAL_ANSWER and step[0] not in specs):
        return None
    answer = step[1]
    if step[0] == FINAL_ANSWER and answer_schema is None:
        if not isinstance(answer, str | None) or looks_like_step(answer or ""):
            return None
    return step


async def _ask_step(
    ask: Ask,
    instructions: str | None,
    schema: dict[str, Any],
    messages: list[TResponseInputItem],
    specs: dict[str, tuple[str, dict[str, Any]]],
    answer_schema: dict[str, Any] | None,
) -> tuple[ModelResponse, tuple[str, Any]]:
    """Ask for one step; a reply that is none is asked for once more (its text is left
    out: cut-off text would only be continued), then fails the call."""
    response = await ask(instructions, schema, messages)
    step = _usable_step(response, specs, answer_schema)
    if step is not None:
        return response, step
    retry = await ask(instructions, schema, [*messages, {"role": "user", "content": GARBLED_NOTE}])
    retry.usage.add(response.usage)
    step = _usable_step(retry, specs, answer_schema)
    if step is None:
        raise MalformedToolStepError(
            "The model sent a cut-off or garbled reply twice instead of one complete step "
            "of the tool-call schema; that is no answer to show."
        )
    return retry, step


def _to_output_item(
    step: tuple[str, Any], response: ModelResponse, answer_schema: dict[str, Any] | None
) -> ResponseOutputMessage | ResponseFunctionToolCall:
    action, payload = step
    if action == FINAL_ANSWER:
        if answer_schema is not None or not isinstance(payload, str):
            return _message(json.dumps(payload))
        return _message(payload)
    return ResponseFunctionToolCall(
        id=f"fc_{uuid.uuid4().hex}",
        call_id=f"call_{uuid.uuid4().hex}",
        name=action,
        arguments=json.dumps(payload),
        type="function_call",
        status="completed",
    )
