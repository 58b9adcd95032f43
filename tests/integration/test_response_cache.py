"""The response cache on the real dev server: a repeated non-sensitive call is answered
from the worker's cache, a sensitive one never is, and a fallback model's answer is never
served for the primary model."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from hybridagent.testing.stub_server import StubServer, text_reply
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput
from tests.conftest import RunningWorker, make_settings, running_worker
from tests.integration.test_api import sdk, serving_api
from tests.integration.test_fallback import HARD


@pytest.fixture(scope="module")
async def caching_worker(
    temporal_address: str,
    embedded_url: str,
    cloud_stub: StubServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningWorker]:
    settings = make_settings(
        temporal_address, tmp_path_factory.mktemp("cache"), embedded_url=embedded_url,
        openai_api_key="sk-test-stub-key", openai_base_url=cloud_stub.base_url,
        cloud_model="openai/gpt-4o-mini", response_cache=True,
    )  # fmt: skip
    async with running_worker(settings) as running:
        yield running


async def run(worker: RunningWorker, payload: dict[str, Any]) -> AgentRunOutput:
    client: Client = await connect(worker.settings)
    result: AgentRunOutput = await client.execute_workflow(
        "AgentWorkflow", payload, id=f"cache-{uuid.uuid4().hex[:10]}",
        task_queue=worker.settings.task_queue, result_type=AgentRunOutput,
    )  # fmt: skip
    return result


async def test_repeated_non_sensitive_call_is_answered_from_the_cache(
    caching_worker: RunningWorker, stub: StubServer
) -> None:
    stub.reply = text_reply("cached answer")
    payload = {"prompt": "Name a colour.", "routing": {"force_provider": "cloud"}}
    first, second = await run(caching_worker, payload), await run(caching_worker, payload)
    assert first.final_output == second.final_output == "cached answer"
    assert len(stub.requests) == 1
    assert first.usage.total_tokens > 0 and second.usage.total_tokens == 0
    other = await run(caching_worker, {**payload, "prompt": "Name a fruit."})
    assert other.usage.total_tokens > 0 and len(stub.requests) == 2


async def test_sensitive_calls_are_never_cached(
    caching_worker: RunningWorker, stub: StubServer
) -> None:
    payload = {"prompt": "My SSN is 512-48-7730. Which tax form do I need?"}
    first, second = await run(caching_worker, payload), await run(caching_worker, payload)
    assert first.models_used == second.models_used == ["local/smollm2"]
    assert first.usage.output_tokens > 0 and second.usage.output_tokens > 0
    assert stub.requests == []


async def test_fallback_answer_is_not_served_for_the_primary_model(
    caching_worker: RunningWorker, stub: StubServer
) -> None:
    payload = {"prompt": HARD, "routing": {"latency_preference": "quality"}}
    stub.status = 500
    fell_back = await run(caching_worker, payload)
    assert fell_back.models_used == ["local/smollm2"]
    stub.reset()
    stub.reply = text_reply("the cloud's own answer")
    again = await run(caching_worker, payload)
    assert again.models_used == ["openai/gpt-4o-mini"]
    assert again.final_output == "the cloud's own answer" and len(stub.requests) == 1


async def test_a_cached_completion_says_so_through_the_openai_sdk(
    caching_worker: RunningWorker, stub: StubServer
) -> None:
    stub.reply = text_reply("cached completion")
    hello: Any = [{"role": "user", "content": f"Name a planet ({uuid.uuid4().hex[:6]})."}]
    async with serving_api(caching_worker) as api:
        create = sdk(api).chat.completions.with_raw_response.create
        first = await create(model="openai/gpt-4o-mini", messages=hello)
        second = await create(model="openai/gpt-4o-mini", messages=hello)
    assert len(stub.requests) == 1  # the second was answered by the worker's cache
    assert "x-hybridagent-notice" not in first.headers
    assert second.headers["x-hybridagent-notice"] == "cache"
    [notice] = (second.parse().model_extra or {})["hybridagent_notices"]
    assert notice["code"] == "cache"
    assert second.parse().choices[0].message.content == "cached completion"
