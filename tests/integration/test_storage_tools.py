"""An agent run on the real dev server calls the task and knowledge tools as activities:
the model is scripted (deterministic tool calls), the worker, database and activities
are real, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from agents import ModelResponse, Usage
from openai.types.responses import ResponseFunctionToolCall
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from hybridagent.config import Settings
from hybridagent.storage import open_storage
from hybridagent.testing.scripted_model import ScriptedBackend, ScriptedModel, text_response
from hybridagent.workflows.io import AgentRunOutput
from tests.helpers import replay, scheduled_activities, scripted_worker


def tool_call(name: str, **arguments: object) -> ModelResponse:
    call = ResponseFunctionToolCall(
        arguments=json.dumps(arguments),
        call_id=f"call_{name}",
        name=name,
        type="function_call",
        id=f"fc_{name}",
        status="completed",
    )
    return ModelResponse(output=[call], usage=Usage(requests=1), response_id=None)


def script(*steps: ModelResponse) -> Callable[[int], ModelResponse]:
    return lambda n: steps[n - 1] if n <= len(steps) else text_response("done")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    server: str = request.getfixturevalue("postgres_url")
    name = f"w_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"


async def run_agent_with(
    env: WorkflowEnvironment, config: Settings, model: ScriptedModel, tools: list[str]
) -> tuple[Client, str, AgentRunOutput]:
    workflow_id = f"tools-{uuid.uuid4().hex[:8]}"
    async with scripted_worker(env, config, {"local": ScriptedBackend(model)}) as client:
        handle = await client.start_workflow(
            "AgentWorkflow",
            {
                "prompt": "Note that I must buy milk by 1 December.",
                "spec": {"name": "tasks", "tools": tools},
                "user": "ann",
            },
            id=workflow_id,
            task_queue=config.task_queue,
            result_type=AgentRunOutput,
        )
        output = await handle.result()
    return client, workflow_id, output


async def test_agent_creates_and_lists_a_task_through_activities(
    temporal_env: WorkflowEnvironment, tmp_path: Path, database_url: str | None
) -> None:
    config = Settings(  # type: ignore[call-arg]
        _env_file=None,
        task_queue=f"tools-{uuid.uuid4().hex[:8]}",
        state_dir=tmp_path,
        database_url=database_url,
    )
    model = ScriptedModel(
        script(
            tool_call("create_task", title="Buy milk", notes="oat", due="2026-12-01"),
            tool_call("list_tasks", status="open"),
        )
    )
    client, workflow_id, output = await run_agent_with(
        temporal_env, config, model, ["create_task", "list_tasks"]
    )
    assert output.final_output == "done"

    history = await client.get_workflow_handle(workflow_id).fetch_history()
    tools = [(name, inputs) for name, inputs in scheduled_activities(history)
             if name in ("create_task", "list_tasks")]  # fmt: skip
    assert [name for name, _ in tools] == ["create_task", "list_tasks"]
    created = tools[0][1][0]
    assert {k: created[k] for k in ("user", "title", "notes", "due")} == {
        "user": "ann",
        "title": "Buy milk",
        "notes": "oat",
        "due": "2026-12-01",
    }
    assert tools[1][1] == [{"user": "ann", "status": "open"}]

    storage = open_storage(database_url, tmp_path)
    try:
        tasks = storage.list_tasks("ann")
    finally:
        storage.close()
    # The id was made in workflow code and recorded in the history: one task, that id.
    assert [(t.id, t.title, t.due) for t in tasks] == [
        (created["task_id"], "Buy milk", "2026-12-01")
    ]
    await replay(history, config)


class Recording(ScriptedModel):
    """ScriptedModel that keeps each call's input items."""

    def __init__(self, respond: Callable[[int], ModelResponse]) -> None:
        super().__init__(respond)
        self.inputs: list[Any] = []

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        self.inputs.append(args[1] if len(args) > 1 else kwargs.get("input"))
        return await super().get_response(*args, **kwargs)


@pytest.mark.parametrize(
    ("tools", "call", "told"),
    [
        (
            ["complete_task"],
            tool_call("complete_task", task_id="no-such-task"),
            "Error: There is no task 'no-such-task' for user 'ann'.",
        ),
        (
            ["retrieve_document"],
            tool_call("retrieve_document", document_id="doc-made-up"),
            "Error: There is no document 'doc-made-up' in the knowledge base.",
        ),
        (
            ["create_task"],
            tool_call("create_task", title="milk", notes="", due="1 December"),
            "Error: ",
        ),
    ],
    ids=["unknown-task", "made-up-document", "bad-due-date"],
)
async def test_a_models_mistake_goes_back_to_the_model_and_the_run_goes_on(
    temporal_env: WorkflowEnvironment,
    tmp_path: Path,
    tools: list[str],
    call: ModelResponse,
    told: str,
) -> None:
    """An id the model made up, or an argument the tool cannot take, is the tool's
    result (the error's sentence), not retried and not the end of the run: the model
    sees it on its next call and can correct itself."""
    config = Settings(  # type: ignore[call-arg]
        _env_file=None, task_queue=f"tools-{uuid.uuid4().hex[:8]}", state_dir=tmp_path
    )
    model = Recording(script(call, text_response("Sorry, I could not find it.")))
    client, workflow_id, output = await run_agent_with(temporal_env, config, model, tools)
    assert output.final_output == "Sorry, I could not find it." and model.calls == 2
    results = [
        item["output"]
        for item in model.inputs[1]
        if isinstance(item, dict) and item.get("type") == "function_call_output"
    ]
    assert len(results) == 1 and results[0].startswith(told), results
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    tool_runs = [name for name, _ in scheduled_activities(history) if name == tools[0]]
    assert len(tool_runs) == 1  # the activity failed once, non-retryable
