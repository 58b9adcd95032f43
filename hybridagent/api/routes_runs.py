"""The runs API: an AgentWorkflow started now and read later.

`POST /v1/runs` answers 202 at once; `Idempotency-Key` becomes the workflow ID, so a
retried POST starts nothing twice. `GET /v1/runs/{id}/events` follows the run's history
as Server-Sent Events: model calls, the model's text as it streams, tool calls,
fallbacks and the end.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.service import RPCError

from hybridagent.api.context import ApiContext, Who, context_of, result_of
from hybridagent.api.costs import cost_usd
from hybridagent.api.errors import ApiError, failed_run, request_id_of
from hybridagent.api.gate import Admission, Caller
from hybridagent.api.runs_common import (
    START_TOKEN,
    check_agent,
    check_model,
    owned_handle,
    start,
)
from hybridagent.workflows.chat_session import MODEL_EVENTS_TOPIC
from hybridagent.workflows.io import AgentRunInput, AgentRunOutput, RoutingRecord

router = APIRouter(prefix="/v1/runs", tags=["runs"])
CHARS_PER_TOKEN = 4
DEFAULT_RUN_TOKENS = 4096  # reserved for a run's calls until it reports its usage
# The plugin's model-call activities: plain, and streaming (runs started here).
MODEL_ACTIVITIES = frozenset({"invoke_model_activity", "invoke_model_activity_streaming"})
POLL_COOLDOWN = timedelta(milliseconds=20)
# After the run's end, how long the stream's last deltas may take to be read (a query
# to a worker) before the end is sent without them.
TEXT_TAIL_SECONDS = 10.0

_STATUS = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "running",
}


def run_id_for(caller: Caller, idempotency_key: str | None) -> tuple[str, bool]:
    """The workflow ID, and whether a repeat may start a new run: a key's
    Idempotency-Key maps to one ID (other keys' cannot collide with it)."""
    if not idempotency_key:
        return f"run-{uuid.uuid4().hex}", True
    digest = hashlib.sha256(f"{caller.name}\0{idempotency_key}".encode()).hexdigest()[:32]
    return f"run-{digest}", False


async def _settle_when_done(context: ApiContext, admission: Admission, workflow_id: str) -> None:
    """A run's reservation is settled with its usage when it ends (in this process)."""
    tokens, cost = 0, 0.0
    try:
        output: AgentRunOutput = await result_of(context, workflow_id, AgentRunOutput)
        usage = output.usage
        tokens = usage.total_tokens
        cost = cost_usd(output.models_used[-1], usage.input_tokens, usage.output_tokens)
    except (WorkflowFailureError, RPCError):
        tokens, cost = 0, 0.0
    finally:
        await context.gate.settle(admission, tokens=tokens, cost_usd=cost)


_background: set[asyncio.Task[None]] = set()


@router.post("", status_code=202)
async def create_run(
    body: AgentRunInput,
    request: Request,
    who: Who,
    idempotency_key: str | None = Header(None, max_length=200),
) -> JSONResponse:
    """Start an AgentWorkflow (its input, as `hybridagent run` sends it)."""
    context = context_of(request)
    if body.agent:
        check_agent(context, body.agent, who)
    model = check_model(body.model, who) if body.model else None
    # The model's words stream to `GET /v1/runs/{id}/events` as text deltas.
    arg = body.model_copy(update={"model": model, "stream": True})
    workflow_id, reuse = run_id_for(who, idempotency_key)
    if not reuse:
        repeat = await _started_before(context, workflow_id, who)
        if repeat is not None:
            return repeat  # a retried POST: the same run, admitted and charged once
    estimate = len(body.prompt) // CHARS_PER_TOKEN + DEFAULT_RUN_TOKENS
    admission = await context.gate.admit(
        who,
        estimated_tokens=estimate,
        estimated_cost_usd=cost_usd(
            model or "auto", estimate - DEFAULT_RUN_TOKENS, DEFAULT_RUN_TOKENS
        ),
    )
    token = uuid.uuid4().hex  # not the request ID: a client may send the same one twice
    try:
        handle = await start(
            context, "AgentWorkflow", arg.model_dump(mode="json", exclude_defaults=True),
            workflow_id=workflow_id, caller=who, request_id=request_id_of(request),
            reuse=reuse, start_token=token,
        )  # fmt: skip
        described = await handle.describe()
        started_here = reuse or (await described.memo()).get(START_TOKEN) == token
    except BaseException:
        await context.gate.settle(admission, tokens=0, cost_usd=0.0)
        raise
    if not started_here:
        # A concurrent POST with the same Idempotency-Key won the start (Temporal admits
        # one): the run is charged to that request alone, in whichever API process.
        await context.gate.settle(admission, tokens=0, cost_usd=0.0)
        return _accepted(context, handle.id, described, {})
    task = asyncio.create_task(_settle_when_done(context, admission, handle.id))
    _background.add(task)
    task.add_done_callback(_background.discard)
    return _accepted(context, handle.id, described, admission.headers)


async def _started_before(
    context: ApiContext, workflow_id: str, who: Caller
) -> JSONResponse | None:
    """The 202 of the run an Idempotency-Key started before, or None if there is none."""
    try:
        _, described = await owned_handle(context, workflow_id, who, "run")
    except ApiError as err:
        if err.code == "not_found":
            return None
        raise
    return _accepted(context, workflow_id, described, {})


def _accepted(
    context: ApiContext, workflow_id: str, described: Any, headers: dict[str, str]
) -> JSONResponse:
    body_out = {
        "id": workflow_id,
        "status": _STATUS.get(described.status or WorkflowExecutionStatus.RUNNING, "running"),
        "web_ui_url": context.settings.workflow_url(workflow_id),
    }
    return JSONResponse(
        body_out, status_code=202, headers={**headers, "x-hybridagent-workflow-id": workflow_id}
    )


@router.get("/{run_id}")
async def get_run(run_id: str, request: Request, who: Who) -> dict[str, Any]:
    """Status; when finished, the result and usage; the routing trail so far."""
    context = context_of(request)
    handle, described = await owned_handle(context, run_id, who, "run")
    status = _STATUS.get(described.status or WorkflowExecutionStatus.RUNNING, "running")
    out: dict[str, Any] = {
        "id": run_id,
        "status": status,
        "web_ui_url": context.settings.workflow_url(run_id),
        "result": None,
        "usage": None,
        "error": None,
        "routing_trail": [],
    }
    if status == "completed":
        result = await result_of(context, run_id, AgentRunOutput)
        out["result"] = result.model_dump(mode="json", exclude={"usage"})
        out["usage"] = result.usage.model_dump(mode="json")
    elif status in ("failed", "timed_out", "cancelled", "terminated"):
        try:
            await handle.result()
        except WorkflowFailureError as err:
            failure = failed_run(err)
            out["error"] = {"message": failure.message, "code": failure.code}
    try:
        trail = await asyncio.wait_for(
            handle.query("routing_trail", result_type=list[RoutingRecord]), timeout=5
        )
        out["routing_trail"] = [record.model_dump(mode="json") for record in trail]
    except (RPCError, TimeoutError, WorkflowFailureError):
        pass  # no worker to answer the query right now: the trail is left out
    return out


@router.post("/{run_id}/cancel", status_code=202)
async def cancel_run(run_id: str, request: Request, who: Who) -> dict[str, str]:
    context = context_of(request)
    handle, described = await owned_handle(context, run_id, who, "run")
    if described.status == WorkflowExecutionStatus.RUNNING:
        await handle.cancel()
        return {"id": run_id, "status": "cancelling"}
    return {
        "id": run_id,
        "status": _STATUS.get(described.status or WorkflowExecutionStatus.RUNNING, "running"),
    }


# An SSE event's text, and whether it is the run's last.
Events = asyncio.Queue[tuple[str, bool]]


def _event(kind: str, **data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data}, default=str)}\n\n"


