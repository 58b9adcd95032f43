"""Ollama model management on the real dev server against a loopback Ollama: `hybridagent
models pull` with its progress, a pull that survives a SIGKILLed worker, a name the
registry lacks failing at once, auto-pull and pre-warm at worker start, and the loaded
models `hybridagent models` shows.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from hybridagent.activity_io import PullProgress, PullResult
from hybridagent.routing.preferences import RoutingSettings
from hybridagent.workers.ollama_models import start_pull
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.pull_model import pull_workflow_id
from tests.conftest import make_settings, running_worker
from tests.fixtures.ollama_admin_server import PULL, FakeOllamaAdmin
from tests.helpers import activity_attempts, replay, scheduled_activities
from tests.integration.test_cli import HYBRIDAGENT, assert_one_sentence_error, cli_env, hybridagent
from tests.integration.test_worker_crash import start_worker, until

HALF = PULL["layers"][0]["total"] // 2  # where a held pull stops: 50 % of its first layer
MODEL = "smollm:135m"


def unique_model() -> str:
    """Pull workflow IDs come from the model name: one name per test keeps them apart."""
    return f"smollm-{uuid.uuid4().hex[:6]}:135m"


async def pending_progress(client: Client, handle: WorkflowHandle[Any, Any]) -> PullProgress | None:
    """What the Web UI shows: the pending pull activity's last heartbeat details."""
    description = await handle.describe()
    for pending in description.raw_description.pending_activities:
        if pending.heartbeat_details.payloads:
            [progress] = await client.data_converter.decode(
                pending.heartbeat_details.payloads, [PullProgress]
            )
            return progress  # type: ignore[no-any-return]
    return None


async def held_at_half(client: Client, handle: WorkflowHandle[Any, Any]) -> None:
    """Until the held pull's 50 % heartbeat has reached the server."""
    for _ in range(600):
        progress = await pending_progress(client, handle)
        if progress is not None and progress.completed == HALF:
            return
        await asyncio.sleep(0.1)  # another process's progress: nothing to await
    raise AssertionError("the pull's 50 % heartbeat never reached the server")


async def test_models_pull_shows_progress_joins_a_running_pull_and_succeeds(
    temporal_address: str, tmp_path: Path
) -> None:
    model = unique_model()
    with FakeOllamaAdmin(registry=(model,), pause_at=HALF) as fake:
        settings = make_settings(temporal_address, tmp_path, ollama_host=fake.host)
        async with running_worker(settings):
            env = cli_env(
                TEMPORAL_ADDRESS=temporal_address,
                HYBRIDAGENT_TASK_QUEUE=settings.task_queue,
                OLLAMA_HOST=fake.host,
            )
            cli = subprocess.Popen(
                [*HYBRIDAGENT, "models", "pull", model],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                stdin=subprocess.DEVNULL,
            )
            try:
                assert cli.stdout is not None
                shown: list[str] = []
                while not shown or " 50% of 2.0 MB" not in shown[-1]:
                    line = await asyncio.to_thread(cli.stdout.readline)
                    assert line, f"the CLI ended without showing progress: {shown}"
                    shown.append(line.rstrip("\n"))
                client = await connect(settings)
                first = client.get_workflow_handle(pull_workflow_id(model))
                assert await pending_progress(client, first) == PullProgress(
                    status=f"downloading {PULL['layers'][0]['digest']}",
                    digest=PULL["layers"][0]["digest"],
                    total=PULL["layers"][0]["total"],
                    completed=HALF,
                )
                again = await start_pull(client, settings, f"ollama/{model}")
                assert (
                    again.result_run_id == (await first.describe()).run_id
                )  # joined, not restarted
                fake.release.set()
                out, err = await asyncio.to_thread(cli.communicate, timeout=60)
            finally:
                if cli.poll() is None:
                    cli.kill()
    assert cli.returncode == 0, err
    assert (
        shown[-1] == "downloading dde5aa3fc5ff 50% of 2.0 MB"
    )  # the digest as `ollama pull` shows it
    assert out.splitlines()[-2:] == [
        f"pulled {model}: 2 layers, 2.0 MB",
        f"Web UI: http://localhost:8233/namespaces/default/workflows/pull-ollama-{model}/"
        f"{again.result_run_id}/history",
    ]
    assert len(fake.requests_to("/api/pull")) == 1
    history = await first.fetch_history()
    assert scheduled_activities(history) == [
        ("pull_model", [{"model": model, "heartbeat_seconds": 30.0}])
    ]
    assert activity_attempts(history) == [1]
    await replay(history, settings)


