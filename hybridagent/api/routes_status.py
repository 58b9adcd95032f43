"""GET /v1/status: what `hybridagent health` says, for the web UI's dashboard —
Temporal, the task queue's pollers, and one worker's own report (Ollama, the embedded
model, circuits). Behind a key, unlike /readyz: it names hosts and models.

Each read runs a HealthWorkflow on a worker, so answers are cached for a few seconds.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from hybridagent.api.context import Who, context_of
from hybridagent.runners.health import WorkersView, ask_workers, circuit_cell

router = APIRouter(prefix="/v1/status", tags=["health"])

STATUS_CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def _body(view: WorkersView) -> dict[str, Any]:
    health = view.health
    body: dict[str, Any] = {
        "object": "status",
        "temporal": {"reachable": view.temporal_reachable},
        "workers": {"pollers": len(view.pollers), "problem": view.problem},
        "ollama": None,
        "embedded": None,
        "circuits": [],
    }
    if health is None:
        return body
    body["workers"]["default_model"] = health.default_model
    if health.ollama is not None:
        ollama = health.ollama
        body["ollama"] = {
            "host": ollama.host,
            "reachable": ollama.reachable,
            "installed": ollama.installed,
            "loaded": [m.name for m in ollama.loaded],
            "detail": ollama.detail,
        }
    if health.embedded is not None:
        embedded = health.embedded
        body["embedded"] = {
            "reachable": embedded.reachable,
            "state": embedded.state,
            "summary": embedded.summary(),
        }
    body["circuits"] = [
        {"provider": c.provider, "key": c.key, "state": c.state, "summary": circuit_cell(c)}
        for c in health.circuits
    ]
    return body


@router.get("")
async def status(request: Request, who: Who) -> dict[str, Any]:
    """Temporal, workers, Ollama, the embedded model and circuits (`hybridagent health`)."""
    settings = context_of(request).settings
    cached = _cache.get(settings.task_queue)
    if cached and time.monotonic() - cached[0] < STATUS_CACHE_SECONDS:
        return cached[1]
    body = _body(await ask_workers(settings))
    _cache[settings.task_queue] = (time.monotonic(), body)
    return body
