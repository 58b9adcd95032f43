"""Workflow inputs and outputs: small pydantic models that serialise to plain JSON, so the
Temporal CLI can start runs and the Web UI shows them readably.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from temporalio.exceptions import ApplicationError

from hybridagent.agents.spec import AgentSpec
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


class AgentRunInput(BaseModel):
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


class HaikuInput(BaseModel):
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


def parse_input(model: type[T], raw: Any, workflow_name: str) -> T:
    """Validate a workflow's raw JSON input; a bad one fails the run with one sentence.

    Workflows take the raw value (a bare string is the prompt) instead of letting the
    data converter decode it: a decoding failure would retry the workflow task forever.
    """
    if isinstance(raw, model):
        return raw
    if isinstance(raw, str):
        raw = {"prompt": raw}
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "input"
        raise ApplicationError(
            f"{workflow_name} input is invalid: {where}: {first['msg']}.",
            type="InvalidWorkflowInput",
            non_retryable=True,
        ) from None
