"""No silent substitution (issue 12, item 6), on the real dev server, worker and embedded
model: a named model the worker cannot use is replaced with a notice that `run` and
`chat` print and the run's output keeps, or, with --strict, fails the run in one sentence.
The worker has no cloud keys and Ollama is down (nothing listens on its port).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator

import pexpect
import pytest

from hybridagent.providers.litellm import PROVIDER_KEYS
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput
from tests.conftest import CLOSED_PORT, RunningWorker, make_settings, running_worker
from tests.integration.test_chat_cli import in_terminal
from tests.integration.test_cli import assert_one_sentence_error, cli_env, hybridagent, worker_env

CLAUDE = "litellm/anthropic/claude-3-5-haiku-latest"
OLLAMA_DOWN = f"Ollama is not reachable at http://127.0.0.1:{CLOSED_PORT}"


@pytest.fixture(scope="module")
async def keyless(
    temporal_address: str, embedded_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningWorker]:
    settings = make_settings(
        temporal_address, tmp_path_factory.mktemp("keyless"), embedded_url=embedded_url
    )
    async with running_worker(settings) as running:
        yield running


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


@pytest.mark.parametrize(
    ("model", "why"),
    [
        ("ollama/llama3.2:3b", OLLAMA_DOWN),
        (CLAUDE, "no ANTHROPIC_API_KEY is set on the worker)"),
        ("openai/gpt-4o-mini", "no OPENAI_API_KEY is set on the worker)"),
    ],
)
async def test_run_says_which_model_answered_instead_and_why(
    keyless: RunningWorker, model: str, why: str
) -> None:
    result = await hybridagent("run", "Say hi.", "--model", model, env=worker_env(keyless))
    assert result.returncode == 0, result.stderr
    notice = first_line(result.stdout)
    assert notice.startswith(f"notice: {model} could not be used ({why}"), result.stdout
    assert notice.endswith("; answered by local/smollm2")
    assert "rejected" not in result.stdout
    assert "model: local/smollm2  agent: general" in result.stdout


@pytest.mark.parametrize(
    ("model", "sentence"),
    [
        ("ollama/llama3.2:3b", OLLAMA_DOWN),
        (
            CLAUDE,
            f"{CLAUDE} cannot take this call (no ANTHROPIC_API_KEY is set on the worker); "
            "the run is strict, so no other model answered.",
        ),
    ],
)
async def test_strict_run_fails_in_one_sentence(
    keyless: RunningWorker, model: str, sentence: str
) -> None:
    result = await hybridagent(
        "run", "Say hi.", "--model", model, "--strict", env=worker_env(keyless)
    )
    assert_one_sentence_error(result, sentence)
    assert "local/smollm2" not in result.stdout + result.stderr


async def test_the_notice_is_in_the_runs_output(keyless: RunningWorker) -> None:
    """Durable: the workflow's result carries it (the Web UI and `result ID` show it)."""
    client = await connect(keyless.settings)
    handle = await client.start_workflow(
        "AgentWorkflow", {"prompt": "Say hi.", "model": CLAUDE},
        id=f"notice-{uuid.uuid4().hex[:8]}", task_queue=keyless.settings.task_queue,
        result_type=AgentRunOutput,
    )  # fmt: skip
    result = await handle.result()
    assert result.models_used == ["local/smollm2"]
    assert result.notices == [
        f"{CLAUDE} could not be used (no ANTHROPIC_API_KEY is set on the worker); "
        "answered by local/smollm2"
    ]
    # A model that answers says nothing.
    plain = await client.execute_workflow(
        "AgentWorkflow", {"prompt": "Say hi.", "model": "local/smollm2"},
        id=f"notice-{uuid.uuid4().hex[:8]}", task_queue=keyless.settings.task_queue,
        result_type=AgentRunOutput,
    )  # fmt: skip
    assert plain.notices == []


async def test_chat_prints_the_notice_and_strict_chat_refuses(keyless: RunningWorker) -> None:
    def talk(*options: str, expected: str) -> None:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "hybridagent.runners.cli", "chat", "--model", CLAUDE, *options],
            env=worker_env(keyless), encoding="utf-8", timeout=180, dimensions=(50, 400),
        )  # fmt: skip
        child.expect_exact("you> ")
        child.sendline("Say hi.")
        child.expect_exact(expected)
        child.expect_exact("you> ")
        child.sendline("/end")
        child.expect(pexpect.EOF)
        child.close()

    await in_terminal(
        lambda: talk(
            expected=f"notice: {CLAUDE} could not be used (no ANTHROPIC_API_KEY is set on the "
            "worker); answered by local/smollm2"
        )
    )
    await in_terminal(
        lambda: talk(
            "--strict", expected=f"{CLAUDE} cannot take this call (no ANTHROPIC_API_KEY is set"
        )
    )


async def test_models_does_not_list_litellm_as_usable_without_a_key() -> None:
    env = cli_env()
    for names in PROVIDER_KEYS.values():
        for name in names:
            env.pop(name, None)
    result = await hybridagent("models", env=env)
    assert result.returncode == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.startswith("│ litellm")]
    cells = [cell.strip() for cell in row.split("│")]
    assert "no" in cells and "yes" not in cells, row
    assert "no provider key set" in row
    keyed = await hybridagent("models", env={**env, "ANTHROPIC_API_KEY": "sk-ant-test"})
    [row] = [line for line in keyed.stdout.splitlines() if line.startswith("│ litellm")]
    assert "yes" in [cell.strip() for cell in row.split("│")] and "keys for anthropic" in row
