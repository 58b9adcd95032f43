"""Per-call routing on the real dev server: the embedded model is "local", the recording
stub is "cloud", and the stub is the privacy canary — it must never see a sensitive value.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from hybridagent.routing.preferences import RoutingPreferences, RoutingSettings
from hybridagent.testing.stub_server import StubServer, tool_then_text
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput, RoutingRecord
from tests.conftest import RunningWorker, make_settings, running_worker
from tests.helpers import activity_summaries, replay

SSN = "512-48-7730"
HARD = (
    "Explain step by step why this is slow, compare two designs and analyze the trade-offs: "
    "```def fib(n): return fib(n - 1) + fib(n - 2)```"
)


@pytest.fixture(scope="module")
async def client(worker: RunningWorker) -> Client:
    return await connect(worker.settings)


async def start(client: Client, queue: str, payload: dict[str, Any]) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        "AgentWorkflow", payload, id=f"route-{uuid.uuid4().hex[:10]}", task_queue=queue,
        result_type=AgentRunOutput,
    )  # fmt: skip


async def trail(handle: WorkflowHandle[Any, Any]) -> list[RoutingRecord]:
    return await handle.query("routing_trail", result_type=list[RoutingRecord])


def leaked(stub: StubServer, *values: str) -> bool:
    return any(value in json.dumps(r.body) for r in stub.requests for value in values)


async def test_hard_non_sensitive_call_goes_to_cloud(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    handle = await start(
        client,
        worker.settings.task_queue,
        {"prompt": HARD, "routing": {"latency_preference": "quality"}},
    )
    result = await handle.result()
    assert result.final_output == "stub answer"
    assert result.models_used == ["openai/gpt-4o-mini"]
    [record] = await trail(handle)
    assert record.model == "openai/gpt-4o-mini" and not record.local_only
    assert any(reason.startswith("complexity ") for reason in record.reasons)
    assert len(stub.requests) == 1


async def test_easy_call_stays_local(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    handle = await start(client, worker.settings.task_queue, {"prompt": "Say hi.", "routing": {}})
    result = await handle.result()
    assert result.models_used == ["local/smollm2"]
    assert stub.requests == []


async def test_sensitive_prompt_stays_local_even_when_cloud_is_forced(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    payload = {"prompt": f"My SSN is {SSN}. {HARD}", "routing": {"force_provider": "cloud"}}
    handle = await start(client, worker.settings.task_queue, payload)
    result = await handle.result()
    assert result.models_used == ["local/smollm2"]
    [record] = await trail(handle)
    assert record.local_only and record.finding_types == ["us_ssn"]
    assert "force_provider=cloud refused: the call must stay local" in record.reasons
    assert stub.requests == [] and not leaked(stub, SSN)
    assert SSN not in json.dumps([r.model_dump() for r in await trail(handle)])
    [label] = activity_summaries(await handle.fetch_history())
    assert label.startswith("general · local/smollm2 · local only: sensitive input (us_ssn)")
    assert SSN not in label


async def test_sensitive_tool_result_pins_the_rest_of_the_run(
    client: Client, worker: RunningWorker, stub: StubServer
) -> None:
    # The cloud model asks for the weather of a "city" that is an e-mail address; the tool
    # echoes it, so the next call's input is sensitive: it and every later call stay local.
    email = "ana.kowalski@northwind.io"
    stub.reply = tool_then_text("get_weather", {"city": email}, "cloud must not answer this")
    payload = {
        "prompt": "What's the weather?",
        "spec": {"name": "weather", "instructions": "Use tools.", "tools": ["get_weather"]},
        "routing": {"force_provider": "cloud"},
        "max_turns": 4,
    }
    handle = await start(client, worker.settings.task_queue, payload)
    result = await handle.result()
    records = await trail(handle)
    assert records[0].model == "openai/gpt-4o-mini" and not records[0].local_only
    assert all(r.model == "local/smollm2" and r.local_only for r in records[1:])
    assert records[1].finding_types == ["email"]
    assert len(stub.requests) == 1  # only the first, non-sensitive call reached the cloud
    assert not any(
        "Result of" in json.dumps(r.body) or "sunny" in json.dumps(r.body) for r in stub.requests
    )
    assert result.models_used[0] == "openai/gpt-4o-mini" and "local/smollm2" in result.models_used
    await replay(await handle.fetch_history(), worker.settings)


@pytest.fixture(scope="module")
async def no_local_worker(
    temporal_address: str, cloud_stub: StubServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningWorker]:
    settings = make_settings(
        temporal_address, tmp_path_factory.mktemp("nolocal"), embedded="off",
        openai_api_key="sk-test-stub-key", openai_base_url=cloud_stub.base_url,
        cloud_model="openai/gpt-4o-mini",
    )  # fmt: skip
    async with running_worker(settings) as running:
        yield running


async def test_sensitive_prompt_with_no_local_model_fails_instead_of_going_to_cloud(
    client: Client, no_local_worker: RunningWorker, stub: StubServer
) -> None:
    handle = await start(
        client,
        no_local_worker.settings.task_queue,
        {"prompt": f"SSN {SSN}, explain", "routing": {}},
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "NoModelForCall"
    assert cause.message == (
        "No local model can take this call: openai/gpt-4o-mini: cloud model, call must stay local."
    )
    assert stub.requests == []


@pytest.fixture(scope="module")
async def configured_worker(
    temporal_address: str,
    embedded_url: str,
    cloud_stub: StubServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningWorker]:
    """Routing from configuration: every non-sensitive call is "hard" (threshold 0), so
    only privacy keeps a call local."""
    routing = RoutingSettings(
        cloud_models=["openai/gpt-4o-mini"],
        complexity_threshold=0.0,
        latency_shift=0.0,
        terms=["Project Falcon"],
        agents={"auditor": RoutingPreferences(privacy_level="max")},
    )
    settings = make_settings(
        temporal_address, tmp_path_factory.mktemp("configured"), embedded_url=embedded_url,
        openai_api_key="sk-test-stub-key", openai_base_url=cloud_stub.base_url, routing=routing,
    )  # fmt: skip
    async with running_worker(settings) as running:
        yield running


async def test_configured_term_keeps_the_call_local(
    client: Client, configured_worker: RunningWorker, stub: StubServer
) -> None:
    queue = configured_worker.settings.task_queue
    control = await start(client, queue, {"prompt": "What is the status of the project?"})
    assert (await control.result()).models_used == ["openai/gpt-4o-mini"]
    stub.requests.clear()
    handle = await start(client, queue, {"prompt": "What is the status of project falcon?"})
    assert (await handle.result()).models_used == ["local/smollm2"]
    [record] = await trail(handle)
    assert record.finding_types == ["custom_term"] and record.local_only
    assert stub.requests == []


async def test_agent_preferences_from_configuration_and_spec(
    client: Client, configured_worker: RunningWorker, stub: StubServer
) -> None:
    queue = configured_worker.settings.task_queue
    auditor = await start(client, queue, {"prompt": "Say hi.", "spec": {"name": "auditor"}})
    assert (await auditor.result()).models_used == ["local/smollm2"]
    assert "privacy_level=max" in (await trail(auditor))[0].reasons
    spec = {"name": "homebody", "routing": {"force_provider": "local"}}
    homebody = await start(client, queue, {"prompt": "Say hi.", "spec": spec})
    assert (await homebody.result()).models_used == ["local/smollm2"]
    assert stub.requests == []
    # The request's own preference wins over the spec's.
    request = {"prompt": "Say hi.", "spec": spec, "routing": {"force_provider": "cloud"}}
    overridden = await start(client, queue, request)
    assert (await overridden.result()).models_used == ["openai/gpt-4o-mini"]
    assert len(stub.requests) == 1


@pytest.fixture(scope="module")
async def priced_worker(
    temporal_address: str,
    embedded_url: str,
    cloud_stub: StubServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningWorker]:
    """Two cloud models on the stub, the dearer first (LiteLLM's map: gpt-4o about $4.38
    per million tokens, gpt-4o-mini $0.26), and no threshold at all: every call is hard."""
    routing = RoutingSettings(
        cloud_models=["openai/gpt-4o", "openai/gpt-4o-mini"],
        complexity_threshold=0.0,
        latency_shift=0.0,
        cost_shift=0.0,
    )
    settings = make_settings(
        temporal_address, tmp_path_factory.mktemp("priced"), embedded_url=embedded_url,
        openai_api_key="sk-test-stub-key", openai_base_url=cloud_stub.base_url, routing=routing,
    )  # fmt: skip
    async with running_worker(settings) as running:
        yield running


async def test_priority_cost_takes_the_cheapest_capable_cloud_model(
    client: Client, priced_worker: RunningWorker, stub: StubServer
) -> None:
    queue = priced_worker.settings.task_queue
    balanced = await start(client, queue, {"prompt": HARD})
    assert (await balanced.result()).models_used == ["openai/gpt-4o"]
    cheap = await start(client, queue, {"prompt": HARD, "routing": {"latency_preference": "cost"}})
    assert (await cheap.result()).models_used == ["openai/gpt-4o-mini"]
    [record] = await trail(cheap)
    assert record.reasons[-1] == (
        "priority=cost: cheapest capable cloud model openai/gpt-4o-mini ($0.26 per million tokens)"
    )
    assert [r.body["model"] for r in stub.requests] == ["gpt-4o", "gpt-4o-mini"]
    # The prices are in the recorded setup: the run replays without the worker's map.
    await replay(await cheap.fetch_history(), priced_worker.settings)
