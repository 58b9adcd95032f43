"""OpenAI-compatible routes: `GET /v1/models` and `POST /v1/chat/completions`.

A completion is one ChatCompletionWorkflow (workflows/chat_completion.py): routed,
privacy-pinned, cached and falling back like every run. `model` is a hybridagent model
name, `auto`, or `agent/<name>` (that agent with its own tools). With `stream: true` the
answer is Server-Sent Events in OpenAI's chunk format, read from the workflow's stream as
the model writes.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowQueryFailedError
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.service import RPCError

from hybridagent.agents.catalog import BUILTIN_AGENTS
from hybridagent.agents.files import AgentStore
from hybridagent.api.context import ApiContext, Who, context_of, result_of
from hybridagent.api.costs import cost_usd
from hybridagent.api.errors import ApiError, failed_run, request_id_of
from hybridagent.api.gate import Admission, Caller
from hybridagent.api.runs_common import check_agent, check_model, start
from hybridagent.routing.names import AUTO
from hybridagent.runners.health import ask_workers
from hybridagent.workflows.chat_session import MODEL_EVENTS_TOPIC
from hybridagent.workflows.completion_io import (
    CallRoute,
    ClientTool,
    CompletionInput,
    CompletionOutput,
)
from hybridagent.workflows.io import RoutingRecord

router = APIRouter(prefix="/v1", tags=["openai"])
AGENT_PREFIX = "agent/"
CHARS_PER_TOKEN = 4  # the router's estimate (workflows/call_router.py)
DEFAULT_MAX_TOKENS = 1024  # reserved for the answer when a request sets no max_tokens
POLL_COOLDOWN = timedelta(milliseconds=20)
_models_cache: dict[str, tuple[float, list[str]]] = {}
MODELS_CACHE_SECONDS = 10.0
# Where hybridagent says what it changed (a fallback, a privacy pin, tool emulation, a
# cached answer): a header of notice codes, and a field with the sentences.
NOTICE_HEADER = "x-hybridagent-notice"
NOTICES_FIELD = "hybridagent_notices"


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: dict[str, Any] | None = None


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; fields it has and we do not use (seed, stop, …) are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=2000)
    tools: list[ClientTool] | None = Field(None, max_length=128)
    tool_choice: str | dict[str, Any] | None = None
    response_format: ResponseFormat | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1, le=1_000_000)
    max_completion_tokens: int | None = Field(None, ge=1, le=1_000_000)
    n: int = Field(1, ge=1, le=1)
    user: str | None = Field(None, max_length=200)


def _schema(format: ResponseFormat | None) -> tuple[dict[str, Any] | None, str]:
    if format is None or format.type == "text":
        return None, "response"
    if format.type == "json_object":
        return {"type": "object"}, "response"
    spec = format.json_schema or {}
    schema = spec.get("schema")
    if not isinstance(schema, dict):
        raise ApiError(
            "invalid_request", "response_format.json_schema.schema must be a JSON schema.",
            param="response_format",
        )  # fmt: skip
    return schema, str(spec.get("name") or "response")


def _workflow_input(
    body: ChatCompletionRequest, caller: Caller, context: ApiContext
) -> CompletionInput:
    agent = None
    model = None
    if body.model.startswith(AGENT_PREFIX):
        agent = check_agent(context, body.model.removeprefix(AGENT_PREFIX), caller, "model")
    else:
        model = check_model(body.model, caller)
    schema, name = _schema(body.response_format)
    return CompletionInput(
        model=model,
        agent=agent,
        messages=body.messages,
        tools=body.tools or [],
        tool_choice=body.tool_choice,
        json_schema=schema,
        json_schema_name=name,
        temperature=body.temperature,
        top_p=body.top_p,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        stream=body.stream,
        user=body.user or caller.name,
    )


def prompt_tokens(body: ChatCompletionRequest) -> int:
    """The router's estimate of the prompt (characters / 4)."""
    return len(json.dumps(body.messages, ensure_ascii=False, default=str)) // CHARS_PER_TOKEN


def _headers(workflow_id: str, route: CallRoute | None) -> dict[str, str]:
    headers = {"x-hybridagent-workflow-id": workflow_id}
    if route is not None:
        headers["x-hybridagent-model"] = route.model
        headers["x-hybridagent-route"] = route.route
        if route.notices:  # codes only: a header carries no model's or client's text
            headers[NOTICE_HEADER] = ", ".join(dict.fromkeys(route.notices))
    return headers


def _notices(output: CompletionOutput) -> list[dict[str, str]]:
    return [notice.model_dump(mode="json") for notice in output.changes]


