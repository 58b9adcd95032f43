"""CoordinatorWorkflow on the real dev server with the embedded model as every local
model: specialists run as parallel child workflows, a synthesis step merges them, the
coordinator's own choice stays within the catalog, and a privacy pin reaches the
children."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from hybridagent.testing.stub_server import StubServer
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.coordinator import SPECIALISTS, CoordinatorOutput
from tests.conftest import RunningWorker
from tests.helpers import replay
from tests.integration.test_cli import assert_one_sentence_error, hybridagent, worker_env


@pytest.fixture(scope="module")
async def client(worker: RunningWorker) -> Client:
    return await connect(worker.settings)


async def coordinate(
    client: Client, worker: RunningWorker, payload: dict[str, Any]
) -> tuple[CoordinatorOutput, WorkflowHandle[Any, Any]]:
    handle = await client.start_workflow(
        "CoordinatorWorkflow", payload, id=f"coord-{uuid.uuid4().hex[:10]}",
        task_queue=worker.settings.task_queue, result_type=CoordinatorOutput,
    )  # fmt: skip
    return await handle.result(), handle


async def test_three_specialists_in_parallel_then_one_answer(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    names = ["math-tutor", "coding-assistant", "creative-writer"]
    result, handle = await coordinate(
        client, worker, {"prompt": "What is 12 times 7?", "specialists": names}
    )
    assert [s.agent for s in result.specialists] == names and result.chosen_by == "request"
    assert all(
        s.final_output.strip() and s.models_used == ["local/smollm2"] for s in result.specialists
    )
    assert result.final_output.strip() and result.usage.requests >= 4  # 3 + synthesis
    history = await handle.fetch_history()
    kinds = [e.event_type for e in history.events]
    started = [
        i
        for i, k in enumerate(kinds)
        if k == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]
    done = [
        i
        for i, k in enumerate(kinds)
        if k == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED
    ]
    assert len(started) == len(done) == 3
    assert max(started) < min(done)  # all three were started before any finished
    children = [f"{handle.id}-{name}" for name in names]
    for child in children:
        described = await client.get_workflow_handle(child).describe()
        assert described.workflow_type == "AgentWorkflow"
    assert stub.requests == []  # easy prompts stay local
    await replay(history, worker.settings)


async def test_coordinator_chooses_specialists_from_the_catalog(
    client: Client, worker: RunningWorker
) -> None:
    result, handle = await coordinate(
        client, worker, {"prompt": "Write a short poem about the sea."}
    )
    assert result.chosen_by == "coordinator"
    assert 1 <= len(result.specialists) <= 3
    assert {s.agent for s in result.specialists} <= {*SPECIALISTS, "general"}
    assert result.final_output.strip()
    await replay(await handle.fetch_history(), worker.settings)


async def test_privacy_pin_propagates_to_the_children(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    prompt = "My SSN is 512-48-7730. Explain step by step which tax form I need and why."
    payload = {
        "prompt": prompt,
        "specialists": ["math-tutor"],
        "routing": {"latency_preference": "quality"},
    }
    result, handle = await coordinate(client, worker, payload)
    assert result.pinned_local and result.models_used == ["local/smollm2"]
    child = client.get_workflow_handle(f"{handle.id}-math-tutor")
    history = await child.fetch_history()
    start = history.events[0].workflow_execution_started_event_attributes
    child_input = start.input.payloads[0].data.decode()
    assert '"privacy_level":"max"' in child_input.replace(" ", "")
    assert stub.requests == []


async def test_coordinate_command_prints_each_specialist_and_the_answer(
    worker: RunningWorker,
) -> None:
    result = await hybridagent(
        "coordinate", "What is 3 plus 4?", "--specialist", "math-tutor",
        "--specialist", "creative-writer", env=worker_env(worker),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("specialists (request): math-tutor, creative-writer")
    assert "## math-tutor (local/smollm2)" in out and "## creative-writer (local/smollm2)" in out
    assert "## answer" in out and "/namespaces/default/workflows/hybridagent-coord-" in out


async def test_coordinate_command_refuses_an_unknown_specialist(worker: RunningWorker) -> None:
    result = await hybridagent("coordinate", "hi", "--specialist", "nobody", env=worker_env(worker))
    assert_one_sentence_error(result, "Unknown agent 'nobody'")
