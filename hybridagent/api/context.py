"""What every route needs: the settings, the gate, the Temporal client and the usage
ledger's database, and the caller's key from `Authorization: Bearer`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from hybridagent.api.errors import ApiError
from hybridagent.api.gate import Caller, Gate
from hybridagent.config import Settings
from hybridagent.storage import Storage


@dataclass
class ApiContext:
    settings: Settings
    gate: Gate
    client: Client
    ledger: Storage | None = None  # the usage ledger's database (routes_usage.py)


def context_of(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


# Declares the scheme in the OpenAPI schema (the Authorize button of /docs); the check
# itself is `caller`'s, so a missing key gets our error envelope.
BEARER = HTTPBearer(auto_error=False, description="An API key: hybridagent keys create NAME")


async def caller(
    request: Request, _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
) -> Caller:
    """The route's dependency: the key of `Authorization: Bearer <key>`, or a 401."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(
            "invalid_api_key",
            "Send an API key as `Authorization: Bearer <key>` (hybridagent keys create).",
        )
    found = await context_of(request).gate.authenticate(secret.strip())
    if found is None:
        raise ApiError("invalid_api_key", "The API key is not valid or has been revoked.")
    request.state.caller = found.name
    return found


# A route's parameter `who: Who` is the authenticated caller.
Who = Annotated[Caller, Depends(caller)]


async def result_of(context: ApiContext, workflow_id: str, result_type: type[Any]) -> Any:
    """The workflow's result, decoded as `result_type` (its handle from a start has none)."""
    handle = context.client.get_workflow_handle(workflow_id, result_type=result_type)
    return await handle.result()
