"""Turns an AgentSpec into an Agents SDK Agent whose tools run as Temporal activities.

Runs inside workflow code: only deterministic work here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from agents import Agent, Tool
from temporalio.common import RetryPolicy
from temporalio.openai_agents.workflow import activity_as_tool

from hybridagent.activities.weather import get_weather
from hybridagent.agents.spec import AgentSpec, UnknownAgentError

TOOL_FACTORIES: dict[str, Callable[[], Tool]] = {
    "get_weather": lambda: activity_as_tool(
        get_weather,
        start_to_close_timeout=timedelta(seconds=10),
        retry_policy=RetryPolicy(maximum_attempts=3),
    ),
}


def build_tools(names: list[str]) -> list[Tool]:
    unknown = [n for n in names if n not in TOOL_FACTORIES]
    if unknown:
        raise UnknownAgentError(
            f"Unknown tool {unknown[0]!r}; available tools are: {', '.join(TOOL_FACTORIES)}."
        )
    return [TOOL_FACTORIES[n]() for n in names]


def build_agent(spec: AgentSpec, model: str) -> Agent[Any]:
    return Agent(
        name=spec.name,
        instructions=spec.instructions,
        model=model,
        tools=build_tools(spec.tools),
    )
