"""Durable fallback on the real dev server: the embedded model is "local", the loopback
stub is "cloud" and misbehaves on purpose. Every attempt must be a visible activity, a
fallback must never carry a privacy-pinned call to the cloud, and a request the model
refuses as invalid must fail at once.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import ModelSettings, ModelTracing
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from hybridagent.providers.embedded import EmbeddedBackend
from hybridagent.providers.errors import ContextTooLongError
from hybridagent.testing.stub_server import StubServer
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput, RoutingRecord
from tests.conftest import CLOSED_PORT, RunningWorker, make_settings, running_worker
from tests.helpers import activity_attempts, activity_summaries, replay, scheduled_activities

HARD = (
    "Explain step by step why this is slow, compare two designs and analyze the trade-offs: "
    "```def fib(n): return fib(n - 1) + fib(n - 2)```"
)


@pytest.fixture(scope="module")
async def client(worker: RunningWorker) -> Client:
    return await connect(worker.settings)


async def start(client: Client, queue: str, payload: dict[str, Any]) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        "AgentWorkflow", payload, id=f"fallback-{uuid.uuid4().hex[:10]}", task_queue=queue,
        result_type=AgentRunOutput,
    )  # fmt: skip


def model_calls(history: Any) -> list[str]:
    return [
        inputs[0]["model_name"]
        for name, inputs in scheduled_activities(history)
        if name == "invoke_model_activity"
    ]


async def test_cloud_5xx_is_retried_then_falls_back_to_local(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    stub.status = 500
    # Hard enough for the cloud by complexity; force_provider=cloud would (rightly) keep
    # the fallback off local models.
    handle = await start(
        client, worker.settings.task_queue,
        {"prompt": HARD, "routing": {"latency_preference": "quality"}},
    )  # fmt: skip
    result = await handle.result()
    assert result.models_used == ["local/smollm2"] and result.final_output.strip()
    history = await handle.fetch_history()
    assert model_calls(history) == ["openai/gpt-4o-mini", "local/smollm2"]
    assert activity_attempts(history) == [worker.settings.model_max_attempts, 1]
    assert len(stub.requests) == worker.settings.model_max_attempts
    trail = await handle.query("routing_trail", result_type=list[RoutingRecord])
    assert [(r.call, r.model, r.fallback_from, r.failure) for r in trail] == [
        (1, "openai/gpt-4o-mini", None, None),
        (1, "local/smollm2", "openai/gpt-4o-mini", "ProviderServerError"),
    ]
    assert activity_summaries(history)[1].startswith(
        "general · local/smollm2 · routed: fallback: openai/gpt-4o-mini failed"
    )
    await replay(history, worker.settings)


async def test_bad_request_fails_at_once_without_fallback(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    stub.status = 400
    handle = await start(
        client, worker.settings.task_queue,
        {"prompt": "Say hi.", "routing": {"force_provider": "cloud"}},
    )  # fmt: skip
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "BadRequestError"
    assert "refused the request for 'gpt-4o-mini' as invalid (HTTP 400)" in cause.message
    history = await handle.fetch_history()
    assert model_calls(history) == ["openai/gpt-4o-mini"] and activity_attempts(history) == [1]


@pytest.fixture(scope="module")
async def broken_local_worker(
    temporal_address: str, cloud_stub: StubServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningWorker]:
    """The local model's server refuses connections; the cloud stub works."""
    settings = make_settings(
        temporal_address, tmp_path_factory.mktemp("brokenlocal"),
        embedded_url=f"http://127.0.0.1:{CLOSED_PORT}/v1",
        openai_api_key="sk-test-stub-key", openai_base_url=cloud_stub.base_url,
        cloud_model="openai/gpt-4o-mini",
    )  # fmt: skip
    async with running_worker(settings) as running:
        yield running


async def test_failed_local_call_of_a_pinned_run_never_falls_back_to_cloud(
    client: Client, broken_local_worker: RunningWorker, stub: StubServer
) -> None:
    ssn = "512-48-7730"
    queue = broken_local_worker.settings.task_queue
    handle = await start(client, queue, {"prompt": f"My SSN is {ssn}. Which form?"})
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ProviderUnreachableError"
    assert cause.message.startswith("The embedded model server is not reachable")
    assert stub.requests == []
    trail = await handle.query("routing_trail", result_type=list[RoutingRecord])
    assert trail[-1].fallback_from == "local/smollm2" and trail[-1].model is None
    assert trail[-1].rejected["openai/gpt-4o-mini"] == "cloud model, call must stay local"
    # A non-sensitive call on the same worker may fall back to the cloud.
    plain = await start(client, queue, {"prompt": "Say hi."})
    assert (await plain.result()).models_used == ["openai/gpt-4o-mini"]
    assert len(stub.requests) == 1


async def test_refused_local_model_falls_back_with_local_activities_too(
    temporal_address: str, cloud_stub: StubServer, stub: StubServer, tmp_path: Any
) -> None:
    """A failed local activity raises its failure itself, not an ActivityError around it;
    the fallback must catch both kinds."""
    settings = make_settings(
        temporal_address, tmp_path,
        embedded_url=f"http://127.0.0.1:{CLOSED_PORT}/v1",
        openai_api_key="sk-test-stub-key", openai_base_url=cloud_stub.base_url,
        cloud_model="openai/gpt-4o-mini", use_local_activities=True,
    )  # fmt: skip
    async with running_worker(settings) as running:
        client = await connect(running.settings)
        handle = await start(client, settings.task_queue, {"prompt": "Say hi."})
        result = await handle.result()
        history = await handle.fetch_history()
        trail = await handle.query("routing_trail", result_type=list[RoutingRecord])
    assert result.models_used == ["openai/gpt-4o-mini"] and len(stub.requests) == 1
    assert [(r.model, r.fallback_from, r.failure) for r in trail] == [
        ("local/smollm2", None, None),
        ("openai/gpt-4o-mini", "local/smollm2", "ProviderUnreachableError"),
    ]
    await replay(history, settings)


async def test_real_llama_cpp_context_overflow_is_context_too_long(embedded_url: str) -> None:
    backend = EmbeddedBackend(embedded_url)
    # The real server's refusal of a prompt over its 4096-token window must be typed so
    # the workflow can move to a model with a larger context.
    with pytest.raises(ContextTooLongError):
        await backend.get_model("smollm2").get_response(
            None, "word " * 6000, ModelSettings(max_tokens=4), [], None, [],
            ModelTracing.DISABLED, previous_response_id=None, conversation_id=None, prompt=None,
        )  # fmt: skip
    await backend.aclose()
