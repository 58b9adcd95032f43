"""The usage ledger: one row per model-call activity, in the tools' database (migration 4).

The worker writes a row when a model-call activity has its answer (usage/layer.py), keyed
by (workflow run ID, activity ID) with insert-or-ignore: a retried activity has the same
ID, and a replayed workflow runs no activity again, so neither counts twice. Reads are the
aggregates `hybridagent usage` prints (and a dashboard would show).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import text

from hybridagent.storage import Storage

GroupBy = Literal["model", "agent", "key", "day", "hour"]
GROUPS: dict[str, str] = {
    "model": "model",
    "agent": "COALESCE(agent, workflow_type)",
    "key": "caller",
    "day": "SUBSTR(created_at, 1, 10)",
    "hour": "SUBSTR(created_at, 1, 13)",
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


def record(storage: Storage, row: UsageRecord) -> bool:
    """Insert `row` unless its (run, activity) is there already; whether it was new."""
    values = asdict(row)
    values["privacy_categories"] = json.dumps(sorted(row.privacy_categories))
    with storage.transaction() as conn:
        return conn.execute(_INSERT, values).rowcount == 1


@dataclass(frozen=True)
class UsageGroup:
    key: str
    calls: int
    local_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    savings_usd: float
    median_latency_ms: float

    @property
    def cloud_calls(self) -> int:
        return self.calls - self.local_calls


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def summary(
    storage: Storage, since: datetime, by: GroupBy = "model", caller: str | None = None
) -> list[UsageGroup]:
    """Calls since `since` grouped `by`, the busiest group first; only `caller`'s
    (`key:<name>`) when given."""
    return _summary(storage, since, GROUPS[by], caller)


def total(storage: Storage, since: datetime, caller: str | None = None) -> UsageGroup:
    """All calls since `since` (only `caller`'s when given) as one group, key `all`."""
    found = _summary(storage, since, "'all'", caller)
    return found[0] if found else UsageGroup("all", 0, 0, 0, 0, 0.0, 0.0, 0.0)


def _summary(storage: Storage, since: datetime, group: str, caller: str | None) -> list[UsageGroup]:
    """Portable SQL: the median is the middle row(s) of each group by a window function
    (SQLite has no percentile function; PostgreSQL's would give the same number)."""
    params = {"since": iso(since), "caller": caller}
    where = "created_at >= :since" + ("" if caller is None else " AND caller = :caller")
    totals = text(
        f"SELECT {group} AS g, COUNT(*) AS calls, "
        "SUM(CASE WHEN local THEN 1 ELSE 0 END) AS local_calls, "
        "SUM(input_tokens) AS tin, SUM(output_tokens) AS tout, SUM(cost_usd) AS cost, "
        "SUM(CASE WHEN local THEN reference_cost_usd - cost_usd ELSE 0 END) AS saved "
        f"FROM usage_calls WHERE {where} GROUP BY g"
    )
    medians = text(
        "SELECT g, AVG(latency_ms) FROM ("
        f"SELECT {group} AS g, latency_ms, "
        f"ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY latency_ms) AS n, "
        f"COUNT(*) OVER (PARTITION BY {group}) AS total "
        f"FROM usage_calls WHERE {where}) ranked "
        "WHERE n IN ((total + 1) / 2, (total + 2) / 2) GROUP BY g"
    )
    with storage.transaction() as conn:
        rows = conn.execute(totals, params).all()
        middle = {str(g): float(m) for g, m in conn.execute(medians, params).all()}
    groups = [
        UsageGroup(
            key=str(g),
            calls=int(calls),
            local_calls=int(local_calls or 0),
            input_tokens=int(tin or 0),
            output_tokens=int(tout or 0),
            cost_usd=float(cost or 0.0),
            savings_usd=float(saved or 0.0),
            median_latency_ms=middle.get(str(g), 0.0),
        )
        for g, calls, local_calls, tin, tout, cost, saved in rows
    ]
    return sorted(groups, key=lambda u: (-u.calls, u.key))


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