async def test_pull_of_a_name_the_registry_lacks_fails_at_once(
    temporal_address: str, tmp_path: Path
) -> None:
    with FakeOllamaAdmin() as fake:
        settings = make_settings(temporal_address, tmp_path, ollama_host=fake.host)
        async with running_worker(settings):
            env = cli_env(
                TEMPORAL_ADDRESS=temporal_address, HYBRIDAGENT_TASK_QUEUE=settings.task_queue
            )
            result = await hybridagent("models", "pull", "lama-typo", env=env)
    assert_one_sentence_error(
        result,
        "Ollama cannot pull 'lama-typo:latest': pull model manifest: file does not exist "
        "(check the name on ollama.com). [ModelNotInRegistryError]\nWeb UI: ",
    )
    assert len(fake.requests_to("/api/pull")) == 1  # never retried
    client = await connect(settings)
    history = await client.get_workflow_handle(pull_workflow_id("lama-typo")).fetch_history()
    assert activity_attempts(history) == [1]


async def test_pull_of_a_cloud_model_is_refused_before_starting() -> None:
    result = await hybridagent("models", "pull", "openai/gpt-4o", env=cli_env())
    assert_one_sentence_error(
        result, "Only Ollama models can be pulled, and 'openai/gpt-4o' is not one"
    )


