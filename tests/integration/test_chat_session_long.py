"""A 200-message ChatSessionWorkflow on the real dev server with an instant scripted
model: the session continues as new several times and its conversation stays whole, in
order, across every run, and the runs' histories replay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from agents import Model, ModelResponse
from agents.items import TResponseStreamEvent
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory, WorkflowUpdateStage
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.testing import WorkflowEnvironment

from hybridagent.config import Settings
from hybridagent.providers.stream_events import as_stream
from hybridagent.runners.chat_client import ChatSession, SessionBusyError
from hybridagent.testing.scripted_model import ScriptedBackend, text_response
from hybridagent.workflows.chat_session import (
    MODEL_EVENTS_TOPIC,
    ChatMessage,
    ChatReply,
    ChatSessionInput,
    SessionState,
)
from tests.conftest import make_settings
from tests.helpers import replay, scheduled_activities, scripted_worker

MESSAGES = 200
MAX_HISTORY_EVENTS = 400  # a run holds ~35 messages: 5 or more runs for 200


class ConversationEcho(Model):
    """Replies to the last user message, naming how many user messages it was given, and
    records every conversation it receives."""

    def __init__(self) -> None:
        self.conversations: list[list[tuple[str, str]]] = []

    async def get_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> ModelResponse:
        items = [input] if isinstance(input, str) else input
        conversation = [
            (str(item["role"]), str(item["content"]))
            for item in items
            if isinstance(item, dict) and item.get("role") in ("user", "assistant")
        ]
        self.conversations.append(conversation)
        users = [content for role, content in conversation if role == "user"]
        return text_response(reply_to(len(users), users[-1]))

    async def stream_response(
        self, *args: Any, **kwargs: Any
    ) -> AsyncIterator[TResponseStreamEvent]:
        async for event in as_stream(await self.get_response(*args, **kwargs), "echo"):
            yield event


class GatedEcho(ConversationEcho):
    """ConversationEcho that holds every call until `open` is set, so messages pile up
    in flight; `entered` is set once a call is waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.open = asyncio.Event()

    async def get_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> ModelResponse:
        self.entered.set()
        await self.open.wait()
        return await super().get_response(system_instructions, input, *args, **kwargs)


def reply_to(count: int, message: str) -> str:
    return f"reply {count} to: {message}"


async def streamed_text(streams: WorkflowStreamClient, from_offset: int) -> str:
    """The text of the reply whose events start at `from_offset`."""
    deltas: list[str] = []
    async for item in streams.subscribe(
        MODEL_EVENTS_TOPIC, from_offset, poll_cooldown=timedelta(0)
    ):
        if item.data.get("type") == "response.output_text.delta":
            deltas.append(item.data["delta"])
        if item.data.get("type") == "response.completed":
            break
    return "".join(deltas)


@dataclass
class Run:
    run_id: str
    history: WorkflowHistory
    input_messages: list[ChatMessage]  # the conversation the run started with
    next_run_id: str | None  # set when the run continued as new


async def runs_of(client: Client, workflow_id: str, first_run_id: str) -> list[Run]:
    """Every run of the workflow, first to last, following the continue-as-new chain
    through the histories (strongly consistent, unlike visibility listings)."""
    runs: list[Run] = []
    run_id: str | None = first_run_id
    while run_id is not None:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        [payload] = started.input.payloads
        messages = ChatSessionInput.model_validate_json(payload.data).messages
        last = history.events[-1]
        next_run_id = None
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            next_run_id = (
                last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            )
        runs.append(Run(run_id, history, messages, next_run_id))
        run_id = next_run_id
    return runs


@dataclass
class EchoWorker:
    client: Client
    settings: Settings
    model: ConversationEcho


