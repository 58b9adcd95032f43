"""ChatSessionWorkflow: one long-lived workflow per conversation.

Each user message is a Workflow Update that returns the reply, so a client gets the
answer from the same call that delivered the message, and every message and reply is in
the workflow's history. The whole conversation goes to the agent on every message, so
routing sees it all: once something private was said, every later call stays local.
Before the history grows past `max_history_events` the workflow continues as new with
the conversation as its input, so a session can go on indefinitely.

With `stream` on (and a worker on regular activities), model calls run as the plugin's
streaming activity: the model's events reach the workflow's stream (Temporal's Workflow
Streams) while the call runs, and `hybridagent chat` prints the text as it arrives.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.contrib.workflow_streams import WorkflowStream, WorkflowStreamState
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from agents import TResponseInputItem

    from hybridagent.activities.storage import SaveChatMessagesRequest, StorageActivities
    from hybridagent.agents.catalog import DEFAULT_AGENT
    from hybridagent.failures import BAD_MESSAGE, SESSION_ENDED, UNKNOWN_MODEL
    from hybridagent.routing.names import UnknownModelError, is_default, parse_model_name
    from hybridagent.routing.preferences import RoutingPreferences
    from hybridagent.storage.models import ChatMessage as ChatMessage
    from hybridagent.workflows.agent_workflow import resolve_agent_for, start_agent_run
    from hybridagent.workflows.call_router import CHARS_PER_TOKEN
    from hybridagent.workflows.io import (
        STRICT,
        AgentRunInput,
        RawInput,
        RoutingRecord,
        TokenUsage,
        parse_input,
    )
    from hybridagent.workflows.run_agent import api_key_memo, can_stream, run_agent

# The topic of the workflow stream that streamed model calls publish their events on.
MODEL_EVENTS_TOPIC = "model-events"
_STREAM_OFFSET_QUERY = "__temporal_workflow_stream_offset"
TITLE_CHARS = 60
SAVE_TIMEOUT = timedelta(seconds=30)


class ChatReply(BaseModel):
    reply: str
    agent: str
    models_used: list[str]
    usage: TokenUsage
    messages: int  # in the conversation, this reply included
    private: bool = False  # the session holds private data: it stays on local models
    notices: list[str] = Field(default_factory=list)  # a named model replaced, and why


class ChatSessionInput(BaseModel):
    model_config = STRICT

    agent: str = DEFAULT_AGENT
    model: str | None = None
    # A named model that cannot take a call fails that message instead of being replaced.
    strict: bool = False
    routing: RoutingPreferences | None = None
    user: str = Field("default", min_length=1, max_length=200)
    max_turns: int = Field(10, ge=1, le=100)
    # Continue as new once the history has this many events (Temporal's limit is 51,200).
    max_history_events: int = Field(2000, ge=50, le=40_000)
    # How much of the earlier conversation goes to the agent with each message, in the
    # router's estimate (characters / 4); older messages stay in the history only.
    history_tokens: int = Field(2000, ge=100, le=1_000_000)
    # Model calls as streaming activities, their events on the workflow's stream.
    stream: bool = False
    # Set once private data has been said: every later model call stays local, even
    # when that message has left the window the agent sees.
    private: bool = False
    messages: list[ChatMessage] = Field(default_factory=list)
    # How many of the session's messages came before `messages`: left behind at an
    # earlier continue-as-new, they are in the database's transcript.
    first_seq: int = Field(0, ge=0)
    # How many of the session's messages the transcript holds already.
    saved: int = Field(0, ge=0)
    # At most this many messages are carried through continue-as-new, and only messages
    # already in the transcript are left behind: the input stays small however long
    # the conversation, and the agent's window (history_tokens) is carried.
    keep_messages: int = Field(200, ge=2, le=100_000)
    title: str = ""
    # Carried through continue-as-new so stream offsets keep growing.
    stream_state: WorkflowStreamState | None = None
    # Every answered `send`: its Update ID's key (`update_key`) -> the number of the
    # reply's message in the session. Carried through continue-as-new, so a `send` the
    # server hands to a later run although an earlier one answered it (an Update retried
    # across continue-as-new, e.g. when messages overlap it) gets its reply again, never
    # a second one, however many messages came between. ~20 bytes a message.
    answered: dict[str, int] = Field(default_factory=dict)
    # Runs started before `answered` carried the latest replies whole; read, not written.
    recent_replies: dict[str, ChatReply] = Field(default_factory=dict)


class SessionChange(BaseModel):
    model_config = STRICT

    agent: str | None = None
    model: str | None = None


class SessionState(BaseModel):
    agent: str
    model: str | None
    messages: int  # in the whole conversation
    first_seq: int = 0  # the number of the first message the workflow still holds
    ended: bool
    streaming: bool = False
    private: bool = False


def update_key(update_id: str) -> str:
    """A short, fixed-size key for an Update ID (72 bits of its hash: a collision among
    a session's messages is vanishingly unlikely), so `answered` stays compact."""
    digest = hashlib.blake2b(update_id.encode(), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode()


def recent_window(messages: list[ChatMessage], budget: int) -> list[ChatMessage]:
    """The newest messages whose estimated tokens fit `budget`, starting with a user
    message; estimated as the router does (a message's JSON length / 4)."""
    kept: list[ChatMessage] = []
    used = 0
    for message in reversed(messages):
        used += (
            len(json.dumps({"role": message.role, "content": message.content})) // CHARS_PER_TOKEN
        )
        if used > budget:
            break
        kept.append(message)
    kept.reverse()
    while kept and kept[0].role != "user":
        kept.pop(0)
    return kept


def session_title(messages: list[ChatMessage]) -> str:
    """The first user message on one line, shortened: a session's name in listings."""
    first = next((m.content for m in messages if m.role == "user"), "")
    title = " ".join(first.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


@workflow.defn
class ChatSessionWorkflow:
    @workflow.init
    def __init__(self, input: RawInput = None) -> None:
        # An error raised here would fail the workflow task and retry it forever; the
        # run raises it instead, which fails the workflow at once.
        self._bad_input: ApplicationError | None = None
        try:
            self._input = parse_input(ChatSessionInput, input, "ChatSessionWorkflow", bare="agent")
        except ApplicationError as err:
            self._input, self._bad_input = ChatSessionInput(), err
        self._messages = list(self._input.messages)
        self._first_seq = self._input.first_seq
        self._saved = max(self._input.saved, self._first_seq)
        self._title = self._input.title or session_title(self._messages)
        self._agent = self._input.agent
        self._model = self._input.model
        self._private = self._input.private
        self._answered = dict(self._input.answered)
        for update_id, earlier in self._input.recent_replies.items():
            self._answered.setdefault(update_key(update_id), earlier.messages - 1)
        self._ended = False
        self._trail: list[RoutingRecord] = []
        self._lock = asyncio.Lock()  # one message at a time, in order
        self._stream = WorkflowStream(prior_state=self._input.stream_state)

    @workflow.run
    async def run(self, input: RawInput = None) -> SessionState:
        if self._bad_input is not None:
            raise self._bad_input
        # Patched: a session opened before this check existed replays without it (for a
        # user agent the check is a local activity its history does not have).
        if workflow.info().continued_run_id is None and workflow.patched("check-session-start"):
            await self._check_start()
        await workflow.wait_condition(
            lambda: (
                self._ended
                or workflow.info().get_current_history_length() >= self._input.max_history_events
                or workflow.info().is_continue_as_new_suggested()
            )
        )
        # A subscriber's long poll is an Update too: release it, or the run never ends.
        self._stream.detach_pollers()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._ended:
            return self.state()
        # Leave behind the oldest messages that are in the transcript already.
        drop = min(len(self._messages) - self._input.keep_messages, self._saved - self._first_seq)
        if drop > 0:
            self._messages = self._messages[drop:]
            self._first_seq += drop
        workflow.continue_as_new(
            self._input.model_copy(
                update={
                    "agent": self._agent, "model": self._model, "messages": self._messages,
                    "first_seq": self._first_seq, "saved": self._saved, "title": self._title,
                    "private": self._private, "answered": self._answered, "recent_replies": {},
                    "stream_state": self._stream_state_to_carry(),
                }
            ),
            memo=self._memo(),
        )  # fmt: skip

    async def _check_start(self) -> None:
        """A new session with an agent or model that does not resolve fails at once
        (not at every message, with the session left open)."""
        if self._model and not is_default(self._model):
            try:
                parse_model_name(self._model)
            except UnknownModelError as err:
                raise ApplicationError(str(err), type=UNKNOWN_MODEL, non_retryable=True) from None
        await resolve_agent_for(AgentRunInput(prompt="-", agent=self._agent))

    @workflow.update
    async def send(self, message: str) -> ChatReply:
        update = workflow.current_update_info()
        update_id = update.id if update else ""
        async with self._lock:
            # Checked under the lock: a repeat that arrived while the first delivery was
            # still waiting its turn finds the reply here too.
            key = update_key(update_id)
            if key in self._answered:
                return self._reply_again(self._answered[key])
            request = AgentRunInput(
                prompt=message, agent=self._agent, model=self._model,
                routing=self._input.routing, user=self._input.user,
                max_turns=self._input.max_turns, strict=self._input.strict,
            )  # fmt: skip
            conversation: list[TResponseInputItem] = [
                {"role": m.role, "content": m.content}
                for m in recent_window(self._messages, self._input.history_tokens)
            ]
            conversation.append({"role": "user", "content": message})
            resolved, router = await start_agent_run(request, conversation)
            router.pinned = self._private
            self._trail = router.trail
            streaming = self._streaming()
            if streaming:
                # Earlier replies' events have been read; keep only this one's.
                self._stream.truncate(self._stream_end())
            result = await run_agent(
                resolved.spec, conversation, router, max_turns=self._input.max_turns,
                handoffs=resolved.handoffs, user=self._input.user, stream=streaming,
            )  # fmt: skip
            # The router pins itself when any call of the run held private data.
            self._private = self._private or router.pinned
            self._messages += [
                ChatMessage(role="user", content=message),
                ChatMessage(
                    role="assistant", content=result.final_output, agent=result.agent,
                    models=result.models_used,
                ),
            ]  # fmt: skip
            self._title = self._title or session_title(self._messages)
            await self._save()
            workflow.upsert_memo(self._memo())
            reply = ChatReply(
                reply=result.final_output, agent=result.agent, models_used=result.models_used,
                usage=result.usage, messages=self._total(), private=self._private,
                notices=result.notices,
            )  # fmt: skip
            self._answered[key] = self._total() - 1
            return reply

    def _reply_again(self, number: int) -> ChatReply:
        """The reply to a `send` answered before (message `number` of the session), as
        the conversation holds it: no model is asked, so its usage is zero."""
        if number >= self._first_seq:
            message = self._messages[number - self._first_seq]
            return ChatReply(
                reply=message.content, agent=message.agent or self._agent,
                models_used=message.models, usage=TokenUsage(), messages=number + 1,
                private=self._private,
            )  # fmt: skip
        # Left behind in the transcript at a continue-as-new (keep_messages ago).
        return ChatReply(
            reply=f"(Answered before, as message {number + 1}: see the session's transcript.)",
            agent=self._agent, models_used=[], usage=TokenUsage(), messages=number + 1,
            private=self._private,
        )  # fmt: skip

    @send.validator
    def _check_message(self, message: str) -> None:
        if self._ended:
            raise ApplicationError("This chat session has ended.", type=SESSION_ENDED)
        if not isinstance(message, str) or not message.strip():
            raise ApplicationError("A chat message must be non-empty text.", type=BAD_MESSAGE)

    @workflow.update
    async def change(self, change: SessionChange) -> SessionState:
        """Switch agent or model for the next messages; the conversation stays. An agent
        that does not resolve fails the Update and changes nothing."""
        if change.agent:
            await resolve_agent_for(AgentRunInput(prompt="-", agent=change.agent))
            self._agent = change.agent
        if change.model is not None:
            self._model = change.model or None
        return self.state()

    @change.validator
    def _check_change(self, change: SessionChange) -> None:
        if self._ended:
            raise ApplicationError("This chat session has ended.", type=SESSION_ENDED)
        if change.model and not is_default(change.model):
            try:
                parse_model_name(change.model)
            except UnknownModelError as err:
                raise ApplicationError(str(err), type=UNKNOWN_MODEL) from None

    @workflow.update
    def end(self) -> SessionState:
        self._ended = True
        return self.state()

    @workflow.query
    def history(self) -> list[ChatMessage]:
        """The messages this run holds: all of them, or the newest ones after messages
        were left behind in the transcript (they start at `state.first_seq`)."""
        return list(self._messages)

    @workflow.query
    def routing_trail(self) -> list[RoutingRecord]:
        """How the last message's model calls were routed (`/explain` in the REPL)."""
        return list(self._trail)

    @workflow.query
    def state(self) -> SessionState:
        return SessionState(
            agent=self._agent, model=self._model, messages=self._total(),
            first_seq=self._first_seq, ended=self._ended, streaming=self._streaming(),
            private=self._private,
        )  # fmt: skip

    def _total(self) -> int:
        return self._first_seq + len(self._messages)

    async def _save(self) -> None:
        """Write the messages the transcript lacks. The session goes on when the database
        fails: unsaved messages are never left behind, so a later save catches up."""
        if self._saved >= self._total():
            return
        unsaved = self._messages[self._saved - self._first_seq :]
        try:
            await workflow.execute_local_activity_method(
                StorageActivities.save_chat_messages,
                SaveChatMessagesRequest(
                    session_id=workflow.info().workflow_id, first_seq=self._saved,
                    messages=unsaved,
                ),
                start_to_close_timeout=SAVE_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=3),
            )  # fmt: skip
        except FailureError as err:
            workflow.logger.warning("Chat transcript not saved this time: %s", err)
            return
        self._saved = self._total()

    def _streaming(self) -> bool:
        return self._input.stream and can_stream()

    def _memo(self) -> dict[str, Any]:
        """What `hybridagent sessions list` shows without asking each workflow."""
        memo: dict[str, Any] = {
            "agent": self._agent,
            "messages": self._total(),
            "title": self._title,
        }
        # The API key that opened the session (hybridagent/api) stays its owner.
        return {**memo, **api_key_memo()}

    def _stream_end(self) -> int:
        """The stream's next offset; WorkflowStream exposes it only as its query handler."""
        handler = workflow.get_query_handler(_STREAM_OFFSET_QUERY)
        assert handler is not None
        end: int = handler()
        return end

    def _stream_state_to_carry(self) -> WorkflowStreamState:
        """The stream's offsets and publishers for the next run, without old events."""
        self._stream.truncate(self._stream_end())
        return self._stream.get_state()
