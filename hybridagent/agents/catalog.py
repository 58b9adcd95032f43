"""The built-in agents, by name."""

from __future__ import annotations

from hybridagent.agents.spec import AgentSpec, UnknownAgentError

DEFAULT_AGENT = "general"

BUILTIN_AGENTS: dict[str, AgentSpec] = {
    "general": AgentSpec(
        name="general",
        instructions="You are a helpful assistant. Answer clearly and concisely.",
    ),
    # The haiku assistant of the Temporal/Agents SDK model-providers sample.
    "haiku": AgentSpec(
        name="haiku",
        instructions="You only respond in haikus.",
        tools=["get_weather"],
    ),
}


def get_agent_spec(name: str | None) -> AgentSpec:
    key = (name or DEFAULT_AGENT).strip()
    try:
        return BUILTIN_AGENTS[key]
    except KeyError:
        raise UnknownAgentError(
            f"Unknown agent {key!r}; built-in agents are: {', '.join(BUILTIN_AGENTS)}."
        ) from None
