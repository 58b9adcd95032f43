"""Durable chat sessions over HTTP: a ChatSessionWorkflow per session, a message is its
`send` Update (the same the CLI's `hybridagent chat` sends). With `stream` a message's
answer is Server-Sent Events: the model's text read from the workflow's stream while the
Update runs, then the reply."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.service import RPCError

from hybridagent.agents.catalog import DEFAULT_AGENT
from hybridagent.api.context import ApiContext, Who, context_of
from hybridagent.api.costs import cost_usd
from hybridagent.api.errors import ApiError, failed_run, request_id_of
from hybridagent.api.gate import Admission
from hybridagent.api.runs_common import check_agent, check_model, owned_handle, start
from hybridagent.routing.names import UnknownModelError, parse_model_name
from hybridagent.routing.preferences import RoutingPreferences
from hybridagent.runners.chat_client import session_summaries
from hybridagent.workflows.chat_session import (
    MODEL_EVENTS_TOPIC,
    ChatMessage,
    ChatReply,
    SessionChange,
    SessionState,
)
from hybridagent.workflows.io import RoutingRecord

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
CHARS_PER_TOKEN = 4
DEFAULT_REPLY_TOKENS = 1024
POLL_COOLDOWN = timedelta(milliseconds=20)
# Settlements of streamed replies, kept referenced until the reply is in: they do not
# depend on the response (a client that goes away does not stop the Update, and its
# usage is still charged).
_settling: set[asyncio.Task[None]] = set()


class NewSession(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str = DEFAULT_AGENT
    model: str | None = None
    strict: bool = False
    stream: bool = False
    routing: RoutingPreferences | None = None
    user: str | None = Field(None, min_length=1, max_length=200)


class NewMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=200_000)
    # Server-Sent Events: `delta` events as the model writes, then `reply` (or `error`).
    stream: bool = False


@router.get("")
async def list_sessions(
    request: Request, who: Who, limit: int = Query(50, ge=1, le=500)
) -> dict[str, Any]:
    """The caller's sessions, newest first (another key's are not listed)."""
    context = context_of(request)
    try:
        rows = await session_summaries(context.client, limit, owner=who.name)
    except RPCError as err:
        raise ApiError("upstream_unavailable", "Temporal did not list the sessions.") from err
    return {
        "object": "list",
        "data": [
            {
                "id": row.session_id,
                "status": row.status,
                "started": row.started.isoformat(),
                "agent": row.agent,
                "messages": row.messages,
                "title": row.title,
                "web_ui_url": context.settings.workflow_url(row.session_id),
            }  # fmt: skip
            for row in rows
        ],
    }


@router.post("", status_code=201)
async def create_session(body: NewSession, request: Request, who: Who) -> JSONResponse:
    context = context_of(request)
    check_agent(context, body.agent, who)
    model = check_model(body.model, who) if body.model else None
    arg = body.model_dump(mode="json", exclude_defaults=True) | {"user": body.user or who.name}
    if model:
        arg["model"] = model
    session_id = f"session-{uuid.uuid4().hex}"
    handle = await start(
        context, "ChatSessionWorkflow", arg, workflow_id=session_id, caller=who,
        request_id=request_id_of(request),
        # Listed at once (GET /v1/sessions), before the workflow's first task sets these.
        memo={"agent": body.agent, "messages": 0, "title": ""},
    )  # fmt: skip
    return JSONResponse(
        {"id": handle.id, "web_ui_url": context.settings.workflow_url(handle.id)},
        status_code=201,
        headers={"x-hybridagent-workflow-id": handle.id},
    )


@router.post("/{session_id}/messages")
async def send_message(
    session_id: str,
    body: NewMessage,
    request: Request,
    who: Who,
    idempotency_key: str | None = Header(None, max_length=200),
) -> Response:
    """The reply, once the agent has answered. An `Idempotency-Key` is the Update's ID:
    a retried POST gets the first reply, and the model is asked once."""
    context = context_of(request)
    handle, _ = await owned_handle(context, session_id, who, "session")
    estimate = len(body.content) // CHARS_PER_TOKEN + DEFAULT_REPLY_TOKENS
    admission = await context.gate.admit(
        who,
        estimated_tokens=estimate,
        estimated_cost_usd=cost_usd("auto", estimate - DEFAULT_REPLY_TOKENS, DEFAULT_REPLY_TOKENS),
    )
    update_id = f"api-{idempotency_key}" if idempotency_key else None
    if body.stream:
        return await _streamed(context, handle, body.content, update_id, admission)
    reply: ChatReply | None = None
    try:
        reply = await handle.execute_update(
            "send", body.content, result_type=ChatReply, id=update_id
        )
    except WorkflowUpdateFailedError as err:
        raise await _send_failure(handle, err) from None
    except RPCError as err:
        raise ApiError("upstream_unavailable", "The session did not take the message.") from err
    finally:
        await _settle(context, admission, reply, body.content)
    headers = {**admission.headers, "x-hybridagent-workflow-id": session_id}
    model = reply.models_used[-1] if reply.models_used else ""
    if model:
        headers["x-hybridagent-model"] = model
        headers["x-hybridagent-route"] = _route(reply)
    return JSONResponse(await _reply_body(context, handle, reply), headers=headers)


async def _send_failure(
    handle: WorkflowHandle[Any, Any], err: WorkflowUpdateFailedError
) -> ApiError:
    """A message that failed; one whose call had to stay local and found no model that
    could take it is `privacy_blocked`, as for a chat completion."""
    try:
        trail = await handle.query("routing_trail", result_type=list[RoutingRecord])
    except RPCError:  # no worker to answer: not known to be pinned
        trail = []
    return failed_run(err, privacy_pinned=bool(trail and trail[-1].local_only))


async def _settle(
    context: ApiContext, admission: Admission, reply: ChatReply | None, content: str
) -> None:
    """With the usage the session reports; a model that reports none (llama.cpp's
    streams) is charged the router's estimate of the message and the reply."""
    used, cost = 0, 0.0
    if reply is not None and reply.models_used:
        usage = reply.usage
        inputs, outputs = usage.input_tokens, usage.output_tokens
        if not usage.total_tokens:
            inputs, outputs = len(content) // CHARS_PER_TOKEN, len(reply.reply) // CHARS_PER_TOKEN
        used = inputs + outputs
        cost = cost_usd(reply.models_used[-1], inputs, outputs)
    await context.gate.settle(admission, tokens=used, cost_usd=cost)


