"""The usage ledger over HTTP, for the web UI's dashboard: the aggregates `hybridagent
usage` prints, and the caller's budget as the limiter holds it.

A key sees its own calls only (the ledger's `caller` is `key:<name>` for runs the API
started): there is no admin key, and the CLI on the server's machine reads everyone's.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.exc import SQLAlchemyError

from hybridagent.api.context import Who, context_of
from hybridagent.api.errors import ApiError
from hybridagent.api.gate import Spend
from hybridagent.usage import ledger

router = APIRouter(prefix="/v1/usage", tags=["usage"])


def _group(g: ledger.UsageGroup) -> dict[str, Any]:
    return {
        "key": g.key,
        "calls": g.calls,
        "local_calls": g.local_calls,
        "cloud_calls": g.cloud_calls,
        "input_tokens": g.input_tokens,
        "output_tokens": g.output_tokens,
        "cost_usd": g.cost_usd,
        "savings_usd": g.savings_usd,
        "median_latency_ms": g.median_latency_ms,
    }


def _budget(spend: Spend) -> dict[str, Any]:
    return {
        "budget_usd": spend.budget_usd,
        "spent_usd": spend.spent_usd,
        "reserved_usd": spend.reserved_usd,
        "remaining_usd": spend.remaining_usd,
        "shared": spend.shared,
    }


@router.get("")
async def usage(
    request: Request,
    who: Who,
    since: Annotated[str, Query(max_length=16, description="A number and m, h, d or w.")] = "24h",
    by: Annotated[ledger.GroupBy, Query(description="model, agent, key, day or hour.")] = "model",
) -> dict[str, Any]:
    """The caller's model calls since `since`, grouped `by`, with their total and the
    key's budget."""
    context = context_of(request)
    try:
        start = datetime.now(UTC) - ledger.parse_since(since)
    except ledger.BadSpanError as err:
        raise ApiError("invalid_request", str(err)) from None
    if context.ledger is None:
        raise ApiError("upstream_unavailable", "This server has no usage ledger.")
    caller = f"key:{who.name}"

    def read() -> tuple[list[ledger.UsageGroup], ledger.UsageGroup]:
        assert context.ledger is not None
        groups = ledger.summary(context.ledger, start, by, caller)
        return groups, ledger.total(context.ledger, start, caller)

    try:
        (groups, everything), spend = await asyncio.gather(
            asyncio.to_thread(read), context.gate.spend(who)
        )
    except SQLAlchemyError as err:
        raise ApiError("upstream_unavailable", "The usage ledger did not answer.") from err
    return {
        "object": "usage",
        "since": since.strip(),
        "from": ledger.iso(start),
        "by": by,
        "caller": caller,
        "data": [_group(g) for g in groups],
        "total": _group(everything),
        "budget": _budget(spend),
    }
