"""AgentWorkflow and the haiku samples on a real Temporal dev server, with the real
embedded model as the local model and the recording stub as every cloud API.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from hybridagent.testing.stub_server import StubServer, tool_then_text
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput
from tests.conftest import RunningWorker
from tests.helpers import (
    activity_attempts,
    activity_summaries,
    history_of,
    replay,
    scheduled_activities,
)


@pytest.fixture(scope="session")
async def client(worker: RunningWorker) -> Client:
    return await connect(worker.settings)


async def execute(
    client: Client, worker: RunningWorker, workflow: str, arg: Any
) -> tuple[AgentRunOutput, Any]:
    handle = await client.start_workflow(
        workflow,
        arg,
        id=f"test-{uuid.uuid4().hex[:10]}",
        task_queue=worker.settings.task_queue,
        result_type=AgentRunOutput,
    )
    return await handle.result(), handle


async def failure_of(
    client: Client, worker: RunningWorker, workflow: str, arg: Any
) -> tuple[ApplicationError, Any]:
    handle = await client.start_workflow(
        workflow, arg, id=f"test-{uuid.uuid4().hex[:10]}", task_queue=worker.settings.task_queue
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause, handle


async def test_agent_workflow_on_embedded_model(client: Client, worker: RunningWorker) -> None:
    # No model given: with Ollama down, the worker's default is the embedded model.
    result, handle = await execute(
        client, worker, "AgentWorkflow", {"prompt": "Say hello to Ada in one sentence."}
    )
    assert result.final_output.strip()
    assert result.models_used == ["local/smollm2"]
    assert result.agent == "general"
    assert result.usage.requests == 1
    assert result.usage.input_tokens > 10 and result.usage.output_tokens > 0
    history = await history_of(client, handle)
    calls = [
        inputs for name, inputs in scheduled_activities(history) if name == "invoke_model_activity"
    ]
    assert len(calls) == 1 and calls[0][0]["model_name"] == "local/smollm2"
    [label] = activity_summaries(history)
    assert label.startswith("general · local/smollm2 · routed: complexity ")
    await replay(history, worker.settings)


async def test_local_haiku_sample_calls_weather_tool_as_activity(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    result, handle = await execute(
        client, worker, "LocalHaikuWorkflow", {"prompt": "What's the weather in Tokyo?"}
    )
    assert result.final_output.strip()
    assert result.models_used == ["local/smollm2"]
    assert result.usage.requests >= 2 and result.usage.output_tokens > 0
    history = await history_of(client, handle)
    tools = [inputs for name, inputs in scheduled_activities(history) if name == "get_weather"]
    assert tools and "tokyo" in json.dumps(tools[0]).lower()
    assert stub.requests == []  # a local run never touches a cloud endpoint
    await replay(history, worker.settings)


async def test_litellm_haiku_sample_against_recording_stub(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    stub.reply = tool_then_text("get_weather", {"city": "Paris"}, "Sun over the Seine")
    result, handle = await execute(
        client,
        worker,
        "LitellmHaikuWorkflow",
        {"prompt": "Weather in Paris?", "model": "litellm/openai/gpt-4o-mini"},
    )
    assert result.final_output == "Sun over the Seine"
    assert result.models_used == ["litellm/openai/gpt-4o-mini"]
    assert result.usage.input_tokens == 22 and result.usage.requests == 2
    first, second = (r.body for r in stub.requests)
    assert first["model"] == "gpt-4o-mini"
    assert [t["function"]["name"] for t in first["tools"]] == ["get_weather"]
    assert first["messages"][0] == {"role": "system", "content": "You only respond in haikus."}
    tool_messages = [m for m in second["messages"] if m["role"] == "tool"]
    assert "The weather in Paris is sunny" in tool_messages[0]["content"]
    assert stub.requests[0].headers["authorization"] == "Bearer sk-test-stub-key"
    await replay(await history_of(client, handle), worker.settings)


async def test_openai_model_against_recording_stub(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    result, _ = await execute(
        client, worker, "AgentWorkflow", {"prompt": "Hi", "model": "openai/gpt-4o-mini"}
    )
    assert result.final_output == "stub answer"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (11, 7)
    assert [r.body["model"] for r in stub.requests] == ["gpt-4o-mini"]
    assert stub.requests[0].path == "/v1/chat/completions"


async def test_unknown_model_prefix_fails_at_once(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    cause, handle = await failure_of(
        client, worker, "AgentWorkflow", {"prompt": "x", "model": "gemini/pro"}
    )
    assert cause.type == "UnknownModelError" and cause.non_retryable
    assert "valid prefixes are ollama, local, openai, litellm" in cause.message
    assert stub.requests == []
    await replay(await history_of(client, handle), worker.settings)


async def test_unknown_agent_fails_at_once(client: Client, worker: RunningWorker) -> None:
    cause, _ = await failure_of(client, worker, "AgentWorkflow", {"prompt": "x", "agent": "nobody"})
    assert cause.type == "UnknownAgentError"
    assert cause.message.startswith("Unknown agent 'nobody'; built-in agents are general, ")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"promt": "typo"},
            "AgentWorkflow input is invalid: promt: is not a field of this input "
            "(did you mean 'prompt'?).",
        ),
        ({"agent": "general"}, "AgentWorkflow input is invalid: prompt: is required."),
        (
            {"prompt": ""},
            "AgentWorkflow input is invalid: prompt: String should have at least 1 character.",
        ),
        (
            {"prompt": "x", "max_turns": 0},
            "AgentWorkflow input is invalid: max_turns: "
            "Input should be greater than or equal to 1.",
        ),
    ],
)
async def test_malformed_input_fails_with_one_sentence(
    client: Client, worker: RunningWorker, payload: dict[str, Any], expected: str
) -> None:
    cause, _ = await failure_of(client, worker, "AgentWorkflow", payload)
    assert cause.type == "InvalidWorkflowInput"
    assert cause.message == expected


async def test_unreachable_ollama_falls_back_at_once(client: Client, worker: RunningWorker) -> None:
    result, handle = await execute(
        client, worker, "AgentWorkflow", {"prompt": "Say hi.", "model": "ollama/llama3.2"}
    )
    assert result.models_used == ["local/smollm2"]
    history = await history_of(client, handle)
    # Refused connections with another model available: no retry backoff, the fallback
    # takes the call at once; both calls are visible activities.
    assert activity_attempts(history) == [1, 1]
    models = [
        i[0]["model_name"] for n, i in scheduled_activities(history) if n == "invoke_model_activity"
    ]
    assert models == ["ollama/llama3.2", "local/smollm2"]
    labels = activity_summaries(history)
    assert labels[1].startswith(
        "general · local/smollm2 · routed: fallback: ollama/llama3.2 failed "
        "(ProviderUnreachableError)"
    )
    await replay(history, worker.settings)


async def test_local_sample_refuses_cloud_model(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    cause, _ = await failure_of(
        client, worker, "LocalHaikuWorkflow", {"prompt": "x", "model": "openai/gpt-4o-mini"}
    )
    assert "runs on local models only" in cause.message
    assert stub.requests == []


@pytest.fixture(scope="module")
async def keyless_worker(
    temporal_address: str, embedded_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningWorker]:
    from tests.conftest import make_settings, running_worker

    settings = make_settings(
        temporal_address, tmp_path_factory.mktemp("keyless"), embedded_url=embedded_url
    )
    async with running_worker(settings) as running:
        yield running


async def test_missing_openai_key_fails_a_strict_run_without_retry(
    client: Client, keyless_worker: RunningWorker, stub: StubServer
) -> None:
    cause, handle = await failure_of(
        client, keyless_worker, "AgentWorkflow",
        {"prompt": "x", "model": "openai/gpt-4o-mini", "strict": True},
    )  # fmt: skip
    assert cause.type == "RequestedModelUnavailable"
    assert "(no OPENAI_API_KEY is set on the worker)" in cause.message
    assert stub.requests == []
