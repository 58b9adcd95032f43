"""What storage returns: small pydantic models that serialise to plain JSON for activity
results, and read well as tool output (`str()` is what the model sees)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TaskStatus = Literal["open", "done"]


class DocumentInfo(BaseModel):
    id: str
    title: str
    source: str
    chunks: int


class Document(BaseModel):
    id: str
    title: str
    source: str
    content: str

    def __str__(self) -> str:
        return f"# {self.title} ({self.id})\n\n{self.content}"


class SearchHit(BaseModel):
    document_id: str
    title: str
    chunk: int
    text: str


class SearchResults(BaseModel):
    query: str
    hits: list[SearchHit]

    def __str__(self) -> str:
        if not self.hits:
            return f"No knowledge-base passage matches {self.query!r}."
        return "\n\n".join(
            f"[{hit.document_id} · {hit.title} · part {hit.chunk}]\n{hit.text}" for hit in self.hits
        )


class Task(BaseModel):
    id: str
    user: str
    title: str
    notes: str
    status: TaskStatus
    due: str | None
    created_at: str
    updated_at: str

    def __str__(self) -> str:
        due = f", due {self.due}" if self.due else ""
        notes = f" — {self.notes}" if self.notes else ""
        return f"[{self.status}] {self.title} (id {self.id}{due}){notes}"


class TaskList(BaseModel):
    tasks: list[Task]

    def __str__(self) -> str:
        return "\n".join(str(task) for task in self.tasks) or "No tasks."


class Memory(BaseModel):
    id: str
    user: str
    text: str
    created_at: str

    def __str__(self) -> str:
        return self.text


class MemoryList(BaseModel):
    memories: list[Memory]

    def __str__(self) -> str:
        return "\n".join(f"- {m.text}" for m in self.memories) or "Nothing remembered yet."


class ChatMessage(BaseModel):
    """One message of a chat session, as the session holds it and the database keeps it."""

    role: Literal["user", "assistant"]
    content: str
    agent: str | None = None  # who answered (assistant messages)
    models: list[str] = Field(default_factory=list)
