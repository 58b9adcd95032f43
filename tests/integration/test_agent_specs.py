"""Agent specs on a real Temporal dev server: a user-defined agent from a file in the
worker's agents directory, an inline spec (with a handoff to a file agent), structured
output from an output schema on the embedded model, and replays of those runs."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from hybridagent.agents.catalog import CONVERSATION_STATE_SCHEMA
from hybridagent.agents.files import AgentStore
from hybridagent.agents.spec import AgentSpec
from hybridagent.testing.stub_server import StubServer, text_reply, tool_then_text
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunInput, AgentRunOutput
from tests.conftest import RunningWorker
from tests.helpers import history_of, local_activities, replay
from tests.integration.test_cli import hybridagent, worker_env

PIRATE = AgentSpec(
    name="spec-test-pirate",
    instructions="You are Captain Flint. Answer every question like a pirate.",
    tools=["get_weather"],
)
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "sunny": {"type": "boolean"}},
    "required": ["city", "sunny"],
    "additionalProperties": False,
}


@pytest.fixture(scope="session")
async def client(worker: RunningWorker) -> Client:
    return await connect(worker.settings)


@pytest.fixture(scope="session")
def user_agents(worker: RunningWorker) -> AgentStore:
    """The worker's own agents directory, with one user-defined agent in it."""
    store = AgentStore(worker.settings.agents_path)
    store.save(PIRATE)
    return store


async def start(
    client: Client, worker: RunningWorker, request: AgentRunInput
) -> WorkflowHandle[Any, AgentRunOutput]:
    return await client.start_workflow(
        "AgentWorkflow",
        request,
        id=f"test-spec-{uuid.uuid4().hex[:10]}",
        task_queue=worker.settings.task_queue,
        result_type=AgentRunOutput,
    )


def system_prompt(body: dict[str, Any]) -> str:
    first = body["messages"][0]
    assert first["role"] == "system"
    return str(first["content"])


async def test_user_agent_from_file_reaches_the_model(
    client: Client, worker: RunningWorker, user_agents: AgentStore, stub: StubServer
) -> None:
    stub.reply = text_reply("Arr, fair winds.")
    request = AgentRunInput(prompt="How are you?", agent=PIRATE.name, model="openai/gpt-4o-mini")
    handle = await start(client, worker, request)
    result = await handle.result()
    assert result.final_output == "Arr, fair winds."
    assert result.agent == PIRATE.name
    [call] = stub.requests
    assert system_prompt(call.body) == PIRATE.instructions
    assert [t["function"]["name"] for t in call.body["tools"]] == ["get_weather"]
    history = await history_of(client, handle)
    # One local activity starts the run: agent, routing setup and the prompt's scan.
    assert local_activities(history) == ["start_run"]
    # The spec is in the history: a later edit or deletion of the file cannot change
    # the replay.
    await replay(history, worker.settings)


async def test_inline_spec_hands_off_to_a_file_agent(
    client: Client, worker: RunningWorker, user_agents: AgentStore, stub: StubServer
) -> None:
    inline = AgentSpec(
        name="triage",
        instructions="Hand every question about the sea to the pirate.",
        handoffs=[PIRATE.name],
    )
    stub.reply = tool_then_text(f"transfer_to_{PIRATE.name.replace('-', '_')}", {}, "Arr!")
    request = AgentRunInput(prompt="Tell me of the sea.", spec=inline, model="openai/gpt-4o-mini")
    handle = await start(client, worker, request)
    result = await handle.result()
    assert result.final_output == "Arr!" and result.agent == PIRATE.name
    first, second = stub.requests
    assert system_prompt(first.body) == inline.instructions
    assert system_prompt(second.body) == PIRATE.instructions
    await replay(await history_of(client, handle), worker.settings)


async def test_inline_spec_of_builtins_needs_no_activity(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    inline = AgentSpec(name="inline-helper", instructions="Answer in French.")
    request = AgentRunInput(prompt="Hello", spec=inline, model="openai/gpt-4o-mini")
    handle = await start(client, worker, request)
    assert (await handle.result()).final_output == "stub answer"
    assert system_prompt(stub.requests[0].body) == "Answer in French."
    assert local_activities(await history_of(client, handle)) == ["start_run"]


async def test_unknown_agent_fails_at_once_naming_the_directory(
    client: Client, worker: RunningWorker
) -> None:
    handle = await start(client, worker, AgentRunInput(prompt="Hi", agent="nobody"))
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    assert cause.type == "UnknownAgentError"
    assert cause.message.startswith("Unknown agent 'nobody'; built-in agents are general, ")
    assert f"{worker.settings.agents_path} has no nobody.toml or nobody.yaml" in cause.message


async def test_output_schema_gives_a_validated_object_on_the_embedded_model(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    spec = AgentSpec(
        name="weather-report",
        instructions="Fill in the weather report from the user's message.",
        output_schema=SCHEMA,
    )
    request = AgentRunInput(prompt="Paris is sunny today.", spec=spec, model="local/smollm2")
    handle = await start(client, worker, request)
    result = await handle.result()
    assert result.models_used == ["local/smollm2"]
    assert result.structured_output is not None
    Draft202012Validator(SCHEMA).validate(result.structured_output)
    assert json.loads(result.final_output) == result.structured_output
    assert stub.requests == []
    await replay(await history_of(client, handle), worker.settings)


async def test_conversation_manager_tracks_state_on_the_embedded_model(
    client: Client, worker: RunningWorker
) -> None:
    prompt = "We are choosing a database for our app. Should we use SQLite or PostgreSQL?"
    request = AgentRunInput(prompt=prompt, agent="conversation-manager", model="local/smollm2")
    result = await (await start(client, worker, request)).result()
    assert result.structured_output is not None
    Draft202012Validator(CONVERSATION_STATE_SCHEMA).validate(result.structured_output)


async def test_cli_creates_an_agent_the_worker_then_runs(
    worker: RunningWorker, stub: StubServer
) -> None:
    """`agents create` and `run --agent` in subprocesses, sharing the worker's directory."""
    env = worker_env(worker) | {"HYBRIDAGENT_AGENTS_DIR": str(worker.settings.agents_path)}
    created = await hybridagent(
        "agents", "create", "spec-test-poet", "--instructions", "Answer in rhyming couplets.",
        env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    stub.reply = text_reply("Roses are red.")
    result = await hybridagent(
        "run", "Hi", "--agent", "spec-test-poet", "--model", "openai/gpt-4o-mini", env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Roses are red."
    assert "agent: spec-test-poet" in result.stdout
    assert system_prompt(stub.requests[0].body) == "Answer in rhyming couplets."
