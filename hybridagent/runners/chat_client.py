"""The client side of a ChatSessionWorkflow: what `hybridagent chat` and `sessions` use.

A session is addressed by its workflow id; every call goes to the latest run, so a
session that continued as new is the same session. Streamed text is read from the
workflow's stream while the `send` Update runs.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.service import RPCError, RPCStatusCode

from hybridagent.config import Settings
from hybridagent.failures import application_error
from hybridagent.runners.pickup import no_worker_sentence, queue_view
from hybridagent.runners.run_errors import NoWorkerError
from hybridagent.runners.session_errors import SessionError
from hybridagent.security.codec import PayloadKeyError
from hybridagent.storage import open_storage
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.chat_session import (
    MODEL_EVENTS_TOPIC,
    ChatMessage,
    ChatReply,
    ChatSessionInput,
    SessionChange,
    SessionState,
    session_title,
)
from hybridagent.workflows.io import RoutingRecord

log = logging.getLogger(__name__)

WORKFLOW_TYPE = "ChatSessionWorkflow"
ID_PREFIX = "chat-"
POLL_COOLDOWN = timedelta(milliseconds=50)
# A live worker re-polls at least every minute (the server ends a long poll after ~60 s);
# a poller last seen longer ago than this has stopped.
STALE_POLLER_SECONDS = 75.0
# Temporal admits this many in-flight Updates per workflow; a message beyond them waits
# for a slot (tried again under the same Update ID) this long before the user is told.
MAX_IN_FLIGHT_UPDATES = 10
BUSY_WAIT_SECONDS = 60.0


class SessionBusyError(SessionError):
    """The session has as many messages in flight as Temporal admits, for too long."""


def update_failure(err: WorkflowUpdateFailedError) -> str:
    cause = application_error(err.cause)
    return str(err) if cause is None else cause.message


@dataclass
class Transcript:
    messages: list[ChatMessage]
    missing: int  # older messages in a database this process cannot read


def _stored_messages(settings: Settings, session_id: str) -> list[tuple[int, ChatMessage]]:
    try:
        storage = open_storage(settings.database_url, settings.state_dir)
    except SQLAlchemyError:
        return []  # Transcript.missing tells the user what could not be read
    try:
        return storage.chat_messages(session_id)
    finally:
        storage.close()


@dataclass
class SessionSummary:
    session_id: str
    status: str  # "open" or "ended" (or Temporal's word for a failed/terminated run)
    started: datetime
    agent: str
    messages: int
    title: str


class ChatSession:
    def __init__(
        self,
        client: Client,
        settings: Settings,
        session_id: str,
        *,
        busy_seconds: float = BUSY_WAIT_SECONDS,
    ) -> None:
        self.client = client
        self.busy_seconds = busy_seconds
        self.settings = settings
        self.session_id = session_id
        self.handle: WorkflowHandle[Any, SessionState] = client.get_workflow_handle(
            session_id, result_type=SessionState
        )

    @property
    def url(self) -> str:
        return self.settings.workflow_url(self.session_id)

    @classmethod
    async def start(cls, settings: Settings, request: ChatSessionInput) -> ChatSession:
        client = await connect(settings)
        session_id = f"{ID_PREFIX}{uuid.uuid4().hex[:10]}"
        await client.start_workflow(
            WORKFLOW_TYPE, request, id=session_id, task_queue=settings.task_queue,
            memo={"agent": request.agent, "messages": len(request.messages), "title": ""},
        )  # fmt: skip
        return cls(client, settings, session_id)

    @classmethod
    async def existing(cls, settings: Settings, session_id: str) -> ChatSession:
        """The session as it is (open or ended); SessionError if there is none."""
        session = cls(await connect(settings), settings, session_id)
        await session.status()
        return session

    @classmethod
    async def attach(cls, settings: Settings, session_id: str) -> ChatSession:
        """The session, running again with its conversation if it had ended."""
        session = await cls.existing(settings, session_id)
        if await session.status() == WorkflowExecutionStatus.RUNNING:
            return session
        ended = await session.handle.result()
        messages = await session.history()
        request = ChatSessionInput(
            agent=ended.agent, model=ended.model, messages=messages, stream=ended.streaming,
            first_seq=ended.first_seq, saved=ended.first_seq, private=ended.private,
            title=session_title(messages) if ended.first_seq == 0 else "",
        )  # fmt: skip
        await session.client.start_workflow(
            WORKFLOW_TYPE, request, id=session_id, task_queue=settings.task_queue,
            memo={
                "agent": ended.agent, "messages": len(messages), "title": session_title(messages)
            },
        )  # fmt: skip
        return session

    async def status(self) -> WorkflowExecutionStatus | None:
        try:
            return (await self.handle.describe()).status
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise SessionError(
                    f"There is no chat session {self.session_id!r}; "
                    "`hybridagent sessions list` shows them."
                ) from None
            raise

    async def state(self) -> SessionState:
        state: SessionState = await self._query("state", SessionState)
        return state

    async def history(self) -> list[ChatMessage]:
        await self.status()  # a missing session is one sentence, not a query error
        history: list[ChatMessage] = await self._query("history", list[ChatMessage])
        return history

    async def transcript(self) -> Transcript:
        """The whole conversation: the database's transcript (when this machine reaches
        the worker's database) completed by the messages the workflow holds."""
        state = await self.state()
        recent = await self.history()
        stored = await asyncio.to_thread(_stored_messages, self.settings, self.session_id)
        by_seq = dict(stored)
        by_seq.update({state.first_seq + n: message for n, message in enumerate(recent)})
        numbers = sorted(by_seq)
        missing = max(0, state.messages - len(numbers))
        return Transcript([by_seq[n] for n in numbers], missing)

    async def trail(self) -> list[RoutingRecord]:
        trail: list[RoutingRecord] = await self._query("routing_trail", list[RoutingRecord])
        return trail

    async def change(self, agent: str | None = None, model: str | None = None) -> SessionState:
        state: SessionState = await self._update("change", SessionChange(agent=agent, model=model))
        return state

    async def end(self) -> SessionState:
        state: SessionState = await self._update("end", None)
        return state

    async def send(self, text: str, on_text: Callable[[str], None] | None = None) -> ChatReply:
        """The reply; with `on_text`, the model's text as it streams (when it does).

        `on_text` gets the reply's text exactly once in total: streamed pieces first,
        and after the Update returns whatever the stream did not show (all of it for
        a model that does not stream, the rest if the stream fell behind).
        """
        shown: list[str] = []
        reader: asyncio.Task[None] | None = None
        if on_text is not None and (await self.state()).streaming:
            stream = WorkflowStreamClient.create(self.client, self.session_id)
            reader = asyncio.create_task(
                _read_text(stream, await stream.get_offset(), on_text, shown)
            )
        try:
            reply: ChatReply = await self._update("send", text, result_type=ChatReply)
        finally:
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
        if on_text is not None:
            streamed = "".join(shown)
            if reply.reply.startswith(streamed):
                on_text(reply.reply[len(streamed) :])
            else:  # e.g. a fallback after a partly streamed call: the reply as it is
                on_text("\n" + reply.reply)
        return reply

    async def _query(self, name: str, result_type: Any) -> Any:
        """A query needs a worker to answer it: without one, say so within
        `pickup_seconds` instead of waiting for the server's own deadline."""
        wait = self.settings.pickup_seconds
        try:
            return await self.handle.query(
                name, result_type=result_type, rpc_timeout=timedelta(seconds=wait)
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise
            view = await queue_view(self.client, self.settings.task_queue)
            raise NoWorkerError(
                f"Chat session {self.session_id} did not answer within {wait:.0f} s: "
                + no_worker_sentence(self.settings.task_queue, view, wait)
            ) from None

    async def _update(self, name: str, arg: Any, result_type: type[Any] = SessionState) -> Any:
        status = await self.status()
        if status != WorkflowExecutionStatus.RUNNING:
            raise SessionError(
                f"Chat session {self.session_id} has ended; "
                f"`hybridagent sessions resume {self.session_id}` opens it again."
            )
        try:
            args = [] if arg is None else [arg]
            update = await self._accepted(name, args, result_type)
            return await update.result()
        except WorkflowUpdateFailedError as err:
            raise SessionError(update_failure(err)) from None

    async def _accepted(
        self, name: str, args: list[Any], result_type: type[Any]
    ) -> WorkflowUpdateHandle[Any]:
        """The Update once the session has taken it. While the session has as many
        messages in flight as Temporal admits, the message waits for a slot (up to
        `busy_seconds`, then SessionBusyError: nothing was sent); every try is the same
        Update, so the message is delivered at most once."""
        update_id = str(uuid.uuid4())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_seconds
        delay = 0.2
        while True:
            try:
                return await self._accepted_once(name, args, result_type, update_id)
            except RPCError as err:
                if err.status != RPCStatusCode.RESOURCE_EXHAUSTED:
                    raise
            if loop.time() + delay > deadline:
                raise SessionBusyError(
                    f"Chat session {self.session_id} is busy: it has "
                    f"{MAX_IN_FLIGHT_UPDATES} messages in flight already (Temporal's limit "
                    "per workflow), and the message was not sent; try again in a moment."
                )
            # A slot frees when an earlier message is answered; nothing announces it.
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _accepted_once(
        self, name: str, args: list[Any], result_type: type[Any], update_id: str
    ) -> WorkflowUpdateHandle[Any]:
        """With no worker polling (or none for a minute), say so within
        `pickup_seconds`: the message is not sent and nothing is recorded. With a live
        poller a busy machine may take longer, so wait on; the same Update ID makes the
        second try the same Update."""
        wait = self.settings.pickup_seconds
        try:
            return await self.handle.start_update(
                name, args=args, result_type=result_type, id=update_id,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED, rpc_timeout=timedelta(seconds=wait),
            )  # fmt: skip
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            view = await queue_view(self.client, self.settings.task_queue)
        if view.last_poll_seconds is None or view.last_poll_seconds > STALE_POLLER_SECONDS:
            raise NoWorkerError(
                f"Chat session {self.session_id} did not take the message within {wait:.0f} s "
                f"and it was not sent: {no_worker_sentence(self.settings.task_queue, view, wait)}"
            )
        return await self.handle.start_update(
            name, args=args, result_type=result_type, id=update_id,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )  # fmt: skip


async def _read_text(
    stream: WorkflowStreamClient, offset: int, on_text: Callable[[str], None], shown: list[str]
) -> None:
    async for item in stream.subscribe(MODEL_EVENTS_TOPIC, offset, poll_cooldown=POLL_COOLDOWN):
        data = item.data
        if isinstance(data, dict) and data.get("type") == "response.output_text.delta":
            shown.append(data["delta"])
            on_text(data["delta"])


async def list_sessions(settings: Settings, limit: int = 50) -> list[SessionSummary]:
    """Newest first; one row per session, its runs before continue-as-new folded in."""
    return await session_summaries(await connect(settings), limit)


async def session_summaries(
    client: Client, limit: int = 50, owner: str | None = None
) -> list[SessionSummary]:
    """`list_sessions` on a connected client; with `owner`, only the sessions the API
    key of that name opened (the memo's `api_key`)."""
    runs: dict[str, list[WorkflowExecution]] = {}
    async for execution in client.list_workflows(f'WorkflowType="{WORKFLOW_TYPE}"'):
        runs.setdefault(execution.id, []).append(execution)
    rows = []
    unreadable = 0
    for session_id, executions in runs.items():
        latest = next(
            (e for e in executions if e.status != WorkflowExecutionStatus.CONTINUED_AS_NEW),
            executions[0],
        )
        try:
            memo = await latest.memo()
        except (PayloadKeyError, KeyError):
            # Written under a key this client lacks (or encrypted, and this client has no
            # codec): neither its owner nor its title can be read, so it is not listed.
            unreadable += 1
            continue
        if owner is not None and memo.get("api_key") != owner:
            continue
        rows.append(
            SessionSummary(
                session_id=session_id,
                status=_status_word(latest.status),
                started=min(e.start_time for e in executions),
                agent=str(memo.get("agent", "?")),
                messages=int(memo.get("messages", 0)),
                title=str(memo.get("title", "")),
            )
        )
    if unreadable:
        log.warning("%d sessions have a memo this client cannot decrypt; not listed", unreadable)
    rows.sort(key=lambda row: row.started, reverse=True)
    return rows[:limit]


def _status_word(status: WorkflowExecutionStatus | None) -> str:
    if status == WorkflowExecutionStatus.RUNNING:
        return "open"
    if status == WorkflowExecutionStatus.COMPLETED:
        return "ended"
    return status.name.lower() if status else "unknown"
