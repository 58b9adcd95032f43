"""`hybridagent usage`: the usage ledger as a table (docs/observability.md).

Reads the database the worker writes (HYBRIDAGENT_DATABASE_URL, else the SQLite file in
the state directory): calls, the local/cloud split, tokens, cost, what the local calls
saved against the reference cloud model, and the median latency, grouped by model,
agent, API key or user, or day.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, get_args

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from hybridagent.config import load_settings
from hybridagent.entry import fail, run_cli_command, table_console
from hybridagent.storage import open_storage
from hybridagent.usage.ledger import (
    BadSpanError,
    GroupBy,
    UsageGroup,
    parse_since,
    summary,
)

__all__ = ["BadSpanError", "parse_since", "usage", "usage_table"]

_HEADINGS = {
    "model": "model", "agent": "agent", "key": "key / user", "day": "day (UTC)",
    "hour": "hour (UTC)",
}  # fmt: skip


def usage_table(groups: list[UsageGroup], by: GroupBy, since: str) -> Table:
    table = Table(title=f"Model calls in the last {since}, by {by}")
    table.add_column(_HEADINGS[by])
    for name in ("calls", "local calls", "cloud calls", "tokens in", "tokens out"):
        table.add_column(name, justify="right")
    for name in ("cost (USD)", "saved (USD)", "median latency"):
        table.add_column(name, justify="right")
    for g in groups:
        table.add_row(
            g.key, str(g.calls), str(g.local_calls), str(g.cloud_calls),
            str(g.input_tokens), str(g.output_tokens),
            f"{g.cost_usd:.6f}", f"{g.savings_usd:.6f}", f"{g.median_latency_ms / 1000:.2f} s",
        )  # fmt: skip
    if len(groups) > 1:
        total = sum(g.calls for g in groups)
        local = sum(g.local_calls for g in groups)
        table.add_section()
        table.add_row(
            "all", str(total), str(local), str(total - local),
            str(sum(g.input_tokens for g in groups)), str(sum(g.output_tokens for g in groups)),
            f"{sum(g.cost_usd for g in groups):.6f}", f"{sum(g.savings_usd for g in groups):.6f}",
            "",
        )  # fmt: skip
    return table


def usage(
    since: Annotated[
        str, typer.Option(help="How far back: a number and m, h, d or w (24h, 7d).")
    ] = "24h",
    by: Annotated[
        str, typer.Option(help="Group by model, agent, key (API key or user), day or hour.")
    ] = "model",
) -> None:
    """What the model calls cost and saved: the usage ledger the workers write."""
    if by not in get_args(GroupBy):
        fail(f"--by takes model, agent, key, day or hour, not {by!r}.")
    try:
        span = parse_since(since)
    except BadSpanError as err:
        fail(f"--{err}")

    def run() -> list[UsageGroup]:
        settings = load_settings()
        storage = open_storage(settings.database_url, settings.state_dir)
        try:
            return summary(storage, datetime.now(UTC) - span, by)  # type: ignore[arg-type]
        finally:
            storage.close()

    try:
        groups: list[UsageGroup] = run_cli_command(run)
    except SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        fail(f"Cannot read the usage ledger: {reason.rstrip('.')}.")
    console = table_console()
    if not groups:
        console.print(f"No model calls in the last {since.strip()}.")
        return
    console.print(usage_table(groups, by, since.strip()))  # type: ignore[arg-type]
