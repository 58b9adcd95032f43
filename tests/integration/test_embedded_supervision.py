"""The worker supervises its embedded llama.cpp server, on the real dev server and the
real model: a server SIGKILLed in the middle of a model call is restarted and the run
completes; `health` and `models` say what is true while it is down and after; a server
that cannot start is one sentence at worker start."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from hybridagent.providers.embedded import bundled_weights
from hybridagent.providers.embedded_supervisor import EmbeddedSupervisor
from hybridagent.worker_health import WorkerHealth
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput
from tests.conftest import RunningWorker, make_settings, running_worker
from tests.integration.test_cli import assert_one_sentence_error, cli_env, hybridagent
from tests.integration.test_health import env_for, table_rows
from tests.integration.test_worker_crash import until

LONG_ANSWER = "Write a short story about a dragon."  # several seconds of generation


def serving_connection(port: int) -> bool:
    """An established TCP connection on the server's port: a request in flight (the
    worker's client has made none before, and the start-up probe closed its own)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                if int(local.rsplit(":", 1)[1], 16) == port and state == "01":
                    return True
    return False


@pytest.fixture
async def embedded_worker(temporal_address: str, tmp_path: Path) -> AsyncIterator[RunningWorker]:
    """A worker that starts its own embedded server (the default retry policy: three
    attempts, one second apart at first). The weights are a symlink the test can take
    away, so restarts can be made to fail."""
    (tmp_path / "smollm2.gguf").symlink_to(bundled_weights())
    # A story takes SmolLM minutes on a busy 2-core machine: the call's timeout must not
    # be what the test measures (the restart is).
    settings = make_settings(
        temporal_address, tmp_path, embedded="on", embedded_model_path=tmp_path / "smollm2.gguf",
        model_max_attempts=3, model_retry_initial_seconds=1.0,
        model_start_to_close_seconds=900.0, model_schedule_to_close_seconds=1800.0,
    )  # fmt: skip
    async with running_worker(settings) as running:
        yield running


def supervisor_of(worker: RunningWorker) -> EmbeddedSupervisor:
    assert worker.stack.supervisor is not None
    return worker.stack.supervisor


async def start_run(client: Client, worker: RunningWorker, prompt: str) -> WorkflowHandle:
    return await client.start_workflow(
        "AgentWorkflow",
        {"prompt": prompt, "model": "local/smollm2", "spec": {"name": "writer"}},
        id=f"supervised-{uuid.uuid4().hex[:8]}",
        task_queue=worker.settings.task_queue,
        result_type=AgentRunOutput,
    )


async def worker_health(client: Client, worker: RunningWorker) -> WorkerHealth:
    return await client.execute_workflow(
        "HealthWorkflow",
        id=f"health-{uuid.uuid4().hex[:8]}",
        task_queue=worker.settings.task_queue,
        result_type=WorkerHealth,
    )


