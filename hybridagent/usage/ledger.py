"""The usage ledger: one row per model-call activity, in the tools' database (migration 4),
and its hourly rollup (migration 6), which every aggregate reads.

The worker writes a row when a model-call activity has its answer (usage/layer.py), keyed
by (workflow run ID, activity ID) with insert-or-ignore: a retried activity has the same
ID, and a replayed workflow runs no activity again, so neither counts twice. The same
transaction adds the row to its hour's rollup, only when the row was new, so the rollup
counts exactly what the ledger holds.

Reads are the aggregates `hybridagent usage` prints and the dashboard shows
(`GET /v1/usage`): whole hours from the rollup (one row per hour, caller and model or
agent, not per call), the part-hour at the start of the span from the ledger's rows.
Sums are exact; the median latency is read from the rollup's fixed latency buckets,
interpolated within its bucket, so it is approximate to the bucket's width (about
a third of its value at most).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import text

from hybridagent.storage import Storage
from hybridagent.storage.migrations import USAGE_LATENCY_BOUNDS_MS, USAGE_LATENCY_COLUMNS

GroupBy = Literal["model", "agent", "key", "day", "hour"]
# Per grouping: which rollup rows (dim) and the group's expression over them. Every
# call is in one 'model' row and one 'agent' row of its hour.
_ROLLUP: dict[str, tuple[str, str]] = {
    "model": ("model", "value"),
    "agent": ("agent", "value"),
    "key": ("model", "caller"),
    "day": ("model", "SUBSTR(hour, 1, 10)"),
    "hour": ("model", "hour"),
    "all": ("model", "'all'"),
}

_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class BadSpanError(ValueError):
    pass


def parse_since(value: str) -> timedelta:
    """`30m`, `24h`, `7d`, `2w`: how far back to count (the CLI's --since, the API's
    `since`)."""
    found = _SPAN.match(value)
    if found is None or int(found.group(1)) == 0:
        raise BadSpanError(
            f"since takes a positive number and a unit (m, h, d or w), like 24h or 7d, "
            f"not {value!r}."
        )
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


@dataclass(frozen=True)
class UsageRecord:
    """One answered model call. `caller` is `key:<API key name>` for runs the HTTP API
    started, else `user:<the run's user>`; categories never carry the text found."""

    run_id: str
    activity_id: str
    workflow_id: str
    workflow_type: str
    created_at: str  # ISO 8601, UTC
    caller: str
    agent: str | None
    requested_model: str
    model: str
    local: bool
    input_tokens: int
    output_tokens: int
    latency_ms: float
    cost_usd: float
    reference_model: str
    reference_cost_usd: float
    fallback_from: str | None = None
    pinned: bool = False
    privacy_categories: Sequence[str] = field(default_factory=tuple)
    # The model reported no tokens (a stream without usage): estimated, 4 chars a token.
    tokens_estimated: bool = False

    @property
    def savings_usd(self) -> float:
        """What the reference model would have cost for a local call's tokens."""
        return self.reference_cost_usd - self.cost_usd if self.local else 0.0


_COLUMNS = tuple(UsageRecord.__dataclass_fields__)
_INSERT = text(
    f"INSERT INTO usage_calls ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _COLUMNS)}) "
    "ON CONFLICT (run_id, activity_id) DO NOTHING"
)
_SUMS = ("calls", "local_calls", "input_tokens", "output_tokens", "cost_usd", "savings_usd")


def bucket(latency_ms: float) -> int:
    """The index of `latency_ms`'s latency bucket (its column is l<index>)."""
    for n, bound in enumerate(USAGE_LATENCY_BOUNDS_MS):
        if latency_ms < bound:
            return n
    return len(USAGE_LATENCY_BOUNDS_MS)


def _rollup_upsert(column: str) -> str:
    """Add one call to its hour's rollup row (`column`: its latency bucket)."""
    adds = ", ".join(f"{c} = usage_hourly.{c} + excluded.{c}" for c in (*_SUMS, column))
    return (
        f"INSERT INTO usage_hourly (dim, hour, caller, value, {', '.join(_SUMS)}, {column}) "
        "VALUES (:dim, :hour, :caller, :value, 1, :local_calls, :input_tokens, "
        ":output_tokens, :cost_usd, :savings_usd, 1) "
        f"ON CONFLICT (dim, hour, caller, value) DO UPDATE SET {adds}"
    )


_UPSERTS = {column: text(_rollup_upsert(column)) for column in USAGE_LATENCY_COLUMNS}


def record(storage: Storage, row: UsageRecord) -> bool:
    """Insert `row` unless its (run, activity) is there already, and only then add it to
    its hour's rollup, in the same transaction; whether it was new."""
    values = asdict(row)
    values["privacy_categories"] = json.dumps(sorted(row.privacy_categories))
    common = {
        "hour": row.created_at[:13],
        "caller": row.caller,
        "local_calls": 1 if row.local else 0,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cost_usd": row.cost_usd,
        "savings_usd": row.savings_usd,
    }
    upsert = _UPSERTS[USAGE_LATENCY_COLUMNS[bucket(row.latency_ms)]]
    with storage.transaction() as conn:
        if conn.execute(_INSERT, values).rowcount != 1:
            return False
        conn.execute(
            upsert,
            [
                {**common, "dim": "model", "value": row.model},
                {**common, "dim": "agent", "value": row.agent or row.workflow_type},
            ],
        )
        return True