@asynccontextmanager
async def worker_with(
    model: ConversationEcho, env: WorkflowEnvironment, address: str, tmp_path: Path
) -> AsyncIterator[EchoWorker]:
    """A real worker on the dev server whose only model is `model`."""
    # The whole conversation goes to the model on every message: 400 messages need more
    # than the default 4096-token window the router assumes for a local model.
    settings = make_settings(address, tmp_path, embedded_context=131_072)
    async with scripted_worker(env, settings, {"local": ScriptedBackend(model)}) as client:
        yield EchoWorker(client, settings, model)


@pytest.fixture
async def echo_worker(
    temporal_env: WorkflowEnvironment, temporal_address: str, tmp_path: Path
) -> AsyncIterator[EchoWorker]:
    async with worker_with(ConversationEcho(), temporal_env, temporal_address, tmp_path) as w:
        yield w


@pytest.fixture
async def gated_worker(
    temporal_env: WorkflowEnvironment, temporal_address: str, tmp_path: Path
) -> AsyncIterator[EchoWorker]:
    async with worker_with(GatedEcho(), temporal_env, temporal_address, tmp_path) as w:
        yield w


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_200_messages_cross_continue_as_new_with_the_conversation_intact(
    echo_worker: EchoWorker, stream: bool
) -> None:
    client, settings, model = echo_worker.client, echo_worker.settings, echo_worker.model
    # A window as large as the whole conversation: the model must see all of it.
    session = {
        "max_history_events": MAX_HISTORY_EVENTS,
        "history_tokens": 1_000_000,
        "keep_messages": 1000,  # every run carries the whole conversation
    }
    handle = await client.start_workflow(
        "ChatSessionWorkflow", {**session, "stream": stream},
        id=f"chat-long-{uuid.uuid4().hex[:10]}", task_queue=settings.task_queue,
        result_type=SessionState,
    )  # fmt: skip
    first_run_id = handle.result_run_id
    assert first_run_id is not None
    assert (await handle.query("state", result_type=SessionState)).streaming == stream
    streams = WorkflowStreamClient.create(client, handle.id)
    offsets = [await streams.get_offset()]
    sent = [f"message {n:03d} ({uuid.uuid4().hex[:6]})" for n in range(1, MESSAGES + 1)]
    expected: list[tuple[str, str]] = []
    for n, text in enumerate(sent, start=1):
        reply: ChatReply = await handle.execute_update("send", text, result_type=ChatReply)
        assert (reply.reply, reply.messages) == (reply_to(n, text), 2 * n)
        assert reply.models_used == ["local/scripted"] and reply.agent == "general"
        expected += [("user", text), ("assistant", reply_to(n, text))]
        # The model saw the whole conversation so far, whichever run sent it.
        assert model.conversations[-1] == expected[:-1]
        offsets.append(await streams.get_offset())
    assert len(model.conversations) == MESSAGES  # one model call per message, no retries
    if stream:
        # Each reply's events went on the stream, whose offsets keep growing across runs.
        assert all(a < b for a, b in pairwise(offsets))
        # The last reply, read from the stream of the last run.
        last_reply = await asyncio.wait_for(streamed_text(streams, offsets[-2]), timeout=30)
        assert last_reply == expected[-1][1]
    else:
        assert set(offsets) == {0}

    history = await handle.query("history", result_type=list[ChatMessage])
    assert [(m.role, m.content) for m in history] == expected
    assert {(m.agent, tuple(m.models)) for m in history if m.role == "assistant"} == {
        ("general", ("local/scripted",))
    }
    final = await handle.execute_update("end", result_type=SessionState)
    assert final.ended and final.messages == 2 * MESSAGES
    assert await handle.result() == final

    runs = await runs_of(client, handle.id, first_run_id)
    assert len(runs) >= 3  # continued as new at least twice
    assert len({run.run_id for run in runs}) == len(runs)
    last = client.get_workflow_handle(handle.id)
    assert (await last.describe()).run_id == runs[-1].run_id
    assert runs[-1].history.events[-1].event_type == (
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    )
    assert runs[0].input_messages == []
    for before, after in pairwise(runs):
        # Each run started with the whole conversation of the run before it, and more.
        assert [(m.role, m.content) for m in after.input_messages] == expected[
            : len(after.input_messages)
        ]
        assert len(after.input_messages) > len(before.input_messages)
        # It continued as new because the history reached the limit, not before.
        assert len(before.history.events) >= MAX_HISTORY_EVENTS
    # Continuing as new keeps every run's history near the limit.
    assert max(len(run.history.events) for run in runs) < MAX_HISTORY_EVENTS + 50
    model_calls = [
        name
        for run in runs
        for name, _ in scheduled_activities(run.history)
        if name.startswith("invoke_model_activity")
    ]
    activity = "invoke_model_activity_streaming" if stream else "invoke_model_activity"
    assert model_calls == [activity] * MESSAGES

    # The final run and a run that started from a carried conversation and ended in
    # continue-as-new replay.
    for run in (runs[1], runs[-1]):
        await replay(run.history, settings)


