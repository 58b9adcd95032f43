"""An agent as plain data: what a workflow input, a file or the CLI can carry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hybridagent.errors import UserMistake
from hybridagent.routing.preferences import RoutingPreferences

# File names and CLI arguments: letters, digits, '-' and '_', starting with a letter.
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
DEFAULT_INSTRUCTIONS = "You are a helpful assistant."


class AgentSpec(BaseModel):
    """Name, instructions, model or routing preferences, tools, handoffs, output schema."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    # Required in files and by the CLI; an inline spec may leave it to this default.
    instructions: str = Field(DEFAULT_INSTRUCTIONS, min_length=1)
    # What a handing-off agent sees about this one.
    description: str = ""
    model: str | None = None
    tools: list[str] = Field(default_factory=list)
    # Names of other agents (built-in or user-defined) this one may hand off to.
    handoffs: list[str] = Field(default_factory=list)
    # A JSON schema (object at the root): the run's final output is a validated object.
    output_schema: dict[str, Any] | None = None
    # How this agent's calls are routed, below a request's own preferences.
    routing: RoutingPreferences | None = None

    @field_validator("instructions")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("output_schema")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """Checked here so a bad schema fails where it was written, not mid-run."""
        if value is None:
            return None
        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as err:
            raise ValueError(f"not a valid JSON schema: {err.message}") from None
        if value.get("type") != "object":
            raise ValueError('the schema\'s root must be {"type": "object", ...}')
        return value


class ResolvedAgent(BaseModel):
    """An agent spec with every agent it can hand off to, directly or not: what the
    resolve activity records in history so the workflow builds the agents from it."""

    spec: AgentSpec
    handoffs: list[AgentSpec] = Field(default_factory=list)


def with_handoffs(spec: AgentSpec, load: Callable[[str], AgentSpec | None]) -> ResolvedAgent | None:
    """`spec` with every agent reachable through its handoffs, each found by `load`;
    None as soon as `load` finds one missing."""
    found: dict[str, AgentSpec] = {}
    pending = list(spec.handoffs)
    while pending:
        name = pending.pop(0)
        if name in found or name == spec.name:
            continue
        other = load(name)
        if other is None:
            return None
        found[name] = other
        pending += other.handoffs
    return ResolvedAgent(spec=spec, handoffs=list(found.values()))


class UnknownAgentError(UserMistake, ValueError):
    """An agent name that is not in the catalog; a user mistake."""


class UnknownToolError(UnknownAgentError):
    """A tool name that is not registered; a user mistake. An unknown-agent subclass so
    that every place that tells the user about a bad agent name tells this one too."""


class InvalidAgentSpecError(UserMistake, ValueError):
    """An agent spec file or option hybridagent cannot use; a user mistake."""
