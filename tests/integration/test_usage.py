"""The usage ledger and the worker's metrics on a real worker (dev server, the embedded
model as local, the recording stub as the cloud): each answered model call is one row
with its routing facts, a call retried after a 500 and a replay of its run count once,
and the worker's /metrics (and the Temporal SDK's) show the calls."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client, WorkflowHandle

from hybridagent.api.costs import cost_usd
from hybridagent.logs import CorrelationFilter, request_context
from hybridagent.providers.embedded import free_loopback_port
from hybridagent.storage import open_storage
from hybridagent.testing.stub_server import StubServer, text_reply
from hybridagent.usage import ledger
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput
from tests.conftest import RunningWorker, make_settings, running_worker
from tests.helpers import activity_attempts, replay

REFERENCE = "openai/gpt-4o-mini"


@pytest.fixture(scope="module")
async def metered(
    temporal_address: str,
    embedded_url: str,
    cloud_stub: StubServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningWorker]:
    """A worker of its own, with its metrics ports set."""
    settings = make_settings(
        temporal_address, tmp_path_factory.mktemp("usage"),
        embedded_url=embedded_url, openai_api_key="sk-test-stub-key",
        openai_base_url=cloud_stub.base_url, cloud_model="openai/gpt-4o-mini",
        worker_metrics_port=free_loopback_port(), temporal_metrics_port=free_loopback_port(),
    )  # fmt: skip
    async with running_worker(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def client(metered: RunningWorker) -> Client:
    return await connect(metered.settings)


async def run(
    client: Client, worker: RunningWorker, payload: dict[str, Any]
) -> WorkflowHandle[Any, AgentRunOutput]:
    handle = await client.start_workflow(
        "AgentWorkflow", payload, id=f"usage-{uuid.uuid4().hex[:10]}",
        task_queue=worker.settings.task_queue, result_type=AgentRunOutput,
    )  # fmt: skip
    await handle.result()
    return handle


def rows_of(state_dir: Path, run_id: str) -> list[ledger.UsageRecord]:
    storage = open_storage(None, state_dir)
    try:
        return ledger.rows(storage, run_id)
    finally:
        storage.close()


async def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"http://127.0.0.1:{port}/metrics")
    answer.raise_for_status()
    return {
        (s.name, frozenset(s.labels.items())): float(s.value)
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def total(
    scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in scraped.items() if n == name and want <= ls)


async def test_a_private_call_is_a_local_row_with_its_pin_and_savings(
    client: Client, metered: RunningWorker, stub: StubServer
) -> None:
    port = metered.settings.worker_metrics_port
    assert port is not None
    before = await scrape(port)
    handle = await run(
        client, metered,
        {"prompt": "Text Ingrid that I am late, her mobile is +47 912 34 567.", "user": "alice"},
    )  # fmt: skip
    assert stub.requests == []  # the privacy canary: nothing reached the cloud
    run_id = (await handle.describe()).run_id
    (row,) = rows_of(metered.settings.state_dir, run_id)
    assert (row.model, row.local, row.requested_model, row.caller) == (
        "local/smollm2", True, "auto", "user:alice",
    )  # fmt: skip
    assert row.pinned and row.privacy_categories == ("contact",) and row.agent == "general"
    assert row.input_tokens > 0 and row.output_tokens > 0 and row.latency_ms > 0
    assert row.cost_usd == 0.0 and row.reference_model == REFERENCE
    assert row.reference_cost_usd == pytest.approx(
        cost_usd(REFERENCE, row.input_tokens, row.output_tokens)
    )
    after = await scrape(port)
    name = "hybridagent_model_calls_total"
    moved = total(after, name, model="local/smollm2", outcome="ok") - total(
        before, name, model="local/smollm2", outcome="ok"
    )
    assert moved == 1
    assert total(after, "hybridagent_privacy_pinned_calls_total", category="contact") >= 1
    assert total(after, "hybridagent_model_savings_usd_total") > 0
    assert total(after, "hybridagent_model_tokens_total", direction="output") >= row.output_tokens
    sdk = await scrape(metered.settings.sdk_metrics_port or 0)
    assert any(name.startswith("temporal_") for name, _ in sdk)


async def test_a_call_retried_after_a_500_and_a_replay_count_once(
    client: Client, metered: RunningWorker, stub: StubServer
) -> None:
    port = metered.settings.worker_metrics_port
    assert port is not None
    before = await scrape(port)
    stub.reply = text_reply("Hello from the cloud.")
    stub.fail_next = 1
    handle = await run(
        client, metered, {"prompt": "Say hello.", "model": "openai/gpt-4o-mini", "user": "bob"}
    )
    history = await handle.fetch_history()
    assert activity_attempts(history) == [2]
    assert len(stub.requests) == 2
    run_id = (await handle.describe()).run_id
    (row,) = rows_of(metered.settings.state_dir, run_id)
    assert (row.model, row.local, row.requested_model, row.caller) == (
        "openai/gpt-4o-mini", False, "openai/gpt-4o-mini", "user:bob",
    )  # fmt: skip
    assert not row.pinned and row.fallback_from is None
    assert row.cost_usd == pytest.approx(cost_usd(REFERENCE, row.input_tokens, row.output_tokens))
    await replay(history, metered.settings)
    assert len(rows_of(metered.settings.state_dir, run_id)) == 1
    after = await scrape(port)
    name = "hybridagent_model_calls_total"
    for outcome in ("ok", "error"):
        labels = {"model": "openai/gpt-4o-mini", "location": "cloud", "outcome": outcome}
        assert total(after, name, **labels) - total(before, name, **labels) == 1, outcome
    assert total(after, "hybridagent_model_cost_usd_total", location="cloud") > 0


async def test_a_fallback_is_recorded_on_the_row_of_the_model_that_answered(
    client: Client, metered: RunningWorker, stub: StubServer
) -> None:
    port = metered.settings.worker_metrics_port
    assert port is not None
    before = await scrape(port)
    stub.status = 500
    hard = (
        "Explain step by step why this is slow, compare two designs and analyze the "
        "trade-offs: ```def fib(n): return fib(n - 1) + fib(n - 2)```"
    )
    handle = await run(
        client, metered, {"prompt": hard, "routing": {"latency_preference": "quality"}}
    )
    run_id = (await handle.describe()).run_id
    (row,) = rows_of(metered.settings.state_dir, run_id)  # the failed call answered nothing
    assert (row.model, row.local, row.fallback_from) == (
        "local/smollm2", True, "openai/gpt-4o-mini",
    )  # fmt: skip
    after = await scrape(port)
    name = "hybridagent_model_fallbacks_total"
    labels = {"from_model": "openai/gpt-4o-mini", "to_model": "local/smollm2"}
    assert total(after, name, **labels) - total(before, name, **labels) == 1


@contextmanager
def routing_lines() -> Iterator[list[logging.LogRecord]]:
    """The routing lines (INFO, from workflow code) logged in the block, correlated as
    the worker's log handler correlates them (hybridagent/logs.py)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.addFilter(CorrelationFilter())
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("temporalio.workflow")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    records[:] = [r for r in records if r.getMessage().startswith("routing: ")]


