"""The API's Ollama routes on the real stack against the loopback Ollama of the pull
tests: the listing, a pull started twice (one workflow, one download) whose progress is
seen held at 50 % and then done, names refused in one sentence, and an Ollama that
stops answering.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from hybridagent.workflows.pull_model import pull_workflow_id
from tests.conftest import make_settings, running_worker
from tests.fixtures.ollama_admin_server import PULL, FakeOllamaAdmin
from tests.integration.test_api import serving_api
from tests.integration.test_ollama_models import HALF, unique_model


async def progress_until(client: httpx.AsyncClient, model: str, done: Any) -> dict[str, Any]:
    """The pull's progress once `done(body)` holds (another process's progress: polled)."""
    for _ in range(600):
        response = await client.get(f"/v1/ollama/pulls/{model}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if done(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"the pull never got there; last seen {body}")


def one_sentence(response: httpx.Response, code: str, status: int) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    message: str = error["message"]
    assert message.endswith(".") and "\n" not in message
    return message


async def test_ollama_models_and_a_pull_with_its_progress(
    temporal_address: str, tmp_path: Path
) -> None:
    model = unique_model()
    fake = FakeOllamaAdmin(installed=("smollm:135m",), registry=(model,), pause_at=HALF)
    stopped = False
    fake.__enter__()
    try:
        settings = make_settings(temporal_address, tmp_path, ollama_host=fake.host)
        async with running_worker(settings) as worker, serving_api(worker) as api:
            headers = {"Authorization": f"Bearer {api.key}"}
            async with httpx.AsyncClient(base_url=api.url, headers=headers, timeout=60) as client:
                anonymous = await client.get("/v1/ollama/models", headers={"Authorization": ""})
                assert anonymous.status_code == 401
                listed = (await client.get("/v1/ollama/models")).json()
                assert listed["data"] == [
                    {
                        "id": "ollama/smollm:135m",
                        "object": "model",
                        "name": "smollm:135m",
                        "loaded": False,
                    }
                ]

                for bad in ("no spaces allowed", "../etc/passwd", "openai/gpt-4o", ""):
                    refused = await client.post("/v1/ollama/pull", json={"model": bad})
                    one_sentence(refused, "invalid_request", 400)
                    assert refused.json()["error"]["param"] == "model"
                never = await client.get(f"/v1/ollama/pulls/{unique_model()}")
                assert "No pull of" in one_sentence(never, "not_found", 404)

                first = await client.post("/v1/ollama/pull", json={"model": f"ollama/{model}"})
                assert first.status_code == 202, first.text
                assert first.json()["workflow_id"] == pull_workflow_id(model)
                assert first.json()["state"] == "running"
                half = await progress_until(client, model, lambda b: b["completed"] == HALF)
                assert half["state"] == "running"
                assert half["total"] == PULL["layers"][0]["total"]
                assert half["status"].startswith("downloading sha256:")
                again = await client.post("/v1/ollama/pull", json={"model": model})
                assert again.json()["workflow_id"] == first.json()["workflow_id"]
                assert again.json()["completed"] == HALF  # joined, not restarted

                fake.release.set()
                done = await progress_until(client, model, lambda b: b["state"] != "running")
                assert done["state"] == "succeeded", done
                assert done["status"] == "success"
                assert done["total"] == sum(layer["total"] for layer in PULL["layers"])
                assert len(fake.requests_to("/api/pull")) == 1
                names = [m["name"] for m in (await client.get("/v1/ollama/models")).json()["data"]]
                assert model in names

                fake.__exit__(None, None, None)  # Ollama stops answering
                stopped = True
                gone = await client.get("/v1/ollama/models")
                assert "not reachable" in one_sentence(gone, "ollama_unavailable", 503)
    finally:
        if not stopped:
            fake.__exit__(None, None, None)
