"""An agent as plain data: what a workflow input, a file or the CLI can carry."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hybridagent.routing.preferences import RoutingPreferences


class AgentSpec(BaseModel):
    name: str = Field(min_length=1)
    instructions: str = "You are a helpful assistant."
    model: str | None = None
    tools: list[str] = Field(default_factory=list)
    # How this agent's calls are routed, below a request's own preferences.
    routing: RoutingPreferences | None = None


class UnknownAgentError(ValueError):
    """An agent or tool name that is not in the catalog; a user mistake."""