async def test_pull_survives_a_sigkilled_worker(temporal_address: str, tmp_path: Path) -> None:
    model = unique_model()
    queue = f"pull-crash-{uuid.uuid4().hex[:8]}"
    with FakeOllamaAdmin(registry=(model,), pause_at=HALF) as fake:
        env = cli_env(
            TEMPORAL_ADDRESS=temporal_address,
            HYBRIDAGENT_TASK_QUEUE=queue,
            HYBRIDAGENT_EMBEDDED="off",
            HYBRIDAGENT_STATE_DIR=str(tmp_path),
            OLLAMA_HOST=fake.host,
            HYBRIDAGENT_OLLAMA_PULL_HEARTBEAT_SECONDS="2",
        )
        settings = make_settings(
            temporal_address, tmp_path, task_queue=queue, ollama_pull_heartbeat_seconds=2.0
        )
        client = await connect(settings)
        log = tmp_path / "workers.log"
        worker = start_worker(env, log)
        replacement: subprocess.Popen[bytes] | None = None
        try:
            handle = await start_pull(client, settings, model)
            await held_at_half(client, handle)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            replacement = start_worker(env, log)
            result = await asyncio.wait_for(handle.result(), timeout=90)
        finally:
            for process in (worker, replacement):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(timeout=30)
    assert result.status == "success" and result.model == model
    assert result.resumed_from is not None and result.resumed_from.completed == HALF
    assert fake.pull_offsets == [0, HALF]  # the second attempt resumed, as Ollama does
    history = await handle.fetch_history()
    [started] = [
        e.activity_task_started_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert started.attempt == 2
    assert replacement is not None and started.identity.startswith(f"{replacement.pid}@")
    # The first attempt's end: its worker stopped heartbeating.
    failure = started.last_failure.timeout_failure_info
    assert failure.timeout_type == TimeoutType.TIMEOUT_TYPE_HEARTBEAT
    await replay(history, settings)


async def test_auto_pull_starts_pulls_of_missing_configured_models(
    temporal_address: str, tmp_path: Path
) -> None:
    model, typo = unique_model(), f"qwen-typo-{uuid.uuid4().hex[:6]}:4b"
    with FakeOllamaAdmin(installed=("llama3.2:3b",), registry=(model,)) as fake:
        settings = make_settings(
            temporal_address, tmp_path, ollama_host=fake.host, ollama_auto_pull=True,
            ollama_model=model,
            routing=RoutingSettings(local_models=[f"ollama/{model}", f"ollama/{typo}"]),
        )  # fmt: skip
        async with running_worker(settings):
            await until(lambda: len(fake.requests_to("/api/pull")) == 2, "both pulls")
            client = await connect(settings)
            pulled = await client.get_workflow_handle(
                pull_workflow_id(model), result_type=PullResult
            ).result()
            with pytest.raises(WorkflowFailureError) as failed:
                await client.get_workflow_handle(pull_workflow_id(typo)).result()
    assert pulled.status == "success" and model in fake.installed
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "ModelNotInRegistryError"
    assert sorted(r.body["model"] for r in fake.requests_to("/api/pull")) == sorted([model, typo])


async def test_worker_prewarms_its_default_ollama_model_and_never_pulls_unasked(
    temporal_address: str, tmp_path: Path
) -> None:
    missing = f"qwen-{uuid.uuid4().hex[:6]}:4b"
    with FakeOllamaAdmin(installed=("llama3.2:3b",)) as fake:
        settings = make_settings(
            temporal_address, tmp_path, ollama_host=fake.host, ollama_keep_alive="10m",
            routing=RoutingSettings(local_models=["ollama/llama3.2:3b", f"ollama/{missing}"]),
        )  # fmt: skip
        async with running_worker(settings) as running:
            assert running.stack.provider.default_model == "ollama/llama3.2:3b"
            assert await asyncio.to_thread(fake.prewarmed.wait, 30)
            client = await connect(settings)
            with pytest.raises(RPCError):  # auto-pull is off: no pull was started
                await client.get_workflow_handle(pull_workflow_id(missing)).describe()
    assert [r.body for r in fake.requests_to("/api/generate")] == [
        {"model": "llama3.2:3b", "stream": False, "keep_alive": "10m"}
    ]
    assert fake.requests_to("/api/pull") == []


async def test_models_and_health_list_loaded_models_from_api_ps(
    temporal_address: str, tmp_path: Path
) -> None:
    with FakeOllamaAdmin(installed=("llama3.2:3b", "qwen3:4b"), loaded=("qwen3:4b",)) as fake:
        settings = make_settings(
            temporal_address, tmp_path, ollama_host=fake.host, ollama_model="qwen3:4b"
        )
        async with running_worker(settings):
            await asyncio.to_thread(fake.prewarmed.wait, 30)  # a settled /api/ps
            env = cli_env(
                TEMPORAL_ADDRESS=temporal_address,
                HYBRIDAGENT_TASK_QUEUE=settings.task_queue,
                OLLAMA_HOST=fake.host,
            )
            models = await hybridagent("models", env=env)
            health = await hybridagent("health", env=env)
    assert models.returncode == 0, models.stderr
    [ollama_row] = [line for line in models.stdout.splitlines() if line.startswith("│ ollama")]
    assert "│ yes " in ollama_row and "ollama/llama3.2:3b, ollama/qwen3:4b" in ollama_row
    footer = models.stdout.rstrip().splitlines()[-1]
    assert (
        "default model ollama/qwen3:4b; Ollama loaded: qwen3:4b (5.1 GB, 5.1 GB in VRAM, until "
        in footer
    )
    assert health.returncode == 0, health.stderr
    assert f"Ollama       reachable at {fake.host}" in health.stdout
    assert "  installed  llama3.2:3b, qwen3:4b" in health.stdout
    assert "  loaded     qwen3:4b (5.1 GB, 5.1 GB in VRAM, until " in health.stdout


async def test_pull_workflow_takes_plain_json_and_refuses_bad_input(
    temporal_address: str, tmp_path: Path
) -> None:
    """As `temporal workflow start --type PullModelWorkflow --input '"NAME"'` sends it."""
    model = unique_model()
    with FakeOllamaAdmin(registry=(model,)) as fake:
        settings = make_settings(temporal_address, tmp_path, ollama_host=fake.host)
        async with running_worker(settings):
            client = await connect(settings)
            result = await client.execute_workflow(
                "PullModelWorkflow",
                model,
                id=f"plain-{uuid.uuid4().hex[:8]}",
                task_queue=settings.task_queue,
                result_type=PullResult,
            )
            with pytest.raises(WorkflowFailureError) as failed:
                await client.execute_workflow(
                    "PullModelWorkflow",
                    {"name": model},
                    id=f"bad-{uuid.uuid4().hex[:8]}",
                    task_queue=settings.task_queue,
                )
    assert result.status == "success" and result.layers == 2 and result.resumed_from is None
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidWorkflowInput"
    expected = "PullModelWorkflow input is invalid: name: is not a field of this input."
    assert cause.message == expected
