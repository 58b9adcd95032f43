"""The names of the tools a spec may name, without the tools themselves.

The CLI checks spec files against these; building the tools (tool_registry.py) imports
the Agents SDK, which costs the CLI seconds at start-up. A unit test keeps the two lists
equal.
"""

from __future__ import annotations

from collections.abc import Container, Iterable

from hybridagent.agents.spec import UnknownToolError

TOOL_NAMES: tuple[str, ...] = (
    "get_weather",
    "search_knowledge_base",
    "retrieve_document",
    "list_tasks",
    "create_task",
    "update_task",
    "complete_task",
    "remember",
    "recall",
)


def check_tools(names: Iterable[str], known: Container[str] | None = None) -> None:
    """Raise UnknownToolError for the first name that is not a known tool."""
    tools = TOOL_NAMES if known is None else known
    listed = ", ".join(TOOL_NAMES)
    for name in names:
        if name not in tools:
            raise UnknownToolError(f"Unknown tool {name!r}; available tools are: {listed}.")
