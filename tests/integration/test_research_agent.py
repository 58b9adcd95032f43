"""The research agent through the knowledge-base tools: a garbled emulated step never
reaches the user as the answer (issue 12, item 7).

On the real embedded model (SmolLM2, tools by schema-constrained emulation) the test
asserts the property, not the model's skill: every run either answers in words or fails
with one clean model-failure sentence. With scripted models, a step garbled twice falls
back to the next model by policy.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from hybridagent.config import Settings
from hybridagent.providers.tool_emulation import ToolEmulatingModel, looks_like_step
from hybridagent.routing.preferences import RoutingSettings
from hybridagent.storage import open_storage
from hybridagent.testing.scripted_model import ScriptedBackend, ScriptedModel, text_response
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput, RoutingRecord
from tests.conftest import RunningWorker, make_settings, running_worker
from tests.helpers import scripted_worker

# The model failures a tool-using step on a small model may end in (providers/errors.py).
MODEL_FAILURES = {"MalformedToolStepError", "InvalidToolCallError"}
DOCUMENTS = [
    ("Refunds", "policy.md", "# Refunds\n\nRefunds take 30 days from the date of purchase."),
    ("Office", "office.txt", "The office cat is called Mittens. She likes the sunny window."),
]
# Prompts on which SmolLM2 sent cut-off step JSON that used to be printed as the answer.
PROMPTS = ["How long do refunds take?", "Summarise the knowledge base."]


def is_step_json(text: str) -> bool:
    """The answer is (the start of) an emulation step object rather than words."""
    if looks_like_step(text):
        return True
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(data, dict) and "action" in data


@pytest.fixture(scope="module")
async def research_worker(
    temporal_address: str, embedded_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningWorker]:
    """The embedded model as the only model, and a knowledge base with two documents."""
    settings = make_settings(
        temporal_address, tmp_path_factory.mktemp("research"), embedded_url=embedded_url
    )
    storage = open_storage(settings.database_url, settings.state_dir)
    try:
        storage.add_documents(DOCUMENTS)
    finally:
        storage.close()
    async with running_worker(settings) as running:
        yield running


@pytest.mark.parametrize("prompt", PROMPTS)
async def test_research_answer_on_the_embedded_model_is_never_step_json(
    research_worker: RunningWorker, prompt: str
) -> None:
    client = await connect(research_worker.settings)
    handle = await client.start_workflow(
        "AgentWorkflow", {"prompt": prompt, "agent": "research"},
        id=f"research-{uuid.uuid4().hex[:10]}", task_queue=research_worker.settings.task_queue,
        result_type=AgentRunOutput,
    )  # fmt: skip
    try:
        result = await handle.result()
    except WorkflowFailureError as err:
        cause = err.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type in MODEL_FAILURES, cause.message
        assert "\n" not in cause.message and "{" not in cause.message
        return
    assert result.models_used == ["local/smollm2"]
    assert result.final_output.strip(), "an empty answer"
    assert not is_step_json(result.final_output.strip()), result.final_output


GARBLED = '{ "action": "final_answer", "arguments": { "document_id" : "} }\nThis is a'


async def test_a_step_garbled_twice_falls_back_to_the_next_model(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,
        task_queue=f"garbled-{uuid.uuid4().hex[:8]}",
        state_dir=tmp_path,
        model_max_attempts=3,
        routing=RoutingSettings(local_models=["local/scripted"], cloud_models=["openai/scripted"]),
    )
    local = ScriptedModel(lambda n: text_response(GARBLED))
    cloud = ScriptedModel(lambda n: text_response("Refunds take 30 days."))
    backends: dict[str, Any] = {
        "local": ScriptedBackend(ToolEmulatingModel(local)),
        "openai": ScriptedBackend(cloud, prefix="openai"),
    }
    async with scripted_worker(temporal_env, settings, backends) as client:
        handle = await client.start_workflow(
            "AgentWorkflow", {"prompt": "How long do refunds take?", "agent": "research"},
            id=f"garbled-{uuid.uuid4().hex[:8]}", task_queue=settings.task_queue,
            result_type=AgentRunOutput,
        )  # fmt: skip
        result = await handle.result()
        trail = await handle.query("routing_trail", result_type=list[RoutingRecord])
    assert result.final_output == "Refunds take 30 days."
    assert result.models_used == ["openai/scripted"]
    # Asked, asked once more, then a model failure: not retried on the same model.
    assert local.calls == 2 and cloud.calls == 1
    assert [(r.model, r.fallback_from, r.failure) for r in trail] == [
        ("local/scripted", None, None),
        ("openai/scripted", "local/scripted", "MalformedToolStepError"),
    ]


async def test_a_step_garbled_twice_with_no_other_model_fails_in_one_sentence(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None, task_queue=f"garbled-{uuid.uuid4().hex[:8]}", state_dir=tmp_path
    )
    local = ScriptedModel(lambda n: text_response(GARBLED))
    async with scripted_worker(
        temporal_env, settings, {"local": ScriptedBackend(ToolEmulatingModel(local))}
    ) as client:
        handle = await client.start_workflow(
            "AgentWorkflow", {"prompt": "How long do refunds take?", "agent": "research"},
            id=f"garbled-{uuid.uuid4().hex[:8]}", task_queue=settings.task_queue,
            result_type=AgentRunOutput,
        )  # fmt: skip
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "MalformedToolStepError"
    assert cause.message.startswith("The model sent a cut-off or garbled reply twice")
    assert local.calls == 2  # non-retryable: the same model would answer the same