async def test_server_killed_mid_call_is_restarted_and_the_run_completes(
    embedded_worker: RunningWorker,
) -> None:
    worker, supervisor = embedded_worker, supervisor_of(embedded_worker)
    server = supervisor.server
    client = await connect(worker.settings)
    handle = await start_run(client, worker, LONG_ANSWER)
    await until(lambda: serving_connection(server.port), "the model call to reach the server")
    assert server.process is not None
    killed = server.process.pid
    os.kill(killed, signal.SIGKILL)

    run = await asyncio.wait_for(handle.result(), timeout=1800)
    assert run.final_output.strip() and run.models_used == ["local/smollm2"]
    history = await handle.fetch_history()
    model_calls = {
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "invoke_model_activity"
    }
    started = [
        e.activity_task_started_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id in model_calls
    ]
    # The attempt the kill cut off failed retryably; the next one, after the restart,
    # answered: the same model, no fallback.
    assert [s.attempt for s in started] == [2]
    failure = str(started[0].last_failure)  # the server may cut its top message short
    assert "died during the call (killed by SIGKILL)" in failure
    assert 'type: "ProviderServerError"' in failure

    health = await worker_health(client, worker)
    assert health.embedded is not None
    embedded = health.embedded
    assert (embedded.state, embedded.reachable, embedded.restarts) == ("up", True, 1)
    assert embedded.last_reason == "killed by SIGKILL" and embedded.pid not in (None, killed)
    assert embedded.endpoint == server.base_url  # restarted on the same port
    assert health.provider_circuit("local").state == "closed"
    assert health.local_model_problem() is None

    later = await start_run(client, worker, "Say hi.")
    assert (await asyncio.wait_for(later.result(), timeout=120)).final_output.strip()

    result = await hybridagent("health", env=env_for(worker))
    assert result.returncode == 0, result.stderr
    assert (
        f"Embedded     up (pid {embedded.pid}, 1 restart; last: killed by SIGKILL) at "
        f"{server.base_url}" in result.stdout
    )
    models = await hybridagent("models", env=env_for(worker))
    local = [cell.strip() for cell in table_rows(models.stdout)["local"].split("│")[1:-1]]
    assert local[:3] == ["local", server.base_url, "yes"]
    assert "1 restart; last: killed by SIGKILL" in local[4]


async def test_health_and_models_report_a_server_that_cannot_restart(
    embedded_worker: RunningWorker,
) -> None:
    worker, supervisor = embedded_worker, supervisor_of(embedded_worker)
    weights = worker.settings.embedded_model_path
    assert weights is not None and supervisor.server.process is not None
    weights.unlink()  # every restart now fails at once
    os.kill(supervisor.server.process.pid, signal.SIGKILL)
    await until(lambda: supervisor.state == "down", "a failed restart")

    result = await hybridagent("health", env=env_for(worker))
    assert_one_sentence_error(
        result, "The embedded model, this worker's only local model, is down ("
    )
    assert f"weights file {weights} does not exist" in result.stderr
    assert "Embedded     down (" in result.stdout
    models = await hybridagent("models", env=env_for(worker))
    assert models.returncode == 0, models.stderr
    local = [cell.strip() for cell in table_rows(models.stdout)["local"].split("│")[1:-1]]
    assert local[2] == "no" and local[4].startswith("down (")

    weights.symlink_to(bundled_weights())  # the next attempt (backoff 1 s, 2 s, …) starts it
    await until(lambda: supervisor.state == "up", "the restart", timeout=120)
    client = await connect(worker.settings)
    health = await worker_health(client, worker)
    assert health.embedded is not None
    assert (health.embedded.restarts, health.embedded.failed_starts) == (1, 0)
    run = await start_run(client, worker, "Say hi.")
    assert (await asyncio.wait_for(run.result(), timeout=120)).final_output.strip()


@pytest.mark.parametrize("weights", ["missing", "garbage"])
async def test_a_server_that_cannot_start_is_one_sentence_at_worker_start(
    temporal_address: str, tmp_path: Path, weights: str
) -> None:
    path = tmp_path / "model.gguf"
    if weights == "garbage":
        path.write_text("not a GGUF file")
    env = cli_env(
        TEMPORAL_ADDRESS=temporal_address,
        HYBRIDAGENT_TASK_QUEUE=f"badstart-{uuid.uuid4().hex[:8]}",
        HYBRIDAGENT_EMBEDDED="on",
        HYBRIDAGENT_EMBEDDED_MODEL_PATH=str(path),
        HYBRIDAGENT_STATE_DIR=str(tmp_path / "state"),
    )
    began = time.monotonic()
    result = await hybridagent("worker", env=env, timeout=120)
    if weights == "missing":
        assert_one_sentence_error(result, f"The embedded model's weights file {path} does not")
    else:
        log = tmp_path / "state" / "embedded-model.log"
        assert_one_sentence_error(
            result,
            "The embedded model server exited with code 1 while starting: ValueError: Failed "
            f"to load model from file: {path} (log: {log})",
        )
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert time.monotonic() - began < 60  # start-up fails, it does not hang
