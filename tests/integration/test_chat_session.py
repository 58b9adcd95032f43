"""ChatSessionWorkflow on the real dev server with the embedded model: messages are
Updates that return replies, the agent can be switched mid-session, private data said
once keeps the rest of the session local, and the session continues as new with its
conversation intact."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.testing import WorkflowEnvironment

from hybridagent.config import Settings
from hybridagent.testing.scripted_model import ScriptedBackend, ScriptedModel, text_response
from hybridagent.testing.stub_server import StubServer
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.chat_session import (
    MODEL_EVENTS_TOPIC,
    ChatMessage,
    ChatReply,
    SessionState,
)
from hybridagent.workflows.io import RoutingRecord
from tests.conftest import RunningWorker, make_settings
from tests.helpers import replay, scheduled_activities, scripted_worker


@pytest.fixture(scope="module")
async def client(worker: RunningWorker) -> Client:
    return await connect(worker.settings)


async def open_session(
    client: Client, worker: RunningWorker, **input: Any
) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        "ChatSessionWorkflow", input, id=f"chat-{uuid.uuid4().hex[:10]}",
        task_queue=worker.settings.task_queue, result_type=SessionState,
    )  # fmt: skip


async def send(handle: WorkflowHandle[Any, Any], text: str) -> ChatReply:
    reply: ChatReply = await handle.execute_update("send", text, result_type=ChatReply)
    return reply


async def test_messages_are_updates_and_the_agent_can_be_switched(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    handle = await open_session(client, worker)
    first = await send(handle, "Hello, my name is Ann.")
    assert first.reply.strip() and first.agent == "general" and first.messages == 2
    state = await handle.execute_update("change", {"agent": "math-tutor"}, result_type=SessionState)
    assert state.agent == "math-tutor" and state.messages == 2
    second = await send(handle, "What is 2 plus 2?")
    assert second.agent == "math-tutor" and second.messages == 4
    history = await handle.query("history", result_type=list[ChatMessage])
    assert [(m.role, m.agent) for m in history] == [
        ("user", None), ("assistant", "general"), ("user", None), ("assistant", "math-tutor"),
    ]  # fmt: skip
    assert history[2].content == "What is 2 plus 2?"
    await handle.execute_update("end", result_type=SessionState)
    final = await handle.result()
    assert final.ended and final.messages == 4
    await replay(await handle.fetch_history(), worker.settings)


async def test_bad_message_is_rejected_without_touching_the_history(
    client: Client, worker: RunningWorker
) -> None:
    handle = await open_session(client, worker)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await send(handle, "   ")
    assert "non-empty" in str(caught.value.cause)
    assert await handle.query("history", result_type=list[ChatMessage]) == []
    await handle.execute_update("end", result_type=SessionState)


async def test_private_data_keeps_the_rest_of_the_session_local(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    handle = await open_session(client, worker, routing={"force_provider": "cloud"})
    ssn = await send(handle, "My SSN is 512-48-7730.")
    later = await send(handle, "Thanks. Name a colour.")
    assert ssn.models_used == later.models_used == ["local/smollm2"]
    assert stub.requests == []
    await handle.execute_update("end", result_type=SessionState)


async def test_session_continues_as_new_with_its_conversation(
    client: Client, worker: RunningWorker
) -> None:
    handle = await open_session(client, worker, max_history_events=50)
    first_run = (await handle.describe()).run_id
    sent = [f"Say the number {n}." for n in range(8)]
    for text in sent:
        await send(handle, text)
    history = await handle.query("history", result_type=list[ChatMessage])
    assert [m.content for m in history if m.role == "user"] == sent
    assert len(history) == 16
    latest = client.get_workflow_handle(handle.id, result_type=SessionState)
    assert (await latest.describe()).run_id != first_run  # crossed continue-as-new
    await latest.execute_update("end", result_type=SessionState)
    assert (await latest.result()).messages == 16


async def test_streamed_session_publishes_the_models_text_while_it_runs(
    client: Client, worker: RunningWorker
) -> None:
    handle = await open_session(client, worker, stream=True)
    assert (await handle.query("state", result_type=SessionState)).streaming
    deltas: list[str] = []
    stream = WorkflowStreamClient.create(client, handle.id)

    async def read() -> None:
        async for item in stream.subscribe(MODEL_EVENTS_TOPIC, poll_cooldown=timedelta(0)):
            if item.data.get("type") == "response.output_text.delta":
                deltas.append(item.data["delta"])
            if item.data.get("type") == "response.completed":
                return

    reader = asyncio.create_task(read())
    reply = await send(handle, "Write one sentence about the sea.")
    # Every event reached the workflow's log before the Update returned.
    await asyncio.wait_for(reader, timeout=30)
    assert "".join(deltas) == reply.reply
    assert len(deltas) > 1  # token by token, not the whole reply at the end
    history = await handle.fetch_history()
    assert "invoke_model_activity_streaming" in [name for name, _ in scheduled_activities(history)]
    await handle.execute_update("end", result_type=SessionState)
    await handle.result()
    await replay(await handle.fetch_history(), worker.settings)


@pytest.fixture
async def two_model_worker(
    temporal_env: WorkflowEnvironment, temporal_address: str, tmp_path: Path
) -> AsyncIterator[tuple[Client, Settings]]:
    """A worker whose local and cloud models are scripted: their replies never repeat
    what they were told (SmolLM2 echoes an SSN back, which would keep it in view)."""
    settings = make_settings(temporal_address, tmp_path, cloud_model="openai/scripted")
    local = ScriptedModel(lambda n: text_response("Noted."))
    cloud = ScriptedModel(lambda n: text_response("Noted in the cloud."))
    backends = {"local": ScriptedBackend(local), "openai": ScriptedBackend(cloud, "openai")}
    async with scripted_worker(temporal_env, settings, backends) as client:
        yield client, settings


@pytest.mark.parametrize("private", [True, False], ids=["private-first", "nothing-private"])
async def test_private_data_pins_the_session_after_it_leaves_the_window(
    two_model_worker: tuple[Client, Settings], private: bool
) -> None:
    """The agent sees only the newest messages (history_tokens); the privacy pin is the
    session's, so it outlasts the message that set it. Without private data the same
    session goes to the cloud model, so the pin is what keeps it local."""
    client, settings = two_model_worker
    handle = await client.start_workflow(
        "ChatSessionWorkflow",
        {"routing": {"force_provider": "cloud"}, "history_tokens": 100},
        id=f"chat-{uuid.uuid4().hex[:10]}", task_queue=settings.task_queue,
        result_type=SessionState,
    )  # fmt: skip
    first = await send(handle, "My SSN is 512-48-7730." if private else "My cat is grey.")
    assert first.private == private
    for n in range(3):
        await send(handle, f"Now something long and harmless, number {n}: " + "la " * 60)
    # The first message is far outside a 100-token window by now.
    later = await send(handle, "Name a colour.")
    assert later.private == private
    assert later.models_used == (["local/scripted"] if private else ["openai/scripted"])
    trail = await handle.query("routing_trail", result_type=list[RoutingRecord])
    assert all(not record.finding_types for record in trail)  # nothing private in view
    await handle.execute_update("end", result_type=SessionState)


async def test_change_to_an_unknown_agent_or_model_fails_and_changes_nothing(
    client: Client, worker: RunningWorker
) -> None:
    handle = await open_session(client, worker)
    with pytest.raises(WorkflowUpdateFailedError) as agent:
        await handle.execute_update("change", {"agent": "nosuch"}, result_type=SessionState)
    assert "nosuch" in str(agent.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as model:
        await handle.execute_update("change", {"model": "cloudy/x"}, result_type=SessionState)
    assert "cloudy" in str(model.value.cause)
    state = await handle.query("state", result_type=SessionState)
    assert (state.agent, state.model) == ("general", None)
    reply = await send(handle, "Hello.")  # the session still works
    assert reply.agent == "general"
    await handle.execute_update("end", result_type=SessionState)


async def test_streamed_session_with_an_emulated_tool_call(
    client: Client, worker: RunningWorker
) -> None:
    """SmolLM2 has no native tool calls: emulation answers a call with tools whole, as
    stream events, and the streamed run goes on to call the tool as an activity."""
    handle = await open_session(client, worker, agent="haiku", stream=True)
    reply = await send(handle, "What's the weather in Tokyo?")
    assert reply.reply.strip() and reply.models_used == ["local/smollm2"]
    activities = scheduled_activities(await handle.fetch_history())
    names = [name for name, _ in activities]
    assert names.count("invoke_model_activity_streaming") >= 2  # tool call, then the answer
    [weather] = [inputs for name, inputs in activities if name == "get_weather"]
    assert "tokyo" in json.dumps(weather).lower()
    await handle.execute_update("end", result_type=SessionState)
