"""The worker's Ollama models for the web UI's Settings page: what it has, and pulls.

A pull is PullModelWorkflow (workflows/pull_model.py), one workflow ID per model, so a
second POST of the same model joins the running pull. Its progress is the pending
`pull_model` activity's heartbeat details, read with `describe()` as `hybridagent
models pull` reads them: the workflow cannot see them, so it has no query to answer.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from hybridagent.activity_io import PullResult, full_name
from hybridagent.api.context import ApiContext, Who, context_of
from hybridagent.api.errors import ApiError
from hybridagent.routing.names import UnknownModelError
from hybridagent.runners.health import ask_workers
from hybridagent.runners.pull import ollama_model_name, poll_pull
from hybridagent.runners.start import failure_sentence
from hybridagent.workers.ollama_models import start_pull
from hybridagent.workflows.pull_model import pull_workflow_id

router = APIRouter(prefix="/v1/ollama", tags=["ollama"])

# Ollama's names: [namespace/]model[:tag], letters, digits and . _ - (no spaces, no ..).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?(:[A-Za-z0-9._-]+)?$")
MAX_NAME = 200


class PullRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="An Ollama model, e.g. llama3.2:3b or ollama/llama3.2:3b")


def pull_name(given: str, who: Who) -> str:
    """Ollama's full name of `given` (`llama3.2` is `llama3.2:latest`), or a 400/403."""
    bare = given.strip().removeprefix("ollama/")
    if len(bare) > MAX_NAME or ".." in bare or not _NAME.match(bare):
        raise ApiError(
            "invalid_request",
            "model must be an Ollama model name such as llama3.2:3b "
            "(letters, digits, '.', '_', '-', an optional namespace/ and :tag).",
            param="model",
        )
    try:
        name = ollama_model_name(bare)
    except UnknownModelError as err:
        raise ApiError("invalid_request", str(err), param="model") from None
    if not who.allows_model(f"ollama/{name}"):
        raise ApiError("permission_denied", f"This API key may not use ollama/{name}.")
    return name


@router.get("/models")
async def models(request: Request, who: Who) -> dict[str, Any]:
    """The models the worker's Ollama has (its `/api/tags`), and which are loaded."""
    view = await ask_workers(context_of(request).settings)
    health = view.health
    if health is None:
        raise ApiError("no_worker", view.problem or "No worker answered.")
    ollama = health.ollama
    if ollama is None:
        raise ApiError("ollama_unavailable", "The worker has no Ollama backend configured.")
    if not ollama.reachable:
        raise ApiError(
            "ollama_unavailable",
            "The worker's Ollama is not reachable; start it (`ollama serve`) or set OLLAMA_HOST.",
        )
    loaded = {m.name for m in ollama.loaded}
    return {
        "object": "list",
        "data": [
            {"id": f"ollama/{name}", "object": "model", "name": name, "loaded": name in loaded}
            for name in ollama.installed
        ],
    }


async def _progress(context: ApiContext, name: str) -> dict[str, Any]:
    workflow_id = pull_workflow_id(name)
    handle = context.client.get_workflow_handle(workflow_id, result_type=PullResult)
    body: dict[str, Any] = {
        "object": "ollama.pull",
        "model": name,
        "workflow_id": workflow_id,
        "state": "running",
        "status": "starting",
        "digest": None,
        "completed": None,
        "total": None,
        "attempt": 1,
        "error": None,
        "url": context.settings.workflow_url(workflow_id),
    }
    try:
        running, seen = await poll_pull(context.client, handle)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ApiError("not_found", f"No pull of {name} has been started.") from None
        raise
    if running:
        if seen is not None:
            progress = seen.progress
            body |= {
                "status": progress.status,
                "digest": progress.digest,
                "completed": progress.completed,
                "total": progress.total,
                "attempt": seen.attempt,
            }
        return body
    try:
        result = await handle.result()
    except WorkflowFailureError as err:
        return body | {"state": "failed", "status": "failed", "error": failure_sentence(err)}
    return body | {
        "state": "succeeded",
        "status": result.status,
        "completed": result.bytes,
        "total": result.bytes,
        "layers": result.layers,
    }


@router.post("/pull", status_code=202)
async def pull(request: Request, body: PullRequest, who: Who) -> dict[str, Any]:
    """Start PullModelWorkflow for the model, or join the one already pulling it."""
    context = context_of(request)
    name = pull_name(body.model, who)
    await start_pull(context.client, context.settings, name)
    return await _progress(context, name)


@router.get("/pulls/{model:path}")
async def pull_progress(request: Request, model: str, who: Who) -> dict[str, Any]:
    """The pull's state (`running`, `succeeded`, `failed`) and Ollama's last progress:
    `status`, the layer `digest` and its `completed` and `total` bytes."""
    return await _progress(context_of(request), pull_name(full_name(model), who))
