"""Faults a user meets at the CLI (issue 12, items 3 and 4): each is one sentence on stderr,
the ID of the run that goes on, and the command that gets its result later."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter

from hybridagent.providers.embedded import free_loopback_port
from hybridagent.runners.devserver import DevServer
from hybridagent.runners.pickup import queue_view
from hybridagent.testing.stub_server import StubServer
from hybridagent.workflows.chat_session import ChatSessionInput
from tests.conftest import RunningWorker, make_settings, running_worker
from tests.integration.test_cli import (
    HYBRIDAGENT,
    assert_one_sentence_error,
    cli_env,
    hybridagent,
    worker_env,
)

RESULT_COMMAND = "hybridagent result hybridagent-"


def run_id_in(text: str) -> str:
    """The run ID in a `hybridagent result ID` hint."""
    after = text.split("hybridagent result ", 1)[1]
    return after.split()[0].rstrip(".")


def queue_env(temporal_address: str, task_queue: str, **extra: str) -> dict[str, str]:
    return cli_env(TEMPORAL_ADDRESS=temporal_address, HYBRIDAGENT_TASK_QUEUE=task_queue, **extra)


async def client_for(temporal_address: str) -> Client:
    return await Client.connect(temporal_address, data_converter=pydantic_data_converter)


async def test_empty_prompt_is_one_sentence_and_starts_nothing() -> None:
    result = await hybridagent("run", "", env=cli_env())
    assert_one_sentence_error(result, "prompt: String should have at least 1 character.")


async def test_no_wait_prints_the_result_command_and_result_waits_for_it(
    worker: RunningWorker, stub: StubServer
) -> None:
    started = await hybridagent(
        "run", "Hi", "--model", "openai/x", "--no-wait", env=worker_env(worker)
    )
    assert started.returncode == 0, started.stderr
    assert RESULT_COMMAND in started.stdout
    run_id = run_id_in(started.stdout)

    result = await hybridagent("result", run_id, env=worker_env(worker))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "stub answer"
    assert "model: openai/x  agent: general" in result.stdout
    assert f"/workflows/{run_id}" in result.stdout


async def test_result_of_an_unknown_run_is_one_sentence(worker: RunningWorker) -> None:
    result = await hybridagent("result", "hybridagent-nosuchrun", env=worker_env(worker))
    assert_one_sentence_error(result, "There is no run 'hybridagent-nosuchrun'")


async def test_run_with_no_worker_is_told_within_seconds_and_stays_queued(
    temporal_address: str, tmp_path: Path, embedded_url: str
) -> None:
    queue = f"idle-{uuid.uuid4().hex[:8]}"
    result = await hybridagent("run", "Hi", env=queue_env(temporal_address, queue), timeout=60)
    assert_one_sentence_error(result, f"No worker is polling task queue {queue!r}")
    assert RESULT_COMMAND in result.stderr
    run_id = run_id_in(result.stderr)
    client = await client_for(temporal_address)
    described = await client.get_workflow_handle(run_id).describe()
    assert described.status == WorkflowExecutionStatus.RUNNING

    # The queued run is not lost: a worker started later runs it, `result` prints it.
    settings = make_settings(temporal_address, tmp_path, embedded_url=embedded_url)
    settings = settings.model_copy(update={"task_queue": queue})
    async with running_worker(settings):
        later = await hybridagent("result", run_id, env=queue_env(temporal_address, queue))
    assert later.returncode == 0, later.stderr
    assert "model: local/smollm2" in later.stdout


async def polled(client: Client, task_queue: str) -> None:
    """Until the server lists a poller of the queue's workflow tasks."""
    while not (await queue_view(client, task_queue)).pollers:
        await asyncio.sleep(0.2)  # the poller list has no change notification