@dataclass(frozen=True)
class UsageGroup:
    key: str
    calls: int
    local_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    savings_usd: float
    median_latency_ms: float  # from the latency buckets: approximate to the bucket

    @property
    def cloud_calls(self) -> int:
        return self.calls - self.local_calls


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def median_of_buckets(counts: Sequence[int]) -> float:
    """The median of a latency histogram (counts per bucket, USAGE_LATENCY_BOUNDS_MS),
    interpolated linearly within the bucket that holds it, as Prometheus'
    histogram_quantile does; the open last bucket gives its lower bound."""
    n = sum(counts)
    if n == 0:
        return 0.0
    half = n / 2
    below = 0
    bounds = USAGE_LATENCY_BOUNDS_MS
    for i, count in enumerate(counts):
        if count and below + count >= half:
            if i == len(bounds):
                return float(bounds[-1])
            low = 0.0 if i == 0 else float(bounds[i - 1])
            return low + (float(bounds[i]) - low) * (half - below) / count
        below += count
    return float(bounds[-1])


class _Acc:
    """One group's sums and latency buckets, from rollup rows and ledger rows alike."""

    def __init__(self) -> None:
        self.sums = [0.0] * len(_SUMS)
        self.buckets = [0] * len(USAGE_LATENCY_COLUMNS)

    def add(self, sums: Sequence[Any], buckets: Sequence[Any]) -> None:
        self.sums = [a + float(b or 0) for a, b in zip(self.sums, sums, strict=True)]
        self.buckets = [a + int(b or 0) for a, b in zip(self.buckets, buckets, strict=True)]

    def group(self, key: str) -> UsageGroup:
        calls, local, tin, tout, cost, saved = self.sums
        return UsageGroup(
            key=key,
            calls=int(calls),
            local_calls=int(local),
            input_tokens=int(tin),
            output_tokens=int(tout),
            cost_usd=cost,
            savings_usd=saved,
            median_latency_ms=median_of_buckets(self.buckets),
        )


# The part-hour at a span's start, from the ledger's rows: each grouping's key.
_RAW_KEYS = {
    "model": "model",
    "agent": "COALESCE(agent, workflow_type)",
    "key": "caller",
    "day": "SUBSTR(created_at, 1, 10)",
    "hour": "SUBSTR(created_at, 1, 13)",
    "all": "'all'",
}


def summary(
    storage: Storage, since: datetime, by: GroupBy = "model", caller: str | None = None
) -> list[UsageGroup]:
    """Calls since `since` grouped `by`, the busiest group first; only `caller`'s
    (`key:<name>`) when given."""
    return _summary(storage, since, by, caller)


def total(storage: Storage, since: datetime, caller: str | None = None) -> UsageGroup:
    """All calls since `since` (only `caller`'s when given) as one group, key `all`."""
    found = _summary(storage, since, "all", caller)
    return found[0] if found else UsageGroup("all", 0, 0, 0, 0, 0.0, 0.0, 0.0)


def _summary(storage: Storage, since: datetime, by: str, caller: str | None) -> list[UsageGroup]:
    dim, group = _ROLLUP[by]
    since = since.astimezone(UTC)
    whole = since.replace(minute=0, second=0, microsecond=0)
    if whole < since:
        whole += timedelta(hours=1)  # the first whole hour; before it, ledger rows
    mine = "" if caller is None else " AND caller = :caller"
    hourly = text(
        f"SELECT {group} AS g, {', '.join(f'SUM({c})' for c in (*_SUMS, *USAGE_LATENCY_COLUMNS))} "
        f"FROM usage_hourly WHERE dim = :dim AND hour >= :hour{mine}"
        # PostgreSQL refuses GROUP BY a constant; one group needs none.
        + ("" if by == "all" else f" GROUP BY {group}")
    )
    edge = text(
        f"SELECT {_RAW_KEYS[by]} AS g, local, input_tokens, output_tokens, cost_usd, "
        "reference_cost_usd, latency_ms FROM usage_calls "
        f"WHERE created_at >= :since AND created_at < :whole{mine}"
    )
    params = {
        "dim": dim, "hour": whole.isoformat()[:13], "caller": caller,
        "since": iso(since), "whole": iso(whole),
    }  # fmt: skip
    groups: dict[str, _Acc] = {}
    width = len(_SUMS)
    with storage.transaction() as conn:
        for g, *values in conn.execute(hourly, params).all():
            groups.setdefault(str(g), _Acc()).add(values[:width], values[width:])
        if whole > since:
            for g, local, tin, tout, cost, reference, latency in conn.execute(edge, params).all():
                saved = float(reference) - float(cost) if local else 0.0
                counts = [0] * len(USAGE_LATENCY_COLUMNS)
                counts[bucket(float(latency))] = 1
                groups.setdefault(str(g), _Acc()).add(
                    (1, 1 if local else 0, tin, tout, cost, saved), counts
                )
    found = [acc.group(key) for key, acc in groups.items() if acc.sums[0] > 0]
    return sorted(found, key=lambda u: (-u.calls, u.key))


def rows(storage: Storage, run_id: str) -> list[UsageRecord]:
    """A run's rows, oldest first (tests and `usage --run`)."""
    query = text(
        f"SELECT {', '.join(_COLUMNS)} FROM usage_calls WHERE run_id = :run "
        "ORDER BY created_at, activity_id"
    )
    with storage.transaction() as conn:
        found = conn.execute(query, {"run": run_id}).mappings().all()
    return [
        UsageRecord(
            **{
                **row,
                "local": bool(row["local"]),
                "pinned": bool(row["pinned"]),
                "tokens_estimated": bool(row["tokens_estimated"]),
                "privacy_categories": tuple(json.loads(row["privacy_categories"])),
            }
        )
        for row in found
    ]