def _route(reply: ChatReply) -> str:
    model = reply.models_used[-1] if reply.models_used else ""
    return "local" if reply.private or _is_local(model) else "cloud"


async def _reply_body(
    context: ApiContext, handle: WorkflowHandle[Any, Any], reply: ChatReply
) -> dict[str, Any]:
    """The reply and why it went where it did: `route`, `model`, the message's
    `routing_trail` (left out when no worker answers the query) and `web_ui_url`."""
    body = reply.model_dump(mode="json")
    body["model"] = reply.models_used[-1] if reply.models_used else None
    body["route"] = _route(reply) if reply.models_used else None
    body["web_ui_url"] = context.settings.workflow_url(handle.id)
    try:
        trail = await handle.query("routing_trail", result_type=list[RoutingRecord])
    except RPCError:
        return body
    body["routing_trail"] = [record.model_dump(mode="json") for record in trail]
    return body


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _streamed(
    context: ApiContext,
    handle: WorkflowHandle[Any, Any],
    content: str,
    update_id: str | None,
    admission: Admission,
) -> StreamingResponse:
    """SSE: `delta` ({"text"}) as the model writes (nothing, on a session or worker
    that does not stream), then `reply` (the JSON a plain POST returns; its `reply` is
    the whole text, which replaces the deltas) or `error` ({"error": {"message",
    "code"}}). The Update is accepted before the response starts, so a message the
    session refuses is a plain error response. A client that goes away (a stop
    button) ends the stream, not the Update: the reply lands in the session and its
    usage is charged."""
    stream = WorkflowStreamClient.create(context.client, handle.id)
    try:
        state = await handle.query("state", result_type=SessionState)
        offset = await stream.get_offset() if state.streaming else None
        update = await handle.start_update(
            "send", content, result_type=ChatReply, id=update_id,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )  # fmt: skip
    except WorkflowUpdateFailedError as err:
        await context.gate.settle(admission, tokens=0, cost_usd=0.0)
        raise failed_run(err) from None
    except RPCError as err:
        await context.gate.settle(admission, tokens=0, cost_usd=0.0)
        raise ApiError("upstream_unavailable", "The session did not take the message.") from err
    queue: asyncio.Queue[str] = asyncio.Queue()

    async def read(start: int) -> None:
        async for item in stream.subscribe(MODEL_EVENTS_TOPIC, start, poll_cooldown=POLL_COOLDOWN):
            data = item.data
            if isinstance(data, dict) and data.get("type") == "response.output_text.delta":
                await queue.put(str(data.get("delta", "")))

    async def settle_when_answered() -> None:
        reply = None
        try:
            reply = await result
        except (WorkflowUpdateFailedError, RPCError):
            pass  # no reply: settling without usage releases the reservation
        await _settle(context, admission, reply, content)

    # Settled whatever becomes of the response (a client may go before it starts).
    result = asyncio.create_task(update.result())
    settling = asyncio.create_task(settle_when_answered())
    _settling.add(settling)
    settling.add_done_callback(_settling.discard)

    async def events() -> AsyncIterator[str]:
        reader = asyncio.create_task(read(offset)) if offset is not None else None
        got: asyncio.Task[str] | None = None
        try:
            while not result.done():
                got = asyncio.create_task(queue.get())
                await asyncio.wait({got, result}, return_when=asyncio.FIRST_COMPLETED)
                if got.done():
                    yield _event("delta", {"text": got.result()})
            try:
                reply = result.result()
            except WorkflowUpdateFailedError as err:
                failure = await _send_failure(handle, err)
                yield _event("error", {"error": {"message": failure.message, "code": failure.code}})
                return
            except RPCError:
                message = "The session did not answer the message."
                yield _event(
                    "error", {"error": {"message": message, "code": "upstream_unavailable"}}
                )
                return
            yield _event("reply", await _reply_body(context, handle, reply))
        finally:
            for task in (reader, got):
                if task is not None:
                    task.cancel()

    headers = {
        **admission.headers, "x-hybridagent-workflow-id": handle.id, "cache-control": "no-cache",
    }  # fmt: skip
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _is_local(model: str) -> bool:
    try:
        return parse_model_name(model).is_local
    except UnknownModelError:  # a backend this process does not know: say cloud
        return False


