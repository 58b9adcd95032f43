"""A worker killed with SIGKILL in the middle of a run: the run completes on a restarted
worker, and the model and tool activities that had completed are not executed again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType

from hybridagent.testing.stub_server import StubServer, text_reply, tool_then_text
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput
from tests.conftest import make_settings
from tests.integration.test_cli import cli_env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hybridagent.runners.cli", "worker"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def until(condition: Any, what: str, timeout: float = 60) -> None:
    """Poll a condition the test cannot be notified of (another process's progress)."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_sigkilled_worker_run_completes_on_a_new_worker_without_redoing_work(
    temporal_address: str, stub: StubServer, tmp_path: Path
) -> None:
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    env = cli_env(
        TEMPORAL_ADDRESS=temporal_address,
        HYBRIDAGENT_TASK_QUEUE=queue,
        HYBRIDAGENT_EMBEDDED="off",
        HYBRIDAGENT_STATE_DIR=str(tmp_path),
        OPENAI_API_KEY="sk-test-stub-key",
        OPENAI_BASE_URL=stub.base_url,
        HYBRIDAGENT_MODEL_HEARTBEAT_SECONDS="2",
        HYBRIDAGENT_MODEL_RETRY_INITIAL_SECONDS="0.2",
    )
    # Call 1 asks for the weather tool; call 2 hangs until released (the worker dies
    # meanwhile); any later call answers.
    hang = threading.Event()
    first = tool_then_text("get_weather", {"city": "Tokyo"}, "unused")

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        calls = len(stub.requests)
        if calls == 1:
            return first(body)
        if calls == 2:
            hang.wait(timeout=60)
        return text_reply("It is sunny in Tokyo.")(body)

    stub.reply = reply
    log = tmp_path / "workers.log"
    worker = start_worker(env, log)
    client = await connect(make_settings(temporal_address, tmp_path, task_queue=queue))
    handle = await client.start_workflow(
        "AgentWorkflow",
        {
            "prompt": "What's the weather in Tokyo?",
            "model": "openai/gpt-4o-mini",
            "spec": {"name": "weather", "instructions": "Use tools.", "tools": ["get_weather"]},
        },
        id=f"crash-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
        result_type=AgentRunOutput,
    )
    try:
        await until(lambda: len(stub.requests) >= 2, "the second model call to start")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        hang.set()
        replacement = start_worker(env, log)
        try:
            result = await asyncio.wait_for(handle.result(), timeout=90)
        finally:
            replacement.terminate()
            replacement.wait(timeout=30)
    finally:
        hang.set()
        if worker.poll() is None:
            worker.kill()
    assert result.final_output == "It is sunny in Tokyo."
    # Model call 1 once, model call 2 twice (its first attempt died with the worker).
    assert len(stub.requests) == 3
    history = await handle.fetch_history()
    started = [
        (
            e.activity_task_started_event_attributes.attempt,
            e.activity_task_started_event_attributes.identity,
        )
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled == ["invoke_model_activity", "get_weather", "invoke_model_activity"]
    assert [attempt for attempt, _ in started] == [1, 1, 2]
    # The completed model and tool activities ran on the first worker and were not
    # run again; the interrupted call finished on the replacement.
    assert started[0][1] == started[1][1] != started[2][1]
