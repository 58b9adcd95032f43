"""Turns an AgentSpec into an Agents SDK Agent whose tools run as Temporal activities.

Runs inside workflow code: only deterministic work here.
"""

from __future__ import annotations

from typing import Any

from agents import Agent

from hybridagent.agents.output import JsonSchemaOutput
from hybridagent.agents.spec import AgentSpec, UnknownAgentError
from hybridagent.agents.tool_registry import TOOL_FACTORIES, build_tools

__all__ = ["TOOL_FACTORIES", "build_agent", "build_tools"]


def build_agent(spec: AgentSpec, model: str, handoffs: list[AgentSpec] | None = None) -> Agent[Any]:
    """`handoffs` holds the spec of every agent reachable through handoffs (the
    ResolvedAgent's list); the handoff graph is a tree of Agent objects, built here."""
    known = {s.name: s for s in handoffs or []}
    return _build(spec, model, known, ())


def _build(
    spec: AgentSpec, model: str, known: dict[str, AgentSpec], path: tuple[str, ...]
) -> Agent[Any]:
    if spec.name in path:
        raise UnknownAgentError(
            f"Agent {spec.name!r} hands off to itself through {' -> '.join(path)}; "
            "handoffs must not form a cycle."
        )
    children = []
    for name in spec.handoffs:
        if name not in known:
            raise UnknownAgentError(f"Agent {spec.name!r} hands off to unknown agent {name!r}.")
        children.append(_build(known[name], model, known, (*path, spec.name)))
    return Agent(
        name=spec.name,
        instructions=spec.instructions,
        handoff_description=spec.description or None,
        model=model,
        tools=build_tools(spec.tools),
        handoffs=list(children),
        output_type=(
            JsonSchemaOutput(f"{spec.name}_output", spec.output_schema)
            if spec.output_schema
            else None
        ),
    )