async def test_messages_overlapping_continue_as_new_are_answered_once(
    echo_worker: EchoWorker,
) -> None:
    """Thirty messages at once, through the session client, into a session that must
    continue as new while they arrive. More than Temporal's 10 in-flight Updates: the
    client waits for a slot. The server may hand a `send` it has already seen answered
    to the next run (an aborted Update retried there); the session answers it from
    `answered`, so no message enters the conversation or reaches the model twice."""
    client, settings, model = echo_worker.client, echo_worker.settings, echo_worker.model
    handle = await client.start_workflow(
        "ChatSessionWorkflow", {"max_history_events": 50, "history_tokens": 1_000_000},
        id=f"chat-burst-{uuid.uuid4().hex[:10]}", task_queue=settings.task_queue,
        result_type=SessionState,
    )  # fmt: skip
    session = ChatSession(client, settings, handle.id)
    sent = [f"burst {n:02d}" for n in range(30)]
    replies = await asyncio.gather(*(session.send(text) for text in sent))
    for text, reply in zip(sent, replies, strict=True):
        assert reply.reply.endswith(f"to: {text}")
    history = await handle.query("history", result_type=list[ChatMessage])
    users = [m.content for m in history if m.role == "user"]
    assert sorted(users) == sent  # each message once, none lost
    assert len(model.conversations) == len(sent)
    assert handle.result_run_id is not None
    # The burst crossed continue-as-new. How many times depends on how many Updates the
    # server admitted before the first run stopped taking them (a run ends only once its
    # handlers have finished), which a busy machine changes: at least once is the premise.
    assert len(await runs_of(client, handle.id, handle.result_run_id)) >= 2
    await handle.execute_update("end", result_type=SessionState)


async def test_a_send_repeated_many_messages_and_runs_later_is_answered_once(
    echo_worker: EchoWorker,
) -> None:
    """The same Update ID delivered again to a later run, after more messages than any
    bounded reply memory would keep: the reply comes from the conversation, the model
    is not asked, and nothing is added."""
    client, settings, model = echo_worker.client, echo_worker.settings, echo_worker.model
    handle = await client.start_workflow(
        "ChatSessionWorkflow", {"max_history_events": 60, "history_tokens": 1_000_000},
        id=f"chat-again-{uuid.uuid4().hex[:10]}", task_queue=settings.task_queue,
        result_type=SessionState,
    )  # fmt: skip
    first_run_id = handle.result_run_id
    assert first_run_id is not None
    first = await handle.execute_update("send", "first", id="send-1", result_type=ChatReply)
    for n in range(2, 42):
        await handle.execute_update("send", f"then {n}", result_type=ChatReply)
    assert len(await runs_of(client, handle.id, first_run_id)) >= 3
    latest = client.get_workflow_handle(handle.id)  # the current run
    again = await latest.execute_update("send", "first", id="send-1", result_type=ChatReply)
    assert (again.reply, again.messages, again.agent) == (first.reply, 2, first.agent)
    assert again.models_used == first.models_used and again.usage.requests == 0
    assert len(model.conversations) == 41
    state = await latest.query("state", result_type=SessionState)
    assert state.messages == 82
    await latest.execute_update("end", result_type=SessionState)