def _usage(output: CompletionOutput) -> dict[str, int]:
    return {
        "prompt_tokens": output.usage.input_tokens,
        "completion_tokens": output.usage.output_tokens,
        "total_tokens": output.usage.total_tokens,
    }


def _tool_calls(output: CompletionOutput) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in output.tool_calls
    ]


def completion_body(workflow_id: str, created: int, output: CompletionOutput) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": output.content, "refusal": None}
    if output.tool_calls:
        message["tool_calls"] = _tool_calls(output)
    return {
        "id": workflow_id,
        "object": "chat.completion",
        "created": created,
        "model": output.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": output.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": _usage(output),
        NOTICES_FIELD: _notices(output),  # OpenAI's clients keep unknown fields as extras
    }


async def _failure(handle: WorkflowHandle[Any, Any], err: WorkflowFailureError) -> ApiError:
    """The run's failure for the client; a call that had to stay local and found no
    local model is `privacy_blocked`."""
    try:
        trail = await handle.query("routing_trail", result_type=list[RoutingRecord])
    except Exception:  # noqa: BLE001 - no trail (no worker to answer): not pinned
        trail = []
    return failed_run(err, privacy_pinned=bool(trail and trail[-1].local_only))


async def settle(
    context: ApiContext, admission: Admission, output: CompletionOutput | None, prompt: int = 0
) -> None:
    """Settle with the usage the model reported; a model that reports none (llama.cpp's
    streams) is charged the router's estimate of the prompt and the answer, so a
    streamed call counts against the limits too."""
    tokens = cost = 0.0
    if output is not None:
        usage = output.usage
        answer = len(output.content or "") // CHARS_PER_TOKEN
        inputs, outputs = (
            (usage.input_tokens, usage.output_tokens) if usage.total_tokens else (prompt, answer)
        )
        tokens = inputs + outputs
        cost = cost_usd(output.model, inputs, outputs)
    await context.gate.settle(admission, tokens=int(tokens), cost_usd=cost)


@router.post("/chat/completions")
async def chat_completions(body: ChatCompletionRequest, request: Request, who: Who) -> Any:
    """A chat completion as OpenAI's API makes it, on a durable workflow."""
    context = context_of(request)
    arg = _workflow_input(body, who, context)
    answer = body.max_completion_tokens or body.max_tokens or DEFAULT_MAX_TOKENS
    prompt = prompt_tokens(body)  # a JSON dump of the messages: once per request
    admission = await context.gate.admit(
        who,
        estimated_tokens=prompt + answer,
        estimated_cost_usd=cost_usd(arg.model or body.model, prompt, answer),
    )
    workflow_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    try:
        handle = await start(
            context, "ChatCompletionWorkflow", arg.model_dump(mode="json", exclude_defaults=True),
            workflow_id=workflow_id, caller=who, request_id=request_id_of(request),
        )  # fmt: skip
    except BaseException:
        await context.gate.settle(admission, tokens=0, cost_usd=0.0)
        raise
    if body.stream:
        return await _streamed(context, handle, admission, body, created)
    output: CompletionOutput | None = None
    try:
        output = await result_of(context, handle.id, CompletionOutput)
    except WorkflowFailureError as err:
        raise await _failure(handle, err) from None
    finally:
        await settle(context, admission, output, prompt)
    headers = {
        **admission.headers,
        **_headers(workflow_id, _route(output)),
    }
    return JSONResponse(completion_body(workflow_id, created, output), headers=headers)


def _route(output: CompletionOutput) -> CallRoute:
    notices = [notice.code for notice in output.changes]
    return CallRoute(model=output.model, route=output.route, notices=notices)