async def _read_history(
    context: ApiContext, handle: WorkflowHandle[Any, Any], run_id: str, out: Events
) -> None:
    """The run's history as events on `out`, until (and with) the one that ends it."""
    scheduled: dict[int, str] = {}
    async for event in handle.fetch_history_events(wait_new_event=True):
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            name = attributes.activity_type.name
            scheduled[event.event_id] = name
            summary = (
                event.user_metadata.summary.data.decode(errors="replace")
                if event.HasField("user_metadata")
                else ""
            )
            if name in MODEL_ACTIVITIES:
                await out.put((_event("model_call", summary=summary.strip('"')), False))
            else:
                await out.put((_event("tool_call", tool=name), False))
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failed = event.activity_task_failed_event_attributes
            name = scheduled.get(failed.scheduled_event_id, "")
            message = failed.failure.message[:200]
            await out.put((_event("activity_failed", activity=name, failure=message), False))
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = event.activity_task_completed_event_attributes
            name = scheduled.get(done.scheduled_event_id, "")
            await out.put((_event("activity_completed", activity=name), False))
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            result = await result_of(context, run_id, AgentRunOutput)
            usage = result.usage.model_dump()
            await out.put(
                (_event("completed", final_output=result.final_output, usage=usage), True)
            )
            return
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
            await out.put((_event("cancelled"), True))
            return
        elif kind in (
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        ):
            try:
                await handle.result()
                message, code = "The run ended.", "ended"
            except WorkflowFailureError as err:
                failure = failed_run(err)
                message, code = failure.message, failure.code
            await out.put((_event("failed", message=message, code=code), True))
            return


