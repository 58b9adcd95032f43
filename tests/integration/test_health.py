"""`hybridagent health` and the workers' view in `hybridagent models`, on the real dev
server: a worker's circuit breaker, tripped by a refused port, shows as open with its
failure type; a provider that answered shows as closed; and no worker, or no Temporal,
is one sentence and exit code 1 instead of a hang.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hybridagent.runners.health import task_queue_pollers
from hybridagent.testing.stub_server import StubServer
from hybridagent.worker_health import WorkerHealth
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput
from tests.conftest import CLOSED_PORT, RunningWorker, make_settings, running_worker
from tests.helpers import replay
from tests.integration.test_cli import assert_one_sentence_error, cli_env, hybridagent
from tests.integration.test_worker_crash import start_worker

OLLAMA_KEY = f"Ollama http://127.0.0.1:{CLOSED_PORT}/v1/"


@pytest.fixture(scope="module")
async def tripped(
    temporal_address: str, cloud_stub: StubServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningWorker]:
    """A worker whose circuits open on the first failure; Ollama refuses connections."""
    settings = make_settings(
        temporal_address, tmp_path_factory.mktemp("tripped"),
        openai_api_key="sk-test-stub-key", openai_base_url=cloud_stub.base_url,
        cloud_model="openai/gpt-4o-mini", circuit_failure_threshold=1,
        circuit_cooldown_seconds=600.0,
    )  # fmt: skip
    async with running_worker(settings) as running:
        client = await connect(settings)
        run = await client.execute_workflow(
            "AgentWorkflow",
            {"prompt": "Say hi.", "model": "ollama/llama3.2"},
            id=f"trip-{uuid.uuid4().hex[:8]}",
            task_queue=settings.task_queue,
            result_type=AgentRunOutput,
        )
        assert run.models_used == ["openai/gpt-4o-mini"]  # the refused call fell back
        yield running


def env_for(worker: RunningWorker, **extra: str) -> dict[str, str]:
    return cli_env(
        TEMPORAL_ADDRESS=worker.settings.temporal_address,
        HYBRIDAGENT_TASK_QUEUE=worker.settings.task_queue,
        **extra,
    )


def table_rows(stdout: str) -> dict[str, str]:
    return {
        line.split("│")[1].strip(): line for line in stdout.splitlines() if line.count("│") >= 4
    }


async def test_health_shows_the_open_circuit_and_the_closed_ones(
    tripped: RunningWorker, stub: StubServer
) -> None:
    result = await hybridagent("health", env=env_for(tripped))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Temporal     reachable at {tripped.settings.temporal_address}")
    assert lines[1].startswith(f"Task queue   '{tripped.settings.task_queue}': 1 worker polling")
    assert lines[2] == f"Worker       {os.getpid()}@{socket.gethostname()}; default model none"
    assert lines[3] == (
        f"Ollama       not reachable (ConnectionError) at http://127.0.0.1:{CLOSED_PORT}"
    )
    rows = table_rows(result.stdout)
    ollama = [cell.strip() for cell in rows["ollama"].split("│")[1:-1]]
    assert ollama[:4] == ["ollama", "open", "1", "ProviderUnreachableError"]
    assert ollama[4].endswith(" s") and 500 < float(ollama[4].removesuffix(" s")) <= 600
    assert ollama[5] == OLLAMA_KEY
    openai = [cell.strip() for cell in rows["openai"].split("│")[1:-1]]
    assert openai[:4] == ["openai", "closed", "0", "-"]  # it answered
    assert result.stderr == ""


async def test_models_adds_the_workers_circuit_column(tripped: RunningWorker) -> None:
    result = await hybridagent("models", env=env_for(tripped))
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert "│ open (ProviderUnreachableError, retry in " in rows["ollama"]
    assert "│ closed " in rows["openai"] and "│ closed " in rows["litellm"]
    assert result.stdout.rstrip().splitlines()[-1] == (
        f"Worker {os.getpid()}@{socket.gethostname()} on task queue "
        f"'{tripped.settings.task_queue}': default model none; Ollama loaded: Ollama not "
        "reachable"
    )


async def test_health_workflow_reports_and_replays(tripped: RunningWorker) -> None:
    client = await connect(tripped.settings)
    handle = await client.start_workflow(
        "HealthWorkflow",
        id=f"health-{uuid.uuid4().hex[:8]}",
        task_queue=tripped.settings.task_queue,
        result_type=WorkerHealth,
    )
    health = await handle.result()
    assert health.task_queue == tripped.settings.task_queue
    assert [(c.key, c.state, c.last_failure) for c in health.circuits] == [
        (OLLAMA_KEY, "open", "ProviderUnreachableError")
    ]
    assert health.provider_circuit("openai").state == "closed"
    await replay(await handle.fetch_history(), tripped.settings)


async def test_health_without_a_worker_is_one_sentence(temporal_address: str) -> None:
    queue = f"nobody-{uuid.uuid4().hex[:8]}"
    env = cli_env(TEMPORAL_ADDRESS=temporal_address, HYBRIDAGENT_TASK_QUEUE=queue)
    result = await hybridagent("health", env=env)
    assert_one_sentence_error(result, f"No worker is polling task queue '{queue}'")
    assert result.stdout.splitlines()[1] == f"Task queue   '{queue}': 0 workers polling"
    models = await hybridagent("models", env=env)
    assert models.returncode == 0, models.stderr
    assert f"Workers: No worker is polling task queue '{queue}'" in models.stdout


async def test_health_with_unreachable_temporal() -> None:
    result = await hybridagent("health", env=cli_env(TEMPORAL_ADDRESS=f"127.0.0.1:{CLOSED_PORT}"))
    assert_one_sentence_error(
        result, f"Cannot reach the Temporal server at 127.0.0.1:{CLOSED_PORT}"
    )
    assert result.stdout == f"Temporal     not reachable at 127.0.0.1:{CLOSED_PORT}\n"


async def test_health_of_a_killed_worker_times_out_in_seconds(
    temporal_address: str, tmp_path: Path
) -> None:
    """The server lists a SIGKILLed worker's pollers for minutes; health must not hang."""
    queue = f"killed-{uuid.uuid4().hex[:8]}"
    env = cli_env(
        TEMPORAL_ADDRESS=temporal_address,
        HYBRIDAGENT_TASK_QUEUE=queue,
        HYBRIDAGENT_EMBEDDED="off",
        HYBRIDAGENT_STATE_DIR=str(tmp_path),
    )
    client = await connect(make_settings(temporal_address, tmp_path, task_queue=queue))
    worker = start_worker(env, tmp_path / "worker.log")
    try:

        async def polling() -> bool:
            return bool(await task_queue_pollers(client, queue))

        await until_async(polling, "the worker to poll")
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    assert await task_queue_pollers(client, queue)  # still listed: the case at hand
    result = await hybridagent("health", env=env, timeout=30)
    assert_one_sentence_error(result, f"No worker on task queue '{queue}' answered within 5 s")
    assert f"'{queue}': 1 worker polling: {worker.pid}@" in result.stdout


async def until_async(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll another process's progress (nothing to await on)."""
    try:
        async with asyncio.timeout(60):
            while not await condition():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
