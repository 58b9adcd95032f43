"""The agent library over HTTP: the built-in agents and the user's agent files (the
directory workers read, `HYBRIDAGENT_AGENTS_DIR`). Error bodies never name the
server's paths."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hybridagent.agents.catalog import BUILTIN_AGENTS
from hybridagent.agents.files import AgentStore
from hybridagent.agents.spec import AgentSpec, InvalidAgentSpecError, UnknownAgentError
from hybridagent.api.context import Who, context_of
from hybridagent.api.errors import ApiError

router = APIRouter(prefix="/v1/agents", tags=["agents"])


def _store(request: Request) -> AgentStore:
    return AgentStore(context_of(request).settings.agents_path)


def _row(spec: AgentSpec) -> dict[str, Any]:
    return {**spec.model_dump(mode="json"), "builtin": spec.name in BUILTIN_AGENTS}


def _load(store: AgentStore, name: str) -> AgentSpec:
    try:
        return store.load(name)
    except UnknownAgentError:
        raise ApiError("agent_not_found", f"There is no agent {name!r}.") from None
    except InvalidAgentSpecError:
        raise ApiError("invalid_request", f"The file of agent {name!r} is not valid.") from None


def _save(store: AgentStore, spec: AgentSpec) -> None:
    if spec.name in BUILTIN_AGENTS:
        raise ApiError("invalid_request", f"{spec.name!r} is a built-in agent; use another name.")
    try:
        store.check(spec, spec.name)
        store.save(spec)
    except (InvalidAgentSpecError, UnknownAgentError) as err:
        # Its own sentence, without the server's directory.
        message = str(err).splitlines()[0].replace(str(store.root), "the agents directory")
        raise ApiError("invalid_request", message, param="handoffs") from None


@router.get("")
async def list_agents(request: Request, who: Who) -> dict[str, Any]:
    store = _store(request)
    names = sorted({*BUILTIN_AGENTS, *store.names()})
    return {"object": "list", "data": [_row(_load(store, name)) for name in names]}


@router.get("/{name}")
async def get_agent(name: str, request: Request, who: Who) -> dict[str, Any]:
    return _row(_load(_store(request), name))


@router.post("", status_code=201)
async def create_agent(spec: AgentSpec, request: Request, who: Who) -> JSONResponse:
    store = _store(request)
    if spec.name in BUILTIN_AGENTS or store.path_of(spec.name) is not None:
        raise ApiError(
            "invalid_request", f"An agent named {spec.name!r} exists already.", param="name"
        )
    _save(store, spec)
    return JSONResponse(_row(spec), status_code=201)


@router.put("/{name}")
async def update_agent(name: str, spec: AgentSpec, request: Request, who: Who) -> dict[str, Any]:
    if spec.name != name:
        raise ApiError("invalid_request", f"The body's name must be {name!r}.", param="name")
    store = _store(request)
    _load(store, name)
    _save(store, spec)
    return _row(spec)


@router.delete("/{name}")
async def delete_agent(name: str, request: Request, who: Who) -> dict[str, Any]:
    store = _store(request)
    if name in BUILTIN_AGENTS:
        raise ApiError("invalid_request", f"{name!r} is a built-in agent and cannot be deleted.")
    _load(store, name)
    store.delete(name)
    return {"name": name, "deleted": True}
