"""/metrics on the API app (without Temporal: these routes need none): requests counted
by route template and status, never by raw path, and refusals by their code (a real key
store and the in-memory limiter refusing a key with no budget left)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from hybridagent.api.app import create_app
from hybridagent.api.context import ApiContext
from hybridagent.api.key_gate import KeyGate
from hybridagent.api.keys import KeyLimits, open_key_store
from hybridagent.api.limits import MemoryLimiter
from hybridagent.config import Settings


def samples(body: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (s.name, dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(body)
        for s in family.samples
    ]


async def test_requests_and_refusals_are_counted_by_route_template_and_code(
    tmp_path: Path,
) -> None:
    settings = Settings(_env_file=None, state_dir=tmp_path)  # type: ignore[call-arg]
    store = open_key_store(settings)
    _, broke = store.create("broke", KeyLimits(budget_usd=0.0))
    gate = KeyGate(store, MemoryLimiter())
    app = create_app(settings, gate, client=Any)  # type: ignore[arg-type]
    app.state.context = ApiContext(settings=settings, gate=gate, client=Any)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
        assert (await api.get("/healthz")).status_code == 200
        secret_path = "/v1/runs/run-secret-id-123"
        assert (await api.get(secret_path)).status_code == 401
        refused = await api.post(
            "/v1/chat/completions",
            headers={"authorization": f"Bearer {broke}"},
            json={"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert refused.status_code == 429, refused.text
        scraped = await api.get("/metrics")
    await gate.aclose()
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    body = scraped.text
    assert "run-secret-id-123" not in body and broke not in body and "hi" not in body.split()
    found = samples(body)

    def value(name: str, **labels: str) -> float:
        return sum(v for n, ls, v in found if n == name and labels.items() <= ls.items())

    assert value("hybridagent_http_requests_total", route="/healthz", status="200") == 1
    assert value("hybridagent_http_requests_total", route="/v1/runs/{run_id}", status="401") == 1
    assert (
        value("hybridagent_http_request_duration_seconds_count", route="/v1/chat/completions") == 1
    )
    assert not [n for n, _, _ in found if n.endswith("_created")]
    assert value("hybridagent_api_errors_total", code="invalid_api_key") == 1
    assert value("hybridagent_api_errors_total", code="budget_exceeded") == 1
