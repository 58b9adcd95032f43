"""Starting and reading workflows for the routes: one task queue, the caller's key name in
the memo (a run is read back only by the key that started it), no worker → 503 at once
instead of a request that hangs."""

from __future__ import annotations

import time
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from hybridagent.agents.files import AgentStore
from hybridagent.agents.spec import InvalidAgentSpecError, UnknownAgentError
from hybridagent.api.context import ApiContext
from hybridagent.api.errors import ApiError
from hybridagent.api.gate import Caller
from hybridagent.logs import bind_workflow_id
from hybridagent.routing.names import UnknownModelError, is_default, parse_model_name
from hybridagent.runners.pickup import queue_view

# Memo key of the API key that started a workflow (its name, never its secret).
OWNER = "api_key"
# Memo field unique to each start request: the one whose token the run carries started it.
START_TOKEN = "start"
NO_WORKER_SECONDS = 75.0  # a poller older than this is a worker that is gone
_QUEUE_CACHE_SECONDS = 5.0
_queue_seen: dict[str, float] = {}  # task queue -> when a live poller was last seen


async def require_worker(context: ApiContext) -> None:
    """503 no_worker when no worker polls the task queue (checked at most every few
    seconds: a live queue costs no RPC per request)."""
    queue = context.settings.task_queue
    if time.monotonic() - _queue_seen.get(queue, -1e9) < _QUEUE_CACHE_SECONDS:
        return
    view = await queue_view(context.client, queue)
    if view.last_poll_seconds is None or view.last_poll_seconds > NO_WORKER_SECONDS:
        raise ApiError(
            "no_worker",
            f"No worker polls task queue {queue!r}; start one with `hybridagent worker`.",
        )
    _queue_seen[queue] = time.monotonic()


def check_model(name: str, caller: Caller) -> str | None:
    """The request's model as a workflow takes it (None: routed), or the ApiError."""
    if is_default(name):
        return None
    try:
        ref = parse_model_name(name)
    except UnknownModelError as err:
        raise ApiError("model_not_found", str(err), param="model") from None
    if not caller.allows_model(ref.name):
        raise ApiError("permission_denied", f"This API key may not use {ref.name}.", param="model")
    return ref.name


def check_agent(context: ApiContext, name: str, caller: Caller, param: str = "agent") -> str:
    """The agent's name when it exists; the errors name no path of the server's."""
    try:
        AgentStore(context.settings.agents_path).load(name)
    except UnknownAgentError:
        message = f"There is no agent {name!r}; GET /v1/agents lists them."
        raise ApiError("agent_not_found", message, param=param) from None
    except InvalidAgentSpecError:
        message = f"The file of agent {name!r} is not valid; fix it on the server."
        raise ApiError("invalid_request", message, param=param) from None
    if not caller.allows_model(f"agent/{name}"):
        raise ApiError("permission_denied", f"This API key may not use agent/{name}.")
    return name


async def start(
    context: ApiContext,
    workflow: str,
    arg: Any,
    *,
    workflow_id: str,
    caller: Caller,
    request_id: str,
    reuse: bool = True,
    start_token: str = "",
    memo: dict[str, Any] | None = None,
) -> WorkflowHandle[Any, Any]:
    """Start `workflow`; with `reuse` false (an Idempotency-Key), a second start of the
    same ID returns the running or finished run instead of starting anything. `memo`:
    more memo fields (the workflow may upsert them later)."""
    bind_workflow_id(workflow_id)  # the request's later log lines name its run
    await require_worker(context)
    try:
        return await context.client.start_workflow(
            workflow,
            arg,
            id=workflow_id,
            task_queue=context.settings.task_queue,
            memo={
                **(memo or {}),
                OWNER: caller.name,
                "request_id": request_id,
                START_TOKEN: start_token,
            },  # fmt: skip
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=(
                WorkflowIDReusePolicy.ALLOW_DUPLICATE
                if reuse
                else WorkflowIDReusePolicy.REJECT_DUPLICATE
            ),
        )
    except WorkflowAlreadyStartedError:  # finished before, same key (the SDK's name for it)
        return context.client.get_workflow_handle(workflow_id)
    except RPCError as err:
        if err.status == RPCStatusCode.ALREADY_EXISTS:
            return context.client.get_workflow_handle(workflow_id)
        raise ApiError("upstream_unavailable", "Temporal refused to start the run.") from None


async def owned_handle(
    context: ApiContext, workflow_id: str, caller: Caller, kind: str
) -> tuple[WorkflowHandle[Any, Any], Any]:
    """The workflow `workflow_id` and its description, when `caller` started it; a
    404 otherwise (another key's run is not told apart from none)."""
    bind_workflow_id(workflow_id)
    handle = context.client.get_workflow_handle(workflow_id)
    try:
        described = await handle.describe()
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise ApiError("not_found", f"There is no {kind} {workflow_id!r}.") from None
        raise ApiError("upstream_unavailable", "Temporal did not answer.") from None
    memo = await described.memo()
    if memo.get(OWNER) != caller.name:
        raise ApiError("not_found", f"There is no {kind} {workflow_id!r}.")
    return handle, described