@pytest.fixture
async def killed_worker_queue(temporal_address: str, tmp_path: Path) -> AsyncIterator[str]:
    """A task queue whose only worker was SIGKILLed: it stays listed as a poller."""
    queue = f"dead-{uuid.uuid4().hex[:8]}"
    env = queue_env(temporal_address, queue, HYBRIDAGENT_EMBEDDED="off")
    process = await asyncio.create_subprocess_exec(
        *HYBRIDAGENT, "worker", env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    ready = await asyncio.wait_for(process.stderr.readline(), timeout=120)
    assert b"worker on task queue" in ready, ready
    client = await client_for(temporal_address)
    await asyncio.wait_for(polled(client, queue), timeout=60)
    process.kill()
    await process.wait()
    yield queue


async def test_run_after_the_worker_was_killed_names_the_stale_poller(
    temporal_address: str, killed_worker_queue: str
) -> None:
    env = queue_env(temporal_address, killed_worker_queue)
    result = await hybridagent("run", "Hi", env=env, timeout=60)
    assert_one_sentence_error(result, "No worker took it within 5 s")
    assert f"task queue {killed_worker_queue!r} was last polled" in result.stderr
    assert RESULT_COMMAND in result.stderr


async def test_sessions_show_with_no_worker_says_so(temporal_address: str) -> None:
    queue = f"idle-{uuid.uuid4().hex[:8]}"
    client = await client_for(temporal_address)
    session_id = f"chat-{uuid.uuid4().hex[:10]}"
    await client.start_workflow(
        "ChatSessionWorkflow", ChatSessionInput(agent="general"), id=session_id, task_queue=queue
    )
    result = await hybridagent(
        "sessions", "show", session_id, env=queue_env(temporal_address, queue), timeout=60
    )
    assert_one_sentence_error(result, f"Chat session {session_id} did not answer within 5 s")
    assert f"No worker is polling task queue {queue!r}" in result.stderr


async def wait_for_run_on(client: Client, task_queue: str) -> str:
    """The ID of the first workflow started on `task_queue`, once visibility shows it."""
    while True:
        async for execution in client.list_workflows(f'TaskQueue="{task_queue}"'):
            return execution.id
        await asyncio.sleep(0.2)  # visibility is eventually consistent; nothing to await


async def test_ctrl_c_while_waiting_names_the_run_and_the_result_command(
    temporal_address: str,
) -> None:
    queue = f"idle-{uuid.uuid4().hex[:8]}"
    env = queue_env(temporal_address, queue, HYBRIDAGENT_PICKUP_SECONDS="600")
    process = await asyncio.create_subprocess_exec(
        *HYBRIDAGENT, "run", "Hi", env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    client = await client_for(temporal_address)
    run_id = await asyncio.wait_for(wait_for_run_on(client, queue), timeout=60)
    process.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 130
    text = stderr.decode()
    assert "Traceback" not in text
    assert f"Stopped waiting; run {run_id} goes on" in text
    assert f"hybridagent result {run_id}" in text
    described = await client.get_workflow_handle(run_id).describe()
    assert described.status == WorkflowExecutionStatus.RUNNING


async def test_temporal_going_away_while_run_waits_is_one_sentence(tmp_path: Path) -> None:
    server = DevServer(tmp_path, port=free_loopback_port(), ui_port=free_loopback_port())
    await asyncio.to_thread(server.start)
    try:
        queue = f"idle-{uuid.uuid4().hex[:8]}"
        env = queue_env(server.address, queue, HYBRIDAGENT_PICKUP_SECONDS="600")
        process = await asyncio.create_subprocess_exec(
            *HYBRIDAGENT, "run", "Hi", env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        client = await client_for(server.address)
        run_id = await asyncio.wait_for(wait_for_run_on(client, queue), timeout=60)
    finally:
        await asyncio.to_thread(server.stop)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=300)
    text = stderr.decode()
    assert process.returncode == 1, text
    assert text.startswith(f"error: Lost the Temporal server at {server.address}"), text
    assert f"hybridagent result {run_id}" in text
    assert "WARN" not in text and "retried" not in text
    assert "Traceback" not in text


async def test_explain_says_when_no_cloud_model_is_configured(
    temporal_address: str, tmp_path: Path, embedded_url: str
) -> None:
    settings = make_settings(temporal_address, tmp_path, embedded_url=embedded_url)
    async with running_worker(settings):
        env = queue_env(temporal_address, settings.task_queue)
        result = await hybridagent("run", "Hi", "--explain", env=env)
    assert result.returncode == 0, result.stderr
    assert "call 1 (general): local/smollm2 [local; no cloud model configured]" in result.stdout


async def test_a_message_to_a_session_with_no_worker_is_not_sent_and_says_why(
    temporal_address: str, tmp_path: Path
) -> None:
    from hybridagent.runners.chat_client import ChatSession
    from hybridagent.runners.run_errors import NoWorkerError

    queue = f"idle-{uuid.uuid4().hex[:8]}"
    settings = make_settings(temporal_address, tmp_path).model_copy(update={"task_queue": queue})
    client = await client_for(temporal_address)
    session_id = f"chat-{uuid.uuid4().hex[:10]}"
    await client.start_workflow(
        "ChatSessionWorkflow", ChatSessionInput(agent="general"), id=session_id, task_queue=queue
    )
    session = await ChatSession.existing(settings, session_id)
    with pytest.raises(NoWorkerError, match="did not take the message within 5 s and it was not"):
        await asyncio.wait_for(session.send("hello"), timeout=60)
