"""The database behind the knowledge-base, task and memory tools: SQLite (WAL) by
default, PostgreSQL when HYBRIDAGENT_DATABASE_URL names one.

Synchronous SQLAlchemy Core; activities call it in a thread. Every write is one
transaction, so a failed ingest or a retried activity leaves no half-written rows.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, create_engine, event, text
from sqlalchemy.engine import make_url

from hybridagent.storage.ingest import chunk_text
from hybridagent.storage.migrations import migrate
from hybridagent.storage.models import (
    ChatMessage,
    Document,
    DocumentInfo,
    Memory,
    SearchHit,
    SearchResults,
    Task,
    TaskStatus,
)

DEFAULT_FILE = "hybridagent.db"
_WORD = re.compile(r"\w+", re.UNICODE)


class NotFoundError(LookupError):
    """A document or task id that does not exist (for this user); a model or user mistake."""


def database_url(database_url: str | None, state_dir: Path) -> str:
    """The configured URL, or a SQLite file under the state dir. A bare postgresql://
    URL gets psycopg 3 as its driver (SQLAlchemy would pick psycopg2)."""
    if not database_url:
        return f"sqlite:///{state_dir / DEFAULT_FILE}"
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver so SQLAlchemy's BEGIN (below) covers DDL too.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit survives a
    # crash of the process, and may be lost (never corrupted) on a power cut. FULL's
    # fsync per commit was ~1 ms of every model call (the usage ledger's row).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE: take the write lock up front, so two writers wait (busy_timeout) instead
    # of one failing when it upgrades a read lock.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Storage:
    """One database: migrations on open, then the queries the tools need."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @classmethod
    def open(cls, url: str) -> Storage:
        """Connect and migrate; a SQLite file's directory is created."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url)
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        storage = cls(engine)
        with storage.transaction() as conn:
            migrate(conn)
        return storage

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # Knowledge base

    def add_document(self, title: str, source: str, content: str) -> DocumentInfo:
        return self.add_documents([(title, source, content)])[0]

    def add_documents(self, documents: Sequence[tuple[str, str, str]]) -> list[DocumentInfo]:
        """Store (title, source, content) documents and their chunks in one transaction:
        all or none. The id is a hash of the content, so adding the same text again
        replaces it instead of duplicating it."""
        added: list[DocumentInfo] = []
        with self.transaction() as conn:
            for title, source, content in documents:
                added.append(self._add_document(conn, title, source, content))
        return added

    def _add_document(
        self, conn: Connection, title: str, source: str, content: str
    ) -> DocumentInfo:
        doc_id = "doc-" + hashlib.sha256(content.encode()).hexdigest()[:12]
        chunks = chunk_text(content)
        conn.execute(text("DELETE FROM documents WHERE id = :id"), {"id": doc_id})
        conn.execute(
            text(
                "INSERT INTO documents (id, title, source, content, created_at) "
                "VALUES (:id, :title, :source, :content, :at)"
            ),
            {"id": doc_id, "title": title, "source": source, "content": content, "at": now()},
        )
        if chunks:
            conn.execute(
                text("INSERT INTO chunks (document_id, ordinal, text) VALUES (:doc, :i, :text)"),
                [{"doc": doc_id, "i": i, "text": c} for i, c in enumerate(chunks)],
            )
        return DocumentInfo(id=doc_id, title=title, source=source, chunks=len(chunks))

    def list_documents(self) -> list[DocumentInfo]:
        with self.transaction() as conn:
            rows = conn.execute(
                text(
                    "SELECT d.id, d.title, d.source, COUNT(c.id) AS chunks FROM documents d "
                    "LEFT JOIN chunks c ON c.document_id = d.id "
                    "GROUP BY d.id, d.title, d.source, d.created_at ORDER BY d.created_at, d.id"
                )
            ).mappings()
            return [DocumentInfo.model_validate(dict(row)) for row in rows]

    def get_document(self, document_id: str) -> Document:
        with self.transaction() as conn:
            row = (
                conn.execute(
                    text("SELECT id, title, source, content FROM documents WHERE id = :id"),
                    {"id": document_id.strip()},
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"There is no document {document_id!r} in the knowledge base.")
        return Document.model_validate(dict(row))

    def search(self, query: str, limit: int = 5) -> SearchResults:
        """Chunks matching any word of the query, best first (BM25 on SQLite, ts_rank on
        PostgreSQL). Words only: a model's query is never parsed as query syntax."""
        words = _WORD.findall(query)
        limit = max(1, min(limit, 20))
        if not words:
            return SearchResults(query=query, hits=[])
        if self.dialect == "sqlite":
            sql = (
                "SELECT c.document_id, d.title, c.ordinal AS chunk, c.text FROM chunks_fts f "
                "JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.document_id "
                "WHERE chunks_fts MATCH :q ORDER BY bm25(chunks_fts), c.id LIMIT :n"
            )
            q = " OR ".join('"' + w.replace('"', "") + '"' for w in words)
        else:
            sql = (
                "SELECT c.document_id, d.title, c.ordinal AS chunk, c.text FROM chunks c "
                "JOIN documents d ON d.id = c.document_id, "
                "websearch_to_tsquery('english', :q) AS q WHERE c.tsv @@ q "
                "ORDER BY ts_rank(c.tsv, q) DESC, c.id LIMIT :n"
            )
            q = " or ".join(words)
        with self.transaction() as conn:
            rows = conn.execute(text(sql), {"q": q, "n": limit}).mappings()
            hits = [SearchHit.model_validate(dict(row)) for row in rows]
        return SearchResults(query=query, hits=hits)

    # Tasks

    def create_task(self, user: str, task_id: str, title: str, notes: str, due: str | None) -> Task:
        """Insert, or return the task already stored under this id: a retried activity
        (same id from workflow code) creates one task, not two."""
        at = now()
        with self.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO tasks (id, user_id, title, notes, status, due, created_at, "
                    "updated_at) VALUES (:id, :user, :title, :notes, 'open', :due, :at, :at) "
                    "ON CONFLICT (id) DO NOTHING"
                ),
                {"id": task_id, "user": user, "title": title, "notes": notes, "due": due, "at": at},
            )
            return self._task(conn, user, task_id)

    def update_task(
        self,
        user: str,
        task_id: str,
        *,
        title: str | None = None,
        notes: str | None = None,
        due: str | None = None,
        status: TaskStatus | None = None,
    ) -> Task:
        """Set the given fields (None leaves one as it is); repeating it changes nothing."""
        changes = {
            k: v
            for k, v in {"title": title, "notes": notes, "due": due, "status": status}.items()
            if v is not None
        }
        with self.transaction() as conn:
            current = self._task(conn, user, task_id)
            if changes:
                assignments = ", ".join(f"{column} = :{column}" for column in changes)
                conn.execute(
                    text(
                        f"UPDATE tasks SET {assignments}, updated_at = :at "
                        "WHERE id = :id AND user_id = :user"
                    ),
                    {**changes, "at": now(), "id": current.id, "user": user},
                )
            return self._task(conn, user, task_id)

    def list_tasks(self, user: str, status: TaskStatus | None = None) -> list[Task]:
        sql = "SELECT * FROM tasks WHERE user_id = :user"
        if status is not None:
            sql += " AND status = :status"
        sql += " ORDER BY status DESC, due IS NULL, due, created_at, id"
        with self.transaction() as conn:
            rows = conn.execute(text(sql), {"user": user, "status": status}).mappings()
            return [_task(row) for row in rows]

    def _task(self, conn: Connection, user: str, task_id: str) -> Task:
        row = (
            conn.execute(
                text("SELECT * FROM tasks WHERE id = :id AND user_id = :user"),
                {"id": task_id.strip(), "user": user},
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFoundError(f"There is no task {task_id!r} for user {user!r}.")
        return _task(row)

    # Memories

    def remember(self, user: str, memory_id: str, memory: str) -> Memory:
        """Insert once per id: a retried activity stores the memory once."""
        with self.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO memories (id, user_id, text, created_at) "
                    "VALUES (:id, :user, :text, :at) ON CONFLICT (id) DO NOTHING"
                ),
                {"id": memory_id, "user": user, "text": memory, "at": now()},
            )
            row = (
                conn.execute(
                    text("SELECT * FROM memories WHERE id = :id AND user_id = :user"),
                    {"id": memory_id, "user": user},
                )
                .mappings()
                .one()
            )
            return _memory(row)

    def recall(self, user: str, query: str, limit: int = 10) -> list[Memory]:
        """The user's memories containing any word of the query (all of them when the
        query has no words), newest first."""
        words = [w.lower() for w in _WORD.findall(query)]
        params: dict[str, Any] = {"user": user, "n": max(1, min(limit, 50))}
        sql = "SELECT * FROM memories WHERE user_id = :user"
        if words:
            clauses = []
            for i, word in enumerate(words):
                params[f"w{i}"] = f"%{word}%"
                clauses.append(f"LOWER(text) LIKE :w{i}")
            sql += " AND (" + " OR ".join(clauses) + ")"
        sql += " ORDER BY created_at DESC, id LIMIT :n"
        with self.transaction() as conn:
            return [_memory(row) for row in conn.execute(text(sql), params).mappings()]

    # Chat transcripts

    def save_chat_messages(
        self, session_id: str, first_seq: int, messages: Sequence[ChatMessage]
    ) -> int:
        """Store messages numbered from `first_seq`; a number already stored is kept as
        it is, so a retried or repeated save writes nothing twice. The count stored."""
        rows = [
            {
                "session": session_id, "seq": first_seq + offset, "role": m.role,
                "content": m.content, "agent": m.agent, "models": json.dumps(m.models),
                "at": now(),
            }
            for offset, m in enumerate(messages)
        ]  # fmt: skip
        if not rows:
            return 0
        with self.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO chat_messages "
                    "(session_id, seq, role, content, agent, models, created_at) "
                    "VALUES (:session, :seq, :role, :content, :agent, :models, :at) "
                    "ON CONFLICT (session_id, seq) DO NOTHING"
                ),
                rows,
            )
        return len(rows)

    def chat_messages(self, session_id: str) -> list[tuple[int, ChatMessage]]:
        """The session's stored messages with their numbers, in order."""
        with self.transaction() as conn:
            rows = conn.execute(
                text(
                    "SELECT seq, role, content, agent, models FROM chat_messages "
                    "WHERE session_id = :session ORDER BY seq"
                ),
                {"session": session_id},
            ).mappings()
            stored = []
            for row in rows:
                message = ChatMessage(
                    role=row["role"],
                    content=row["content"],
                    agent=row["agent"],
                    models=json.loads(row["models"]),
                )
                stored.append((int(row["seq"]), message))
            return stored


def _task(row: RowMapping) -> Task:
    values = dict(row)
    values["user"] = values.pop("user_id")
    return Task.model_validate(values)


def _memory(row: RowMapping) -> Memory:
    values = dict(row)
    values["user"] = values.pop("user_id")
    return Memory.model_validate(values)


def open_storage(url: str | None, state_dir: Path) -> Storage:
    return Storage.open(database_url(url, state_dir))


__all__: Sequence[str] = ("NotFoundError", "Storage", "database_url", "open_storage")
