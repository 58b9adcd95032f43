"""Durable chat sessions over HTTP: a ChatSessionWorkflow per session, a message is its
`send` Update (the same the CLI's `hybridagent chat` sends)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from hybridagent.agents.catalog import DEFAULT_AGENT
from hybridagent.api.context import Who, context_of
from hybridagent.api.costs import cost_usd
from hybridagent.api.errors import ApiError, failed_run, request_id_of
from hybridagent.api.runs_common import check_agent, check_model, owned_handle, start
from hybridagent.routing.names import UnknownModelError, parse_model_name
from hybridagent.routing.preferences import RoutingPreferences
from hybridagent.workflows.chat_session import ChatMessage, ChatReply, SessionState

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
CHARS_PER_TOKEN = 4
DEFAULT_REPLY_TOKENS = 1024


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
) -> JSONResponse:
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
    reply: ChatReply | None = None
    try:
        reply = await handle.execute_update(
            "send", body.content, result_type=ChatReply,
            id=f"api-{idempotency_key}" if idempotency_key else None,
        )  # fmt: skip
    except WorkflowUpdateFailedError as err:
        raise failed_run(err) from None
    except RPCError as err:
        raise ApiError("upstream_unavailable", "The session did not take the message.") from err
    finally:
        used, cost = 0, 0.0
        if reply is not None and reply.models_used:
            usage = reply.usage
            used = usage.total_tokens
            cost = cost_usd(reply.models_used[-1], usage.input_tokens, usage.output_tokens)
        await context.gate.settle(admission, tokens=used, cost_usd=cost)
    model = reply.models_used[-1] if reply.models_used else ""
    headers = {**admission.headers, "x-hybridagent-workflow-id": session_id}
    if model:
        headers["x-hybridagent-model"] = model
        headers["x-hybridagent-route"] = "local" if reply.private or _is_local(model) else "cloud"
    return JSONResponse(reply.model_dump(mode="json"), headers=headers)


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
