"""The usage ledger on SQLite and PostgreSQL (one row per activity, whatever the retries),
the worker's UsageLayer inside a real activity context, and `hybridagent usage`. The
whole path on a real worker is tests/integration/test_usage.py."""

from __future__ import annotations

import dataclasses
import math
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from agents import ModelSettings, ModelTracing
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from temporalio.testing import ActivityEnvironment
from typer.testing import CliRunner

from hybridagent.api.costs import cost_usd
from hybridagent.metrics import Metrics
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.wrapper import ModelCall
from hybridagent.runners.cli import app
from hybridagent.runners.usage_cli import BadSpanError, parse_since
from hybridagent.storage import Storage, open_storage
from hybridagent.testing.scripted_model import ScriptedModel, text_response
from hybridagent.usage import ledger
from hybridagent.usage.facts import USAGE_MARKER, UsageFacts
from hybridagent.usage.layer import UsageLayer, UsageRecorder

REFERENCE = "openai/gpt-4o-mini"


def row(
    activity: str, *, model: str = "local/smollm2", local: bool = True, **kw: object
) -> ledger.UsageRecord:
    values: dict[str, object] = dict(
        run_id="run-1", activity_id=activity, workflow_id="wf-1", workflow_type="AgentWorkflow",
        created_at=ledger.iso(datetime.now(UTC)), caller="user:alice", agent="general",
        requested_model="auto", model=model, local=local, input_tokens=100, output_tokens=10,
        latency_ms=1000.0, cost_usd=0.0 if local else cost_usd(model, 100, 10),
        reference_model=REFERENCE, reference_cost_usd=cost_usd(REFERENCE, 100, 10),
    )  # fmt: skip
    values.update(kw)
    return ledger.UsageRecord(**values)  # type: ignore[arg-type]


def test_a_row_is_written_once_per_run_and_activity(storage: Storage) -> None:
    first = row("1", pinned=True, privacy_categories=("financial", "contact"))
    assert ledger.record(storage, first)
    assert not ledger.record(storage, dataclasses.replace(first, latency_ms=5.0))  # a retry
    assert ledger.record(storage, dataclasses.replace(first, run_id="run-2"))
    (stored,) = ledger.rows(storage, "run-1")
    assert stored.latency_ms == 1000.0 and stored.pinned and stored.local
    assert stored.privacy_categories == ("contact", "financial")


def test_the_summary_splits_local_and_cloud_with_savings_and_median(storage: Storage) -> None:
    for n, latency in enumerate((100.0, 300.0, 200.0, 900.0)):
        ledger.record(storage, row(f"l{n}", latency_ms=latency))
    ledger.record(storage, row("c1", model="openai/gpt-4o-mini", local=False, latency_ms=50.0))
    old = ledger.iso(datetime.now(UTC) - timedelta(days=3))
    ledger.record(storage, row("old", created_at=old))
    since = datetime.now(UTC) - timedelta(hours=24)
    by_model = {g.key: g for g in ledger.summary(storage, since, "model")}
    local, cloud = by_model["local/smollm2"], by_model["openai/gpt-4o-mini"]
    assert (local.calls, local.local_calls, cloud.calls, cloud.cloud_calls) == (4, 4, 1, 1)
    # Medians from the latency buckets: the exact ones (250, 50) to the bucket.
    assert 200.0 <= local.median_latency_ms <= 300.0
    assert 50.0 <= cloud.median_latency_ms <= 100.0
    assert local.savings_usd == pytest.approx(4 * cost_usd(REFERENCE, 100, 10))
    assert cloud.savings_usd == 0.0 and cloud.cost_usd == pytest.approx(
        cost_usd(REFERENCE, 100, 10)
    )
    (everyone,) = ledger.summary(storage, since, "key")
    assert (everyone.key, everyone.calls, everyone.input_tokens) == ("user:alice", 5, 500)
    days = ledger.summary(storage, datetime.now(UTC) - timedelta(days=7), "day")
    assert sum(d.calls for d in days) == 6 and len(days) == 2


def model_call(facts: UsageFacts | None) -> ModelCall:
    extra = {USAGE_MARKER: facts.as_extra(), "seed": 7} if facts else None
    return ModelCall(
        None, "Say hi.", ModelSettings(extra_args=extra), [], None, [], ModelTracing.DISABLED
    )


def activity_env(activity_id: str = "5") -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, workflow_run_id="run-9", activity_id=activity_id, workflow_id="wf-9"
    )
    return env