async def test_an_eleventh_message_in_flight_waits_for_a_slot_or_is_told_busy(
    gated_worker: EchoWorker,
) -> None:
    client, settings = gated_worker.client, gated_worker.settings
    model = gated_worker.model
    assert isinstance(model, GatedEcho)
    handle = await client.start_workflow(
        "ChatSessionWorkflow", {}, id=f"chat-busy-{uuid.uuid4().hex[:10]}",
        task_queue=settings.task_queue, result_type=SessionState,
    )  # fmt: skip
    in_flight = [
        await handle.start_update(
            "send",
            f"held {n}",
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=ChatReply,
        )  # fmt: skip
        for n in range(10)
    ]
    await asyncio.wait_for(model.entered.wait(), timeout=60)
    impatient = ChatSession(client, settings, handle.id, busy_seconds=1)
    with pytest.raises(SessionBusyError) as busy:
        await impatient.send("one too many")
    assert str(busy.value) == (
        f"Chat session {handle.id} is busy: it has 10 messages in flight already "
        "(Temporal's limit per workflow), and the message was not sent; try again in a moment."
    )
    queued = asyncio.create_task(ChatSession(client, settings, handle.id).send("queued"))
    model.open.set()
    held = [await update.result() for update in in_flight]
    assert [r.reply for r in held] == [reply_to(n + 1, f"held {n}") for n in range(10)]
    assert (await queued).reply == reply_to(11, "queued")
    history = await handle.query("history", result_type=list[ChatMessage])
    users = [m.content for m in history if m.role == "user"]
    assert users == [*(f"held {n}" for n in range(10)), "queued"]
    await handle.execute_update("end", result_type=SessionState)


async def test_long_sessions_carry_only_recent_messages_the_rest_in_the_transcript(
    echo_worker: EchoWorker, tmp_path: Path
) -> None:
    """With keep_messages small, continue-as-new leaves the oldest (saved) messages
    behind: every run's input stays small, and the transcript in the worker's database
    plus the workflow's recent messages are the whole conversation."""
    client, settings = echo_worker.client, echo_worker.settings
    handle = await client.start_workflow(
        "ChatSessionWorkflow", {"max_history_events": 50, "keep_messages": 10},
        id=f"chat-keep-{uuid.uuid4().hex[:10]}", task_queue=settings.task_queue,
        result_type=SessionState,
    )  # fmt: skip
    first_run_id = handle.result_run_id
    assert first_run_id is not None
    sent = [f"kept {n:02d}" for n in range(1, 31)]
    for text in sent:
        await handle.execute_update("send", text, result_type=ChatReply)
    state = await handle.query("state", result_type=SessionState)
    assert state.messages == 60 and state.first_seq > 0
    runs = await runs_of(client, handle.id, first_run_id)
    assert len(runs) >= 3
    assert all(len(run.input_messages) <= 10 for run in runs)

    session = ChatSession(client, settings, handle.id)
    transcript = await session.transcript()
    assert transcript.missing == 0
    assert [m.content for m in transcript.messages if m.role == "user"] == sent
    assert len(transcript.messages) == 60
    # From a machine without the worker's database: the newest messages, and how many
    # older ones it could not read.
    elsewhere = ChatSession(
        client, make_settings(settings.temporal_address, tmp_path / "x"), handle.id
    )
    partial = await elsewhere.transcript()
    assert partial.missing == state.first_seq
    assert partial.messages == transcript.messages[state.first_seq :]

    await handle.execute_update("end", result_type=SessionState)
    await replay(runs[1].history, settings)  # a run that started after messages were left

    # Resumed, the session goes on numbering where it stopped.
    resumed = await ChatSession.attach(settings, handle.id)
    await resumed.send("kept 31")
    whole = await resumed.transcript()
    assert [m.content for m in whole.messages if m.role == "user"] == [*sent, "kept 31"]
    assert (whole.missing, (await resumed.state()).messages) == (0, 62)
    await resumed.end()
