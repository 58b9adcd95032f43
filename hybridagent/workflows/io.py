"""Workflow inputs and outputs: small pydantic models that serialise to plain JSON, so the
Temporal CLI can start runs and the Web UI shows them readably.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.exceptions import ApplicationError

from hybridagent.agents.spec import AgentSpec
from hybridagent.failures import INVALID_WORKFLOW_INPUT
from hybridagent.routing.preferences import RoutingPreferences

__all__ = ["RoutingPreferences"]  # re-exported: part of the workflow input


class RoutingRecord(BaseModel):
    """One model call's routing decision, as the `routing_trail` query returns it."""

    call: int
    agent: str
    model: str | None
    local_only: bool
    reasons: list[str]
    rejected: dict[str, str]
    finding_types: list[str]
    complexity: float
    complexity_factors: dict[str, float] = Field(default_factory=dict)
    input_tokens: int = 0
    tokens_used: int = 0
    # Set on a fallback: the model whose call failed, and the failure's type.
    fallback_from: str | None = None
    failure: str | None = None
    # False when the worker offers no cloud model: the call was local for want of one.
    cloud_configured: bool = True


# Workflow inputs refuse unknown fields: a misspelt option is a mistake to report, not
# to ignore (`{"prompt": "hi", "modle": "…"}` would otherwise run on the default model).
STRICT = ConfigDict(extra="forbid")


class AgentRunInput(BaseModel):
    model_config = STRICT

    prompt: str = Field(min_length=1)
    agent: str | None = None
    spec: AgentSpec | None = None
    model: str | None = None
    max_turns: int = Field(10, ge=1, le=100)
    routing: RoutingPreferences | None = None
    # Whose tasks and memories the tools use (the knowledge base is shared by all).
    user: str = Field("default", min_length=1, max_length=200)
    # A named model that cannot take a call fails the run instead of being replaced.
    strict: bool = False
    # Model calls publish their events (text deltas) on the workflow's stream while they
    # run, for `GET /v1/runs/{id}/events`; needs a worker on regular activities. Off by
    # default, so starts that do not read the stream keep their histories.
    stream: bool = False


class HaikuInput(BaseModel):
    model_config = STRICT

    prompt: str = Field("What's the weather in Tokyo?", min_length=1)
    model: str | None = None


class TokenUsage(BaseModel):
    # HTTP requests to models; tool emulation may ask a model twice within one call.
    requests: int = 0
    # Model calls: one model activity each (a fallback is another call).
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


class AgentRunOutput(BaseModel):
    final_output: str
    # Set when the agent has an output schema: the validated object (final_output is
    # its JSON text).
    structured_output: dict[str, Any] | None = None
    agent: str
    models_used: list[str]
    usage: TokenUsage
    # Said to the user with the answer: a named model replaced, and why.
    notices: list[str] = Field(default_factory=list)


T = TypeVar("T", bound=BaseModel)

# A workflow's raw input (JSON: an object, a bare string as the prompt, or nothing),
# decoded by `parse_input` and never by the data converter: a value the converter cannot
# decode to the parameter's type (`5`, `[1]`) fails the workflow *task*, which Temporal
# retries forever, where `parse_input` fails the workflow at once with one sentence. The
# model each workflow parses it with is its real input type.
RawInput = Any


def parse_input(model: type[T], raw: Any, workflow_name: str, bare: str = "prompt") -> T:
    """Validate a workflow's raw JSON input; a bad one fails the run at once, not
    retried, with one sentence naming the field.

    Workflows take the raw value (a bare string is the `bare` field; no input is None)
    instead of letting the data converter decode it: a decoding failure, or a missing
    argument, would fail the workflow task and retry it forever.
    """
    if isinstance(raw, model):
        return raw
    if raw is None:
        required = [name for name, field in model.model_fields.items() if field.is_required()]
        if required:
            raise invalid_input(
                f"{workflow_name} was started with no input; it needs a JSON object with "
                + ", ".join(f'"{name}"' for name in required)
                + (f" (or the {bare} as a JSON string)" if bare in required else "")
                + "."
            )
        raw = {}
    if isinstance(raw, str):
        raw = {bare: raw}
    if not isinstance(raw, dict):
        raise invalid_input(
            f"{workflow_name} input must be a JSON object (or the {bare} as a JSON string), "
            f"not {_json_kind(raw)}."
        )
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise invalid_input(
            f"{workflow_name} input is invalid: {field_problem(err, model)}."
        ) from None


def field_problem(err: ValidationError, model: type[BaseModel]) -> str:
    """A validation error's first problem as `field: what is wrong`. An unknown field
    comes first, with the field it may be a typo of: `promt` also makes `prompt`
    missing, and the typo is the problem to fix."""
    errors = err.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    where = ".".join(str(part) for part in first["loc"]) or "input"
    if first["type"] == "extra_forbidden":
        close = get_close_matches(where, list(model.model_fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close and len(first["loc"]) == 1 else ""
        return f"{where}: is not a field of this input{hint}"
    if first["type"] == "missing":
        return f"{where}: is required"
    return f"{where}: {str(first['msg']).removeprefix('Value error, ')}"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def invalid_input(sentence: str) -> ApplicationError:
    return ApplicationError(sentence, type=INVALID_WORKFLOW_INPUT, non_retryable=True)
