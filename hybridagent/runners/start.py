"""Starting workflows from Python: what `hybridagent run` and the sample scripts use."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError

from hybridagent.config import Settings
from hybridagent.failures import application_error
from hybridagent.runners.pickup import queue_view, require_pickup
from hybridagent.runners.run_errors import TemporalLostError, result_hint
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import (
    AgentRunOutput,
    RoutingRecord,
    TokenUsage,
)


@dataclass
class RunOutcome:
    workflow_id: str
    url: str
    result: AgentRunOutput | None = None
    error: str | None = None
    trail: list[RoutingRecord] | None = None


def failure_sentence(err: WorkflowFailureError) -> str:
    """The workflow's ApplicationError message: the one sentence a user needs."""
    cause = application_error(err.cause)
    if cause is None:
        return str(err)
    return f"{cause.message} [{cause.type}]" if cause.type else cause.message


async def warn_without_workers(client: Client, task_queue: str) -> None:
    view = await queue_view(client, task_queue)
    if not view.pollers:
        print(
            f"warning: no worker is polling task queue {task_queue!r}; the run waits until "
            "one starts (`hybridagent worker` or `hybridagent dev`).",
            file=sys.stderr,
            flush=True,
        )


async def start_run(
    settings: Settings,
    workflow: str,
    request: BaseModel,
    *,
    wait: bool = True,
    check_pickup: bool = True,
    explain: bool = False,
    on_started: Callable[[RunOutcome], None] | None = None,
) -> RunOutcome:
    """Start `workflow` with `request`; with `wait`, also collect its result or failure.

    `on_started` learns the workflow ID before any waiting, so an interrupted wait can
    still tell the user which run goes on. With `check_pickup`, a run no worker takes
    within `settings.pickup_seconds` is left queued and reported (NoWorkerError).
    """
    client = await connect(settings)
    workflow_id = f"hybridagent-{uuid.uuid4().hex[:12]}"
    handle = await client.start_workflow(
        workflow,
        request,
        id=workflow_id,
        task_queue=settings.task_queue,
        result_type=AgentRunOutput,
    )
    outcome = RunOutcome(
        workflow_id, settings.workflow_url(workflow_id, handle.first_execution_run_id)
    )
    if on_started is not None:
        on_started(outcome)
    if not wait:
        return outcome
    try:
        if check_pickup:
            await require_pickup(client, handle, settings.task_queue, settings.pickup_seconds)
        return await collect(handle, outcome, explain=explain)
    except RPCError as err:
        raise temporal_lost(settings, workflow_id, err) from None


def temporal_lost(settings: Settings, workflow_id: str, err: RPCError) -> TemporalLostError:
    """Temporal went away while we waited: the run itself is safe in its history."""
    return TemporalLostError(
        f"Lost the Temporal server at {settings.temporal_address} while waiting for run "
        f"{workflow_id} ({err.message or err.status.name}); the run goes on when it is "
        f"back; {result_hint(workflow_id)}"
    )


async def collect(
    handle: WorkflowHandle[Any, AgentRunOutput], outcome: RunOutcome, *, explain: bool = False
) -> RunOutcome:
    """Wait for the run's result or failure (and its routing trail, with `explain`)."""
    try:
        outcome.result = await handle.result()
    except WorkflowFailureError as err:
        outcome.error = failure_sentence(err)
    if explain:
        outcome.trail = await handle.query("routing_trail", result_type=list[RoutingRecord])
    return outcome


def explain(trail: list[RoutingRecord]) -> str:
    """`hybridagent run --explain`: one block per routed model call."""
    if not trail:
        return "routing: no model call was routed"
    lines = []
    for record in trail:
        where = (
            "local only"
            if record.local_only
            else "local or cloud"
            if record.cloud_configured
            else "local; no cloud model configured"
        )
        factors = ", ".join(
            f"{name} {value:.2f}" for name, value in record.complexity_factors.items() if value
        )
        lines.append(
            f"call {record.call} ({record.agent}): {record.model or 'no model'} [{where}]; "
            f"~{record.input_tokens} input tokens; complexity {record.complexity:.2f}"
            + (f" ({factors})" if factors else "")
        )
        lines += [f"  reason: {reason}" for reason in record.reasons]
        lines += [f"  rejected {name}: {why}" for name, why in record.rejected.items()]
    return "\n".join(lines)


def report(outcome: RunOutcome) -> str:
    """What `hybridagent run`, `demo` and the sample scripts print for a finished run."""
    result = outcome.result
    if result is None:
        return (
            f"started run {outcome.workflow_id}; {result_hint(outcome.workflow_id)}\n"
            f"Web UI: {outcome.url}"
        )
    usage = result.usage
    # A named model that was replaced: said before the answer, so it is not missed.
    notices = "".join(f"notice: {line}\n\n" for line in result.notices)
    return (
        f"{notices}{result.final_output.strip()}\n\n"
        f"model: {', '.join(result.models_used)}  agent: {result.agent}  "
        f"tokens: {usage.total_tokens} (in {usage.input_tokens}, out {usage.output_tokens}, "
        f"{model_calls(usage)})\n"
        f"Web UI: {outcome.url}"
    )


def model_calls(usage: TokenUsage) -> str:
    """Model calls as the history shows them (one activity each), and the requests to
    models when tool emulation asked a model again within a call."""
    calls = usage.calls or usage.requests  # runs recorded before calls were counted
    extra = f", {usage.requests} requests" if usage.requests != calls else ""
    return f"{calls} model calls{extra}"
