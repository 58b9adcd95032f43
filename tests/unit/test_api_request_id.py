"""x-request-id: kept when the client's looks like one, made otherwise, and the same in
an error body as in the header (the app without Temporal: these routes need none)."""

from __future__ import annotations

from typing import Any

import httpx

from hybridagent.api.app import create_app
from hybridagent.config import Settings


def client() -> httpx.AsyncClient:
    app = create_app(Settings(_env_file=None), gate=Any, client=Any)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def test_a_request_id_is_made_when_none_is_given() -> None:
    async with client() as api:
        first = (await api.get("/healthz")).headers["x-request-id"]
        second = (await api.get("/healthz")).headers["x-request-id"]
    assert first.startswith("req_") and second.startswith("req_") and first != second


async def test_the_clients_request_id_is_kept_when_it_looks_like_one() -> None:
    async with client() as api:
        kept = await api.get("/healthz", headers={"x-request-id": "my-trace_0001"})
        replaced = await api.get("/healthz", headers={"x-request-id": "no spaces <allowed>"})
    assert kept.headers.get_list("x-request-id") == ["my-trace_0001"]
    assert replaced.headers["x-request-id"].startswith("req_")


async def test_an_error_body_names_the_request_id_of_its_header() -> None:
    async with client() as api:
        refused = await api.get("/v1/models", headers={"x-request-id": "trace-for-a-401"})
    assert refused.status_code == 401
    assert refused.headers.get_list("x-request-id") == ["trace-for-a-401"]
    assert refused.json()["error"]["request_id"] == "trace-for-a-401"
