"""Every registered workflow rejects a bad input at once: no input, a value that is not
an object, an unknown field, a wrong type, an unknown tool, a chat session with an agent
or model that does not exist. Each fails the workflow (not its task, which Temporal
would retry forever) with one sentence, on the real dev server and worker."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from hybridagent.runners.devserver import temporal_binary
from hybridagent.workers.temporal_client import connect
from tests.conftest import RunningWorker

NO_INPUT = object()  # start the workflow with no argument at all


@pytest.fixture(scope="module")
async def client(worker: RunningWorker) -> Client:
    return await connect(worker.settings)


async def failed_at_once(handle: WorkflowHandle[Any, Any]) -> ApplicationError:
    """The workflow's failure, after checking no workflow task failed on the way."""
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    kinds = [event.event_type for event in (await handle.fetch_history()).events]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    return cause


async def start(client: Client, worker: RunningWorker, workflow: str, arg: Any) -> Any:
    args = [] if arg is NO_INPUT else [arg]
    return await client.start_workflow(
        workflow, args=args, id=f"strict-{uuid.uuid4().hex[:10]}",
        task_queue=worker.settings.task_queue,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("workflow", "arg", "message"),
    [
        (
            "AgentWorkflow",
            NO_INPUT,
            'AgentWorkflow was started with no input; it needs a JSON object with "prompt" '
            "(or the prompt as a JSON string).",
        ),
        (
            "CoordinatorWorkflow",
            NO_INPUT,
            "CoordinatorWorkflow was started with no input; it needs a JSON object with "
            '"prompt" (or the prompt as a JSON string).',
        ),
        (
            "PullModelWorkflow",
            NO_INPUT,
            'PullModelWorkflow was started with no input; it needs a JSON object with "model" '
            "(or the model as a JSON string).",
        ),
        (
            "AgentWorkflow",
            5,
            "AgentWorkflow input must be a JSON object (or the prompt as a JSON string), "
            "not a number.",
        ),
        (
            "ChatSessionWorkflow",
            ["hi"],
            "ChatSessionWorkflow input must be a JSON object (or the agent as a JSON string), "
            "not a list.",
        ),
        (
            "AgentWorkflow",
            {"prompt": "hi", "bogus": 1},
            "AgentWorkflow input is invalid: bogus: is not a field of this input.",
        ),
        (
            "AgentWorkflow",
            {"promt": "hi"},
            "AgentWorkflow input is invalid: promt: is not a field of this input "
            "(did you mean 'prompt'?).",
        ),
        (
            "AgentWorkflow",
            {"prompt": "hi", "routing": {"privacy": "max"}},
            "AgentWorkflow input is invalid: routing.privacy: is not a field of this input.",
        ),
        (
            "AgentWorkflow",
            {"prompt": 5},
            "AgentWorkflow input is invalid: prompt: Input should be a valid string.",
        ),
        (
            "CoordinatorWorkflow",
            {"prompt": "hi", "specialist": ["math-tutor"]},
            "CoordinatorWorkflow input is invalid: specialist: is not a field of this input "
            "(did you mean 'specialists'?).",
        ),
        (
            "LocalHaikuWorkflow",
            {"prompt": "hi", "modle": "local/smollm2"},
            "LocalHaikuWorkflow input is invalid: modle: is not a field of this input "
            "(did you mean 'model'?).",
        ),
        (
            "ChatSessionWorkflow",
            {"agnet": "general"},
            "ChatSessionWorkflow input is invalid: agnet: is not a field of this input "
            "(did you mean 'agent'?).",
        ),
        (
            "ChatSessionWorkflow",
            {"max_turns": "many"},
            "ChatSessionWorkflow input is invalid: max_turns: "
            "Input should be a valid integer, unable to parse string as an integer.",
        ),
    ],
)
async def test_bad_input_fails_the_workflow_at_once_with_one_sentence(
    client: Client, worker: RunningWorker, workflow: str, arg: Any, message: str
) -> None:
    cause = await failed_at_once(await start(client, worker, workflow, arg))
    assert (cause.type, cause.message) == ("InvalidWorkflowInput", message)


async def test_a_temporal_cli_start_with_no_input_fails_at_once(
    client: Client, worker: RunningWorker
) -> None:
    workflow_id = f"strict-cli-{uuid.uuid4().hex[:10]}"
    started = await asyncio.to_thread(
        subprocess.run,
        [
            str(temporal_binary()), "workflow", "start", "--type", "AgentWorkflow",
            "--task-queue", worker.settings.task_queue, "--workflow-id", workflow_id,
            "--address", worker.settings.temporal_address,
        ],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    cause = await failed_at_once(client.get_workflow_handle(workflow_id))
    assert cause.message.startswith("AgentWorkflow was started with no input")


async def test_an_unknown_tool_in_an_inline_spec_is_an_unknown_tool(
    client: Client, worker: RunningWorker
) -> None:
    spec = {"name": "mine", "instructions": "Be brief.", "tools": ["get_wether"]}
    cause = await failed_at_once(
        await start(client, worker, "AgentWorkflow", {"prompt": "hi", "spec": spec})
    )
    assert cause.type == "UnknownToolError"
    assert cause.message.startswith("Unknown tool 'get_wether'; available tools are: get_weather")


@pytest.mark.parametrize(
    ("arg", "kind", "starts"),
    [
        ({"agent": "nobody"}, "UnknownAgentError", "Unknown agent 'nobody'"),
        ({"model": "nowhere/x"}, "UnknownModelError", "Unknown model"),
    ],
)
async def test_a_chat_session_that_cannot_answer_fails_at_start(
    client: Client, worker: RunningWorker, arg: dict[str, Any], kind: str, starts: str
) -> None:
    cause = await failed_at_once(await start(client, worker, "ChatSessionWorkflow", arg))
    assert cause.type == kind and cause.message.startswith(starts), cause.message