def counter(metrics: Metrics, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def test_the_layer_records_an_answered_call_once_and_strips_the_marker(
    storage: Storage,
) -> None:
    seen: list[ModelSettings] = []

    class Seeing(ScriptedModel):
        async def get_response(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            seen.append(args[2])  # type: ignore[arg-type]
            return text_response("hi", input_tokens=40, output_tokens=5)

    metrics = Metrics()
    layer = UsageLayer(Seeing(), "local/smollm2", True, UsageRecorder(storage, metrics, REFERENCE))
    facts = UsageFacts(
        agent="general", caller="key:ci", fallback_from="openai/gpt-4o-mini", pinned=True,
        categories=("contact",),
    )  # fmt: skip
    for _ in range(2):  # the same activity ID twice: a retry after the answer was lost
        await activity_env().run(model_call(facts).answer_from, layer)
    assert all(s.extra_args == {"seed": 7} for s in seen)
    (stored,) = ledger.rows(storage, "run-9")
    assert (stored.caller, stored.agent, stored.fallback_from, stored.input_tokens) == (
        "key:ci", "general", "openai/gpt-4o-mini", 40,
    )  # fmt: skip
    assert stored.cost_usd == 0.0 and stored.reference_cost_usd == cost_usd(REFERENCE, 40, 5)
    assert counter(metrics, "hybridagent_model_calls_total", outcome="ok") == 2
    assert counter(metrics, "hybridagent_privacy_pinned_calls_total", category="contact") == 2
    assert counter(metrics, "hybridagent_model_fallbacks_total", to_model="local/smollm2") == 2


async def test_a_failed_ledger_write_never_fails_the_call(storage: Storage) -> None:
    with storage.transaction() as conn:
        conn.execute(text("DROP TABLE usage_calls"))
    metrics = Metrics()
    layer = UsageLayer(
        ScriptedModel(), "openai/gpt-4o-mini", False, UsageRecorder(storage, metrics)
    )
    response = await activity_env().run(model_call(None).answer_from, layer)
    assert response.usage.input_tokens == 3
    assert counter(metrics, "hybridagent_usage_ledger_write_failures_total") == 1
    assert counter(metrics, "hybridagent_model_cost_usd_total", location="cloud") > 0


def test_since_takes_a_number_and_a_unit() -> None:
    assert parse_since("24h") == timedelta(hours=24) and parse_since(" 7d") == timedelta(days=7)
    for bad in ("", "24", "h", "0h", "3x", "-1d"):
        with pytest.raises(BadSpanError):
            parse_since(bad)


def test_the_usage_command_prints_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYBRIDAGENT_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("HYBRIDAGENT_DATABASE_URL", raising=False)
    store = open_storage(None, tmp_path)
    ledger.record(store, row("1"))
    ledger.record(store, row("2", model="openai/gpt-4o-mini", local=False, agent="research"))
    store.close()
    runner = CliRunner()
    monkeypatch.delenv("COLUMNS", raising=False)  # piped: whole rows, not 80 columns
    result = runner.invoke(app, ["usage", "--by", "agent"])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output and max(map(len, result.output.splitlines())) > 80
    assert "by agent" in result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "general" in lines and "research" in lines and "all" in lines
    bad = runner.invoke(app, ["usage", "--since", "yesterday"])
    assert bad.exit_code == 1
    assert "--since takes a positive number and a unit" in bad.output
    assert runner.invoke(app, ["usage", "--by", "colour"]).exit_code == 1


def test_circuits_with_failures_are_exposed_by_state() -> None:
    circuits = CircuitBreaker(failure_threshold=2)
    circuits.failure("openai", "HTTP 500")
    circuits.failure("litellm/anthropic", "HTTP 500")
    circuits.failure("litellm/anthropic", "HTTP 500")
    metrics = Metrics()
    metrics.watch_circuits(circuits)
    assert counter(metrics, "hybridagent_circuit_state", circuit="openai", state="closed") == 1
    assert counter(metrics, "hybridagent_circuit_state", circuit="openai", state="open") == 0
    assert (
        counter(metrics, "hybridagent_circuit_state", circuit="litellm/anthropic", state="open")
        == 1
    )


async def test_a_stream_that_reports_no_tokens_is_estimated_so_it_still_saves(
    storage: Storage,
) -> None:
    answer = "The sea is wide and grey. " * 8  # 208 characters: 52 tokens at 4 a token
    silent = ScriptedModel(lambda n: text_response(answer, input_tokens=0, output_tokens=0))
    layer = UsageLayer(silent, "local/smollm2", True, UsageRecorder(storage, None, REFERENCE))

    await activity_env().run(drain_from, layer)
    (stored,) = ledger.rows(storage, "run-9")
    assert stored.tokens_estimated and stored.input_tokens > 0
    assert 52 <= stored.output_tokens <= 80  # the message's text, and a little overhead
    assert stored.reference_cost_usd == pytest.approx(
        cost_usd(REFERENCE, stored.input_tokens, stored.output_tokens)
    )
    assert stored.savings_usd > 0
    # A stream that reports its tokens keeps them, unflagged.
    counted = ScriptedModel(lambda n: text_response(answer, input_tokens=30, output_tokens=9))
    layer = UsageLayer(counted, "local/smollm2", True, UsageRecorder(storage, None, REFERENCE))
    await activity_env("6").run(drain_from, layer)
    reported = next(r for r in ledger.rows(storage, "run-9") if r.activity_id == "6")
    assert not reported.tokens_estimated and reported.output_tokens == 9


async def drain_from(layer: UsageLayer) -> None:
    async for _ in model_call(None).stream_from(layer):
        pass


def exact(rows: list[ledger.UsageRecord], key: str) -> dict[str, tuple[int, int, int, float]]:
    """calls, local calls, tokens in, savings per group, from the rows themselves."""
    out: dict[str, tuple[int, int, int, float]] = {}
    for r in rows:
        k = {"model": r.model, "agent": r.agent or r.workflow_type, "key": r.caller,
             "day": r.created_at[:10], "hour": r.created_at[:13]}[key]  # fmt: skip
        calls, local, tin, saved = out.get(k, (0, 0, 0, 0.0))
        out[k] = (calls + 1, local + r.local, tin + r.input_tokens, saved + r.savings_usd)
    return out


def random_rows(n: int, now: datetime) -> list[ledger.UsageRecord]:
    import random

    rng = random.Random(16)
    found = []
    for i in range(n):
        model, local = rng.choice([("local/smollm2", True), ("openai/gpt-4o-mini", False)])
        at = now - timedelta(minutes=rng.uniform(0, 30 * 60))
        found.append(
            row(
                str(i), model=model, local=local, created_at=ledger.iso(at),
                caller=rng.choice(["key:a", "key:b", "user:c"]),
                agent=rng.choice(["general", None]), input_tokens=rng.randint(1, 900),
                latency_ms=rng.uniform(20, 20_000),
            )
        )  # fmt: skip
    return found


def span_of(latency_ms: float) -> tuple[float, float]:
    """The bounds of `latency_ms`'s bucket."""
    from hybridagent.storage.migrations import USAGE_LATENCY_BOUNDS_MS as bounds

    i = ledger.bucket(latency_ms)
    return (0.0 if i == 0 else bounds[i - 1], bounds[i] if i < len(bounds) else math.inf)


@pytest.mark.parametrize("by", ["model", "agent", "key", "day", "hour"])
def test_the_rollup_sums_what_the_rows_hold_from_a_part_hour_on(
    storage: Storage, by: ledger.GroupBy
) -> None:
    now = datetime.now(UTC)
    rows = random_rows(300, now)
    for r in rows:
        assert ledger.record(storage, r)
        assert not ledger.record(storage, dataclasses.replace(r, latency_ms=1.0))  # a retry
    since = now - timedelta(hours=24, minutes=17)  # a part-hour, then whole hours
    for caller in (None, "key:a"):
        kept = [r for r in rows if r.created_at >= ledger.iso(since)]
        kept = [r for r in kept if caller is None or r.caller == caller]
        want = exact(kept, by)
        got = ledger.summary(storage, since, by, caller)
        assert {g.key: (g.calls, g.local_calls, g.input_tokens) for g in got} == {
            k: v[:3] for k, v in want.items()
        }
        for g in got:
            assert g.savings_usd == pytest.approx(want[g.key][3])
            latencies = sorted(r.latency_ms for r in kept if exact([r], by).keys() == {g.key})
            # The median read from the buckets lies within the buckets of the middle
            # row(s), whose mean is the exact median.
            first, last = latencies[(len(latencies) - 1) // 2], latencies[len(latencies) // 2]
            assert span_of(first)[0] <= g.median_latency_ms <= span_of(last)[1]
            assert span_of(first)[0] <= statistics.median(latencies) <= span_of(last)[1]
        everyone = ledger.total(storage, since, caller)
        assert everyone.calls == len(kept)


def test_the_migration_fills_the_rollup_from_rows_already_there(storage: Storage) -> None:
    from hybridagent.storage.migrations import migrate

    now = datetime.now(UTC)
    rows = random_rows(120, now)
    for r in rows:
        ledger.record(storage, r)
    since = now - timedelta(hours=48)
    before = {by: ledger.summary(storage, since, by) for by in ("model", "agent", "key")}
    with storage.transaction() as conn:  # as a database of migration 5 had it
        conn.execute(text("DROP TABLE usage_hourly"))
        conn.execute(text("DELETE FROM schema_version WHERE version >= 6"))
    with storage.transaction() as conn:
        assert migrate(conn) == 6
    for by, groups in before.items():
        assert ledger.summary(storage, since, by) == groups  # type: ignore[arg-type]
