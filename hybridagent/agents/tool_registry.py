"""The tool registry: tool name -> factory of an Agents SDK tool that runs as an activity.

Specs name tools; the workflow builds them from here. A name that is not registered is
a user mistake, told in one sentence with the known names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from agents import Tool
from temporalio.common import RetryPolicy
from temporalio.openai_agents.workflow import activity_as_tool

from hybridagent.activities.weather import get_weather
from hybridagent.agents.spec import UnknownAgentError
from hybridagent.agents.storage_tools import STORAGE_TOOLS

ToolFactory = Callable[[], Tool]

TOOL_FACTORIES: dict[str, ToolFactory] = {
    "get_weather": lambda: activity_as_tool(
        get_weather,
        start_to_close_timeout=timedelta(seconds=10),
        retry_policy=RetryPolicy(maximum_attempts=3),
    ),
    **STORAGE_TOOLS,
}

# Tools named by specs before this build registers them; each fails with its own
# sentence. Empty since the storage tools landed (agents/storage_tools.py).
PLANNED_TOOLS: tuple[str, ...] = ()


def check_tools(names: Iterable[str], registry: dict[str, ToolFactory] | None = None) -> None:
    """Raise UnknownAgentError for the first name the registry lacks."""
    tools = TOOL_FACTORIES if registry is None else registry
    for name in names:
        if name in tools:
            continue
        if name in PLANNED_TOOLS:
            raise UnknownAgentError(
                f"Tool {name!r} is not registered in this build yet; "
                f"available tools are: {', '.join(tools)}."
            )
        raise UnknownAgentError(f"Unknown tool {name!r}; available tools are: {', '.join(tools)}.")


def build_tools(names: list[str]) -> list[Tool]:
    check_tools(names)
    return [TOOL_FACTORIES[n]() for n in names]