async def test_a_coordinators_children_carry_its_api_key_and_their_rows_name_it(
    client: Client, metered: RunningWorker, stub: StubServer
) -> None:
    """A coordinator started as the HTTP API starts runs (the key in its memo): each
    specialist's child workflow has the key in its memo, and its ledger rows are the
    key's, so the key's usage and budget see them."""
    names = ["math-tutor", "creative-writer"]
    request_id = f"req_{uuid.uuid4().hex}"
    with routing_lines() as lines, request_context(request_id):
        handle = await client.start_workflow(
            "CoordinatorWorkflow", {"prompt": "What is 2 plus 2?", "specialists": names},
            id=f"usage-coord-{uuid.uuid4().hex[:8]}", task_queue=metered.settings.task_queue,
            memo={"api_key": "coord-key"},
        )  # fmt: skip
        await handle.result()
    for name in names:
        child = await client.get_workflow_handle(f"{handle.id}-{name}").describe()
        assert (await child.memo()).get("api_key") == "coord-key", name
        rows = rows_of(metered.settings.state_dir, child.run_id)
        assert rows and {row.caller for row in rows} == {"key:coord-key"}, name
        # The request ID travelled to the child too (request_ids.py): its routing lines.
        mine = [r for r in lines if getattr(r, "workflow_id", None) == child.id]
        assert mine and {getattr(r, "request_id", None) for r in mine} == {request_id}, name
    parent = rows_of(metered.settings.state_dir, (await handle.describe()).run_id)
    assert parent and {row.caller for row in parent} == {"key:coord-key"}  # the synthesis
    assert stub.requests == []
    await replay(await handle.fetch_history(), metered.settings)