async def _read_text(context: ApiContext, run_id: str, out: Events) -> None:
    """The model's text deltas from the run's workflow stream, until the stream's last
    item has been read (the subscription ends after the run does)."""
    stream = WorkflowStreamClient.create(context.client, run_id)
    call = 0  # which model response the deltas belong to: a retry or fallback is another
    try:
        async for item in stream.subscribe(MODEL_EVENTS_TOPIC, 0, poll_cooldown=POLL_COOLDOWN):
            data = item.data
            kind = data.get("type") if isinstance(data, dict) else None
            if kind == "response.created":
                call += 1
            elif kind == "response.output_text.delta":
                delta = str(data.get("delta", ""))
                await out.put((_event("text_delta", delta=delta, call=max(call, 1)), False))
    except (
        RPCError,
        WorkflowQueryFailedError,
        WorkflowUpdateFailedError,
        WorkflowUpdateRPCTimeoutOrCancelledError,
    ):
        return  # a run with no stream (started without `stream`): no text deltas


@router.get("/{run_id}/events")
async def run_events(run_id: str, request: Request, who: Who) -> StreamingResponse:
    """SSE of the run as it happens: `model_call`, `text_delta` (the model's words as it
    streams them), `tool_call`, `activity_failed` (then a fallback's next `model_call`),
    and last, after every `text_delta`, `completed` / `failed` / `cancelled`."""
    context = context_of(request)
    handle, _ = await owned_handle(context, run_id, who, "run")

    async def events() -> AsyncIterator[str]:
        out: Events = asyncio.Queue()
        text = asyncio.create_task(_read_text(context, run_id, out))
        history = asyncio.create_task(_read_history(context, handle, run_id, out))
        got: asyncio.Task[tuple[str, bool]] | None = None
        try:
            while True:
                got = asyncio.create_task(out.get())
                await asyncio.wait({got, history}, return_when=asyncio.FIRST_COMPLETED)
                if not got.done():
                    got.cancel()
                    history.result()  # the history reader's failure, if it failed
                    if out.empty():
                        return
                    continue
                item, last = got.result()
                if last:
                    # The deltas a subscriber has yet to read come before the end.
                    with suppress(TimeoutError):
                        await asyncio.wait_for(text, TEXT_TAIL_SECONDS)
                    while not out.empty():
                        yield out.get_nowait()[0]
                yield item
                if last:
                    return
        finally:  # the client went away, or the run ended
            for task in (got, text, history):
                if task is not None:
                    task.cancel()

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )
