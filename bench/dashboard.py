"""The usage ledger's aggregate queries (what `hybridagent usage` and a dashboard ask)
over 100,000 rows on SQLite and PostgreSQL, and the time of a /metrics scrape.

Ledger: 100,000 rows all inside the last 24 hours (the worst case for a `--since 24h`
query), 6 models, 8 agents, 50 callers, inserted in bulk and rolled up by migration 6's
statements; each `summary(by=...)` timed, for everyone (the CLI) and for one caller
(`GET /v1/usage`), and single `ledger.record` calls (each one insert and its rollup).
PostgreSQL is a throwaway server from the Debian package (tests/postgres.py, as the
test suite starts).
Scrapes: the worker's registry after traffic over 6 models and every outcome, and the
API's with 12 routes × 4 statuses: `Metrics.exposition()` alone, the worker's HTTP
endpoint over loopback, and the API app's `/metrics` in process (ASGI).

Usage: python bench/dashboard.py [--rows 100000 --runs 20 | --quick]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/postgres.py

from hybridagent.api.app import create_app  # noqa: E402
from hybridagent.config import Settings  # noqa: E402
from hybridagent.metrics import Metrics  # noqa: E402
from hybridagent.providers.embedded import free_loopback_port  # noqa: E402
from hybridagent.storage import Storage, open_storage  # noqa: E402
from hybridagent.storage.migrations import usage_rollup_backfill  # noqa: E402
from hybridagent.usage import ledger  # noqa: E402
from tests.postgres import postgres_server  # noqa: E402

MODELS = [
    ("local/smollm2", True), ("ollama/llama3.2:3b", True), ("ollama/qwen3:4b", True),
    ("openai/gpt-4o-mini", False), ("openai/gpt-4o", False),
    ("litellm/anthropic/claude-haiku-4-5", False),
]  # fmt: skip


def fill(storage: Storage, rows: int) -> None:
    rng = random.Random(16)
    now = datetime.now(UTC)
    columns = tuple(ledger.UsageRecord.__dataclass_fields__)
    insert = text(
        f"INSERT INTO usage_calls ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + c for c in columns)})"
    )
    batch: list[dict[str, Any]] = []
    for n in range(rows):
        model, local = rng.choice(MODELS)
        tin, tout = rng.randint(50, 4000), rng.randint(10, 800)
        batch.append(
            dict(
                run_id=f"run-{n // 3}",
                activity_id=str(n % 3),
                workflow_id=f"wf-{n // 3}",
                workflow_type="AgentWorkflow",
                created_at=ledger.iso(now - timedelta(seconds=rng.uniform(0, 86_000))),
                caller=f"key:k{rng.randrange(50)}",
                agent=f"agent{rng.randrange(8)}",
                requested_model="auto",
                model=model,
                local=local,
                input_tokens=tin,
                output_tokens=tout,
                latency_ms=rng.uniform(80, 20_000),
                fallback_from=None,
                pinned=local and rng.random() < 0.3,
                privacy_categories="[]",
                cost_usd=0.0 if local else tin * 1.5e-7 + tout * 6e-7,
                reference_model="openai/gpt-4o-mini",
                reference_cost_usd=tin * 1.5e-7 + tout * 6e-7,
                tokens_estimated=False,
            )  # fmt: skip
        )
        if len(batch) == 5000 or n == rows - 1:
            with storage.transaction() as conn:
                conn.execute(insert, batch)
            batch = []
    with storage.transaction() as conn:
        conn.execute(text("DELETE FROM usage_hourly"))
        for statement in usage_rollup_backfill():
            conn.exec_driver_sql(statement)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm: plans, caches, connections
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def line(label: str, ms: list[float]) -> None:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(f"  {label:<34} p50 {statistics.median(ms):8.2f} ms   p95 {p95:8.2f} ms")


def bench_ledger(name: str, storage: Storage, rows: int, runs: int) -> None:
    start = time.perf_counter()
    fill(storage, rows)
    print(f"{name}: {rows} rows inserted in {time.perf_counter() - start:.1f} s")
    since = datetime.now(UTC) - timedelta(hours=24)
    for by in ("model", "agent", "key", "day", "hour"):
        line(
            f"summary(by={by}, since 24h)",
            timed(lambda b=by: ledger.summary(storage, since, b), runs),
        )  # type: ignore[misc]
    for by in ("model", "hour"):
        line(
            f"one key: summary(by={by}) + total",
            timed(
                lambda b=by: (
                    ledger.summary(storage, since, b, "key:k7"),
                    ledger.total(storage, since, "key:k7"),
                ),
                runs,
            ),
        )  # type: ignore[misc]
    template = ledger.UsageRecord(
        run_id="", activity_id="0", workflow_id="wf", workflow_type="AgentWorkflow",
        created_at="", caller="key:k7", agent="agent1", requested_model="auto",
        model="local/smollm2", local=True, input_tokens=100, output_tokens=10,
        latency_ms=900.0, cost_usd=0.0, reference_model="openai/gpt-4o-mini",
        reference_cost_usd=2.1e-5,
    )  # fmt: skip
    fresh = iter(range(10**9))

    def one() -> None:
        row = dataclasses.replace(
            template, run_id=f"new-{next(fresh)}", created_at=ledger.iso(datetime.now(UTC))
        )
        ledger.record(storage, row)

    line("ledger.record (insert + rollup)", timed(one, runs * 10))


def traffic() -> Metrics:
    metrics = Metrics()
    for model, local in MODELS:
        where = "local" if local else "cloud"
        for outcome in ("ok", "error", "cancelled"):
            metrics.model_calls.labels(model, where, outcome).inc(7)
        metrics.model_latency.labels(model, where).observe(1.2)
        for direction in ("input", "output"):
            metrics.tokens.labels(model, where, direction).inc(1000)
        metrics.cost.labels(model, where).inc(0.01)
        if local:
            metrics.savings.labels(model).inc(0.02)
            metrics.fallbacks.labels("openai/gpt-4o-mini", model).inc()
    for category in ("contact", "financial", "health", "none"):
        metrics.privacy_pins.labels(category).inc()
    routes = [f"/v1/route{n}/{{id}}" for n in range(12)]
    for route in routes:
        for status in ("200", "401", "429", "500"):
            metrics.http_requests.labels("POST", route, status).inc(3)
            metrics.http_latency.labels("POST", route).observe(0.05)
    for code in ("rate_limit_exceeded", "budget_exceeded", "invalid_api_key"):
        metrics.api_errors.labels(code).inc()
    return metrics


async def bench_scrapes(runs: int) -> None:
    metrics = traffic()
    size = len(metrics.exposition())
    print(f"/metrics ({size} bytes of exposition text)")
    line("Metrics.exposition()", timed(metrics.exposition, runs * 10))
    port = free_loopback_port()
    stop = metrics.serve("127.0.0.1", port)
    try:
        with httpx.Client() as http:
            url = f"http://127.0.0.1:{port}/metrics"
            line("worker endpoint over loopback", timed(lambda: http.get(url), runs * 10))
    finally:
        stop()
    app = create_app(Settings(_env_file=None), gate=Any, client=Any, metrics=metrics)  # type: ignore[arg-type, call-arg]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as api:
        samples = []
        for _ in range(runs * 10 + 1):
            start = time.perf_counter()
            await api.get("/metrics")
            samples.append((time.perf_counter() - start) * 1000)
    line("API /metrics (ASGI, in process)", samples[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="5,000 rows, 3 runs")
    args = parser.parse_args()
    rows, runs = (5000, 3) if args.quick else (args.rows, args.runs)
    print(f"{datetime.now(UTC):%Y-%m-%d} {platform.machine()} {platform.processor() or ''}"
          f" python {platform.python_version()}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = open_storage(None, Path(tmp))
        try:
            bench_ledger("SQLite", sqlite, rows, runs)
        finally:
            sqlite.close()
    with postgres_server() as url:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        with tempfile.TemporaryDirectory() as tmp:
            pg = open_storage(url.rsplit("/", 1)[0] + f"/{name}", Path(tmp))
            try:
                bench_ledger("PostgreSQL", pg, rows, runs)
            finally:
                pg.close()
    asyncio.run(bench_scrapes(runs))


if __name__ == "__main__":
    main()
