"""The knowledge-base, task and memory tools as Temporal activities.

The database work is synchronous (SQLAlchemy) and runs in a thread. Each activity is
idempotent: reads are reads, create_task and remember take an id made in workflow code
(so a retry finds the row it already wrote), updates set values rather than add to them.
A bad id or argument is a non-retryable ApplicationError with one sentence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from hybridagent.failures import INVALID_TOOL_INPUT, NOT_FOUND
from hybridagent.storage import NotFoundError, Storage
from hybridagent.storage.models import (
    ChatMessage,
    Memory,
    MemoryList,
    Task,
    TaskList,
    TaskStatus,
)

DEFAULT_USER = "default"
T = TypeVar("T")


class ListTasksRequest(BaseModel):
    user: str = DEFAULT_USER
    status: str = ""


class CreateTaskRequest(BaseModel):
    user: str = DEFAULT_USER
    task_id: str = Field(min_length=1)
    title: str
    notes: str = ""
    due: str = ""


class UpdateTaskRequest(BaseModel):
    user: str = DEFAULT_USER
    task_id: str
    title: str = ""
    notes: str = ""
    due: str = ""
    status: str = ""


class CompleteTaskRequest(BaseModel):
    user: str = DEFAULT_USER
    task_id: str


class RememberRequest(BaseModel):
    user: str = DEFAULT_USER
    memory_id: str = Field(min_length=1)
    text: str


class RecallRequest(BaseModel):
    user: str = DEFAULT_USER
    query: str = ""
    limit: int = 10


class SaveChatMessagesRequest(BaseModel):
    session_id: str = Field(min_length=1)
    first_seq: int = Field(ge=0)  # the number of the first message
    messages: list[ChatMessage]


def invalid(message: str) -> ApplicationError:
    return ApplicationError(message, type=INVALID_TOOL_INPUT, non_retryable=True)


def _status(value: str) -> TaskStatus | None:
    value = value.strip().lower()
    if value in ("", "all", "any"):
        return None
    if value in ("open", "done"):
        return "open" if value == "open" else "done"
    # The sentence goes back to the model and into the worker's log: it does not repeat
    # the model's argument (a tool argument is content, kept out of logs).
    raise invalid("Task status must be open, done or all.")


def _due(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise invalid("A due date must be YYYY-MM-DD, e.g. 2026-03-31.") from None


def _title(value: str) -> str:
    if not value.strip():
        raise invalid("A task needs a title.")
    return value.strip()


class StorageActivities:
    """Holds the worker's Storage; registered as bound activity methods.

    The two knowledge-base activities take the model's arguments as they are and return
    text (activity_as_tool passes them straight through); the per-user ones take a
    request with the user and ids that workflow code adds (agents/tools.py)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except NotFoundError as err:
            raise ApplicationError(str(err), type=NOT_FOUND, non_retryable=True) from None

    @activity.defn
    async def search_knowledge_base(self, query: str, limit: int) -> str:
        """Search the knowledge base for passages about the query; returns the best ones
        with their document ids."""
        return str(await self._run(self.storage.search, query, limit))

    @activity.defn
    async def retrieve_document(self, document_id: str) -> str:
        """Get the full text of one knowledge-base document by its id (doc-...)."""
        return str(await self._run(self.storage.get_document, document_id))

    @activity.defn
    async def list_tasks(self, request: ListTasksRequest) -> TaskList:
        status = _status(request.status)
        tasks = await self._run(self.storage.list_tasks, request.user, status)
        return TaskList(tasks=tasks)

    @activity.defn
    async def create_task(self, request: CreateTaskRequest) -> Task:
        title, due = _title(request.title), _due(request.due)
        return await self._run(
            self.storage.create_task,
            request.user,
            request.task_id,
            title,
            request.notes.strip(),
            due,
        )

    @activity.defn
    async def update_task(self, request: UpdateTaskRequest) -> Task:
        return await self._run(
            self.storage.update_task,
            request.user,
            request.task_id,
            title=request.title.strip() or None,
            notes=request.notes.strip() or None,
            due=_due(request.due),
            status=_status(request.status),
        )

    @activity.defn
    async def complete_task(self, request: CompleteTaskRequest) -> Task:
        return await self._run(
            self.storage.update_task, request.user, request.task_id, status="done"
        )

    @activity.defn
    async def remember(self, request: RememberRequest) -> Memory:
        if not request.text.strip():
            raise invalid("There is nothing to remember in an empty text.")
        return await self._run(
            self.storage.remember, request.user, request.memory_id, request.text.strip()
        )

    @activity.defn
    async def recall(self, request: RecallRequest) -> MemoryList:
        memories = await self._run(self.storage.recall, request.user, request.query, request.limit)
        return MemoryList(memories=memories)

    @activity.defn
    async def save_chat_messages(self, request: SaveChatMessagesRequest) -> int:
        """A chat session's new messages into its transcript; a repeat writes nothing."""
        return await self._run(
            self.storage.save_chat_messages,
            request.session_id,
            request.first_seq,
            request.messages,
        )

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.search_knowledge_base,
            self.retrieve_document,
            self.list_tasks,
            self.create_task,
            self.update_task,
            self.complete_task,
            self.remember,
            self.recall,
            self.save_chat_messages,
        ]
