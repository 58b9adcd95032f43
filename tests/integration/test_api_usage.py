"""GET /v1/usage on the real API (uvicorn, a real worker writing the ledger, the
embedded model as local and the recording stub as the cloud): a key sees the calls it
just made, split local and cloud with their cost and savings, and its budget spent;
another key sees none of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from hybridagent.api.keys import KeyLimits, open_key_store
from hybridagent.testing.stub_server import StubServer, text_reply
from tests.conftest import RunningWorker
from tests.integration.test_api import Api, serving_api


@pytest.fixture(scope="module")
async def api(worker: RunningWorker) -> AsyncIterator[Api]:
    async with serving_api(worker) as running:
        yield running


def http(api: Api, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=api.url, headers={"Authorization": f"Bearer {key}"}, timeout=300
    )


async def test_a_key_sees_its_own_calls_split_with_cost_savings_and_budget(
    api: Api, worker: RunningWorker, stub: StubServer
) -> None:
    store = open_key_store(worker.settings)
    try:
        record, key = store.create("usage-reader", KeyLimits(budget_usd=5.0))
    finally:
        store.close()
    stub.reply = text_reply("Hello from the cloud.")
    hours = {datetime.now(UTC).isoformat()[:13]}
    async with http(api, key) as client:
        for model in ("openai/gpt-4o-mini", "local/smollm2"):
            done = await client.post(
                "/v1/chat/completions",
                json={"model": model, "max_tokens": 16,
                      "messages": [{"role": "user", "content": "Say hello."}]},
            )  # fmt: skip
            assert done.status_code == 200, done.text
        by_model = (await client.get("/v1/usage", params={"since": "1h"})).json()
        hours.add(datetime.now(UTC).isoformat()[:13])
        by_hour = (await client.get("/v1/usage", params={"by": "hour"})).json()
        bad = await client.get("/v1/usage", params={"since": "yesterday"})
        bad_by = await client.get("/v1/usage", params={"by": "colour"})
    assert by_model["caller"] == "key:usage-reader" and by_model["by"] == "model"
    rows = {row["key"]: row for row in by_model["data"]}
    assert set(rows) == {"openai/gpt-4o-mini", "local/smollm2"}
    cloud, local = rows["openai/gpt-4o-mini"], rows["local/smollm2"]
    assert (cloud["calls"], cloud["local_calls"], cloud["cloud_calls"]) == (1, 0, 1)
    assert (local["calls"], local["local_calls"], local["cloud_calls"]) == (1, 1, 0)
    assert cloud["cost_usd"] > 0 and cloud["savings_usd"] == 0
    assert local["cost_usd"] == 0 and local["savings_usd"] > 0
    assert local["median_latency_ms"] > 0 and cloud["input_tokens"] > 0
    total = by_model["total"]
    assert (total["calls"], total["local_calls"], total["cloud_calls"]) == (2, 1, 1)
    assert total["savings_usd"] == pytest.approx(local["savings_usd"])
    budget = by_model["budget"]
    assert budget["budget_usd"] == 5.0 and budget["shared"] is False
    assert budget["spent_usd"] == pytest.approx(cloud["cost_usd"], rel=0.01)
    assert budget["remaining_usd"] == pytest.approx(5.0 - budget["spent_usd"])
    # The chart's series: the calls are in this hour (UTC; or the last, at a turn).
    assert {row["key"] for row in by_hour["data"]} <= hours
    assert sum(row["calls"] for row in by_hour["data"]) == 2
    assert bad.status_code == 400 and "since takes" in bad.json()["error"]["message"]
    assert bad_by.status_code == 400
    # Another key sees none of them, and no key sees nothing without signing in.
    async with http(api, api.slow_key) as other:
        theirs = (await other.get("/v1/usage")).json()
    assert theirs["data"] == [] and theirs["total"]["calls"] == 0
    assert theirs["budget"]["budget_usd"] is None and theirs["budget"]["remaining_usd"] is None
    async with httpx.AsyncClient(base_url=api.url) as anonymous:
        assert (await anonymous.get("/v1/usage")).status_code == 401