@router.get("/{session_id}")
async def get_session(session_id: str, request: Request, who: Who) -> dict[str, Any]:
    """The session's state and the messages its workflow holds."""
    context = context_of(request)
    handle, _ = await owned_handle(context, session_id, who, "session")
    try:
        state = await handle.query("state", result_type=SessionState)
        messages = await handle.query("history", result_type=list[ChatMessage])
    except RPCError as err:
        raise ApiError("no_worker", "No worker answered for the session right now.") from err
    url = context.settings.workflow_url(session_id)
    rows = [m.model_dump(mode="json") for m in messages]
    return {
        "id": session_id,
        "state": state.model_dump(mode="json"),
        "messages": rows,
        "web_ui_url": url,
    }


class SessionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str | None = None
    model: str | None = None  # `auto` hands the session back to the router


@router.patch("/{session_id}")
async def change_session(
    session_id: str, body: SessionPatch, request: Request, who: Who
) -> dict[str, Any]:
    """Another agent or model for the session's next messages (its `change` Update)."""
    context = context_of(request)
    handle, _ = await owned_handle(context, session_id, who, "session")
    agent = check_agent(context, body.agent, who) if body.agent else None
    model = None
    if body.model:
        model = check_model(body.model, who) or ""  # "": routed again
    try:
        state = await handle.execute_update(
            "change", SessionChange(agent=agent, model=model), result_type=SessionState
        )
    except WorkflowUpdateFailedError as err:
        raise failed_run(err) from None
    return {"id": session_id, "state": state.model_dump(mode="json")}


@router.delete("/{session_id}")
async def end_session(session_id: str, request: Request, who: Who) -> dict[str, Any]:
    """End the session (its `end` Update); the transcript stays in the database."""
    context = context_of(request)
    handle, _ = await owned_handle(context, session_id, who, "session")
    try:
        state = await handle.execute_update("end", result_type=SessionState)
    except WorkflowUpdateFailedError as err:
        raise failed_run(err) from None
    return {"id": session_id, "state": state.model_dump(mode="json")}