def _chunk(
    workflow_id: str,
    created: int,
    model: str,
    delta: dict[str, Any],
    finish: str | None = None,
    **extra: Any,
) -> str:
    data = {
        "id": workflow_id, "object": "chat.completion.chunk", "created": created, "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        **extra,
    }  # fmt: skip
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _streamed(
    context: ApiContext,
    handle: WorkflowHandle[Any, Any],
    admission: Admission,
    body: ChatCompletionRequest,
    created: int,
) -> Any:
    """SSE. The response starts once the model's first words arrive (or the run ends),
    so its headers can name the model, and a failure before any words is a plain error
    response with its status."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    stream = WorkflowStreamClient.create(context.client, handle.id)

    async def read() -> None:
        async for item in stream.subscribe(MODEL_EVENTS_TOPIC, 0, poll_cooldown=POLL_COOLDOWN):
            data = item.data
            if isinstance(data, dict) and data.get("type") == "response.output_text.delta":
                await queue.put(str(data.get("delta", "")))

    reader = asyncio.create_task(read())
    result = asyncio.create_task(result_of(context, handle.id, CompletionOutput))
    first = asyncio.create_task(queue.get())
    await asyncio.wait({first, result}, return_when=asyncio.FIRST_COMPLETED)
    if result.done() and not first.done():
        first.cancel()
        reader.cancel()
        try:
            output = result.result()
        except WorkflowFailureError as err:
            await context.gate.settle(admission, tokens=0, cost_usd=0.0)
            raise await _failure(handle, err) from None
        pending = None
    else:
        output = None
        pending = first.result()
    route = output and _route(output)
    if route is None:
        try:
            route = await handle.query("current_route", result_type=CallRoute | None)  # type: ignore[arg-type]
        except (RPCError, WorkflowQueryFailedError):
            # A busy worker that does not answer in time: the headers name the requested
            # model; the answer's chunks still name the one that answered.
            route = None
    model = route.model if route else body.model
    include_usage = bool((body.stream_options or {}).get("include_usage"))

    async def events() -> AsyncIterator[str]:
        shown: list[str] = []
        final: CompletionOutput | None = output
        try:
            yield _chunk(handle.id, created, model, {"role": "assistant", "content": ""})
            if pending:
                shown.append(pending)
                yield _chunk(handle.id, created, model, {"content": pending})
            while final is None:
                got = asyncio.create_task(queue.get())
                await asyncio.wait({got, result}, return_when=asyncio.FIRST_COMPLETED)
                if got.done():
                    shown.append(got.result() or "")
                    yield _chunk(handle.id, created, model, {"content": shown[-1]})
                    continue
                got.cancel()
                try:
                    final = result.result()
                except WorkflowFailureError as err:
                    failure = await _failure(handle, err)
                    error = {"message": failure.message, "code": failure.code}
                    yield f"data: {json.dumps({'error': error})}\n\n"
                    return
            text = "".join(shown)
            rest = (
                (final.content or "")[len(text) :] if (final.content or "").startswith(text) else ""
            )
            if rest:
                yield _chunk(handle.id, created, final.model, {"content": rest})
            if final.tool_calls:
                calls = [dict(call, index=i) for i, call in enumerate(_tool_calls(final))]
                yield _chunk(handle.id, created, final.model, {"tool_calls": calls})
            yield _chunk(
                handle.id, created, final.model, {}, final.finish_reason,
                **{NOTICES_FIELD: _notices(final)},
            )  # fmt: skip
            if include_usage:
                usage = {
                    "id": handle.id, "object": "chat.completion.chunk", "created": created,
                    "model": final.model, "choices": [], "usage": _usage(final),
                }  # fmt: skip
                yield f"data: {json.dumps(usage)}\n\n"
            yield "data: [DONE]\n\n"
        finally:
            reader.cancel()
            await settle(context, admission, final, prompt_tokens(body))

    headers = {**admission.headers, **_headers(handle.id, route), "cache-control": "no-cache"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.get("/models")
async def list_models(request: Request, who: Who) -> dict[str, Any]:
    """Every model name a request may give: `auto`, the worker's local and configured
    cloud models, and every agent as `agent/<name>`."""
    context = context_of(request)
    names = await _model_names(context)
    agents = sorted({*BUILTIN_AGENTS, *AgentStore(context.settings.agents_path).names()})
    listed = [
        n
        for n in [*names, *(f"{AGENT_PREFIX}{a}" for a in agents)]
        if who.allows_model(n) or n == AUTO
    ]
    return {
        "object": "list",
        "data": [
            {"id": n, "object": "model", "created": 0, "owned_by": "hybridagent"} for n in listed
        ],
    }


async def _model_names(context: ApiContext) -> list[str]:
    """From the worker's health report (its local models) and the configuration (the
    cloud models routing may choose); cached for a few seconds."""
    cached = _models_cache.get(context.settings.task_queue)
    if cached and time.monotonic() - cached[0] < MODELS_CACHE_SECONDS:
        return cached[1]
    settings = context.settings
    names = [AUTO]
    view = await ask_workers(settings)
    health = view.health
    if health is not None:
        if health.default_model:
            names.append(health.default_model)
        if health.ollama is not None:
            names += [f"ollama/{m}" for m in health.ollama.installed]
        if health.embedded is not None and health.embedded.reachable:
            names.append("local/smollm2")
        names += [m for row in health.backends for m in row.models]
    names += settings.routing.local_models + settings.routing.cloud_models
    if settings.cloud_model:
        names.append(settings.cloud_model)
    unique = list(dict.fromkeys(names))
    _models_cache[settings.task_queue] = (time.monotonic(), unique)
    return unique
