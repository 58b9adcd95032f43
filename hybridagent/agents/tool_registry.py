"""The tool registry: tool name -> factory of an Agents SDK tool that runs as an activity.

Specs name tools; the workflow builds them from here. A name that is not registered is
a user mistake, told in one sentence with the known names.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from agents import Tool
from temporalio.common import RetryPolicy
from temporalio.openai_agents.workflow import activity_as_tool

from hybridagent.activities.weather import get_weather
from hybridagent.agents.storage_tools import STORAGE_TOOLS
from hybridagent.agents.tool_names import check_tools

ToolFactory = Callable[[], Tool]

TOOL_FACTORIES: dict[str, ToolFactory] = {
    "get_weather": lambda: activity_as_tool(
        get_weather,
        start_to_close_timeout=timedelta(seconds=10),
        retry_policy=RetryPolicy(maximum_attempts=3),
    ),
    **STORAGE_TOOLS,
}

__all__ = ["TOOL_FACTORIES", "build_tools", "check_tools"]


def build_tools(names: list[str]) -> list[Tool]:
    check_tools(names, TOOL_FACTORIES)
    return [TOOL_FACTORIES[n]() for n in names]
