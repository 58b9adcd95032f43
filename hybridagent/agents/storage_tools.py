"""The knowledge-base, task and memory tools, each a Temporal activity.

Runs in workflow code. The knowledge-base tools are plain `activity_as_tool` wrappers.
The task and memory tools are per user: the model sees only its own arguments (the
signatures below), and workflow code adds the run's user (from the run context, a
`ToolUser`), plus a fresh id from `workflow.uuid4()` where a retried activity must not
write twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from agents import FunctionTool, RunContextWrapper, Tool
from agents.function_schema import function_schema
from agents.tool_context import ToolContext
from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.openai_agents.workflow import activity_as_tool

from hybridagent.activities.storage import (
    DEFAULT_USER,
    CompleteTaskRequest,
    CreateTaskRequest,
    ListTasksRequest,
    RecallRequest,
    RememberRequest,
    StorageActivities,
    UpdateTaskRequest,
)
from hybridagent.failures import INVALID_TOOL_INPUT, NOT_FOUND


@dataclass(frozen=True)
class ToolUser:
    """The run context of an agent run (Runner.run's `context`): whose tasks and memories
    the tools read and write."""

    user: str = DEFAULT_USER


TOOL_TIMEOUT = timedelta(seconds=30)
TOOL_RETRY = RetryPolicy(maximum_attempts=3, non_retryable_error_types=[INVALID_TOOL_INPUT])


# The model's own mistakes: an id it made up, arguments the tool cannot take.
MODEL_MISTAKES = (NOT_FOUND, INVALID_TOOL_INPUT)


def _model_mistake(err: BaseException) -> str | None:
    """The sentence of a tool failure the model can correct, else None."""
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, ApplicationError) and cause.type in MODEL_MISTAKES:
        return cause.message
    return None


def told_to_the_model(tool: FunctionTool) -> FunctionTool:
    """`tool` answering the model's own mistakes with the error as its result, as the
    Agents SDK does for function tools: a small model that guessed a document id can
    search and try again, where failing the run would lose the whole answer. Anything
    else (the database down on every retry) still fails the run."""
    invoke: Callable[[ToolContext[Any], str], Awaitable[Any]] = tool.on_invoke_tool

    async def answered(ctx: ToolContext[Any], raw: str) -> Any:
        try:
            return await invoke(ctx, raw)
        except (ActivityError, ApplicationError) as err:
            mistake = _model_mistake(err)
            if mistake is None:
                raise
            return f"Error: {mistake}"

    return dataclasses.replace(tool, on_invoke_tool=answered)


def _kb_tool(fn: Callable[..., Any]) -> Tool:
    tool = activity_as_tool(fn, start_to_close_timeout=TOOL_TIMEOUT, retry_policy=TOOL_RETRY)
    assert isinstance(tool, FunctionTool)
    return told_to_the_model(tool)


# The model-facing signatures of the per-user tools: names, arguments and docstrings
# become the tool schemas. They are never called.


async def list_tasks(status: str) -> str:
    """List the user's tasks.

    Args:
        status: open, done or all.
    """
    raise NotImplementedError


async def create_task(title: str, notes: str, due: str) -> str:
    """Create a task for the user.

    Args:
        title: What has to be done.
        notes: Details, or an empty string.
        due: Due date as YYYY-MM-DD, or an empty string.
    """
    raise NotImplementedError


async def update_task(task_id: str, title: str, notes: str, due: str, status: str) -> str:
    """Change a task; an empty string leaves that field as it is.

    Args:
        task_id: The task's id.
        title: New title.
        notes: New notes.
        due: New due date as YYYY-MM-DD.
        status: open or done.
    """
    raise NotImplementedError


async def complete_task(task_id: str) -> str:
    """Mark a task as done.

    Args:
        task_id: The task's id.
    """
    raise NotImplementedError


async def remember(text: str) -> str:
    """Remember a fact about the user for later conversations.

    Args:
        text: The fact, in one sentence.
    """
    raise NotImplementedError


async def recall(query: str) -> str:
    """Recall what is remembered about the user.

    Args:
        query: Words to look for; an empty string recalls everything.
    """
    raise NotImplementedError


def _new_id() -> str:
    return str(workflow.uuid4())


# tool signature -> (activity, request from the model's arguments and the user)
_UserTool = tuple[Callable[..., Any], Callable[..., Any], Callable[..., BaseModel]]


def _user_tool(
    tool: Callable[..., Any],
    activity: Callable[..., Any],
    request: type[BaseModel],
    new_id: str | None = None,
) -> _UserTool:
    """`new_id`: the request field a fresh ID goes in (what the tool creates)."""

    def make(args: dict[str, Any], user: str) -> BaseModel:
        return request(user=user, **({new_id: _new_id()} if new_id else {}), **args)

    return tool, activity, make


_USER_TOOLS: dict[str, _UserTool] = {
    "list_tasks": _user_tool(list_tasks, StorageActivities.list_tasks, ListTasksRequest),
    "create_task": _user_tool(
        create_task, StorageActivities.create_task, CreateTaskRequest, "task_id"
    ),
    "update_task": _user_tool(update_task, StorageActivities.update_task, UpdateTaskRequest),
    "complete_task": _user_tool(
        complete_task, StorageActivities.complete_task, CompleteTaskRequest
    ),
    "remember": _user_tool(remember, StorageActivities.remember, RememberRequest, "memory_id"),
    "recall": _user_tool(recall, StorageActivities.recall, RecallRequest),
}


def user_tool(name: str) -> Tool:
    """The per-user tool `name`: the model's arguments plus the run's user (and an id made
    here, in workflow code) go to the activity as one request."""
    signature, activity_method, make_request = _USER_TOOLS[name]
    schema = function_schema(signature)

    async def invoke(ctx: RunContextWrapper[Any], raw: str) -> str:
        user = ctx.context.user if isinstance(ctx.context, ToolUser) else DEFAULT_USER
        try:
            args = schema.params_pydantic_model.model_validate_json(raw or "{}").model_dump()
        except ValidationError as err:
            raise ApplicationError(
                f"The model called {name} with invalid arguments: {err.errors()[0]['msg']}.",
                type=INVALID_TOOL_INPUT,
                non_retryable=True,
            ) from None
        result = await workflow.execute_activity_method(
            activity_method,
            make_request(args, user),
            start_to_close_timeout=TOOL_TIMEOUT,
            retry_policy=TOOL_RETRY,
            summary=f"{name} · {user}",
        )
        return str(result)

    return told_to_the_model(
        FunctionTool(
            name=schema.name,
            description=schema.description or "",
            params_json_schema=schema.params_json_schema,
            on_invoke_tool=invoke,
            strict_json_schema=True,
        )
    )


def _user_tool_factory(name: str) -> Callable[[], Tool]:
    return lambda: user_tool(name)


STORAGE_TOOLS: dict[str, Callable[[], Tool]] = {
    "search_knowledge_base": lambda: _kb_tool(StorageActivities.search_knowledge_base),
    "retrieve_document": lambda: _kb_tool(StorageActivities.retrieve_document),
    **{name: _user_tool_factory(name) for name in _USER_TOOLS},
}
