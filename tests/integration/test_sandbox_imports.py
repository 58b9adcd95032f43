"""The privacy detectors inside the workflow sandbox of a fresh worker process.

phonenumbers loads a region's metadata on first use with an import; inside the sandbox
that import re-ran the package and failed on its threading.Lock, so the first phone
number a worker ever saw failed the workflow task over and over. In the test process
the metadata is usually loaded already (unit tests), hence a worker subprocess here."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

from hybridagent.testing.stub_server import StubServer
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput
from tests.conftest import make_settings
from tests.integration.test_cli import cli_env
from tests.integration.test_worker_crash import start_worker


async def test_a_fresh_worker_routes_a_phone_number_to_the_local_model(
    temporal_address: str, embedded_url: str, stub: StubServer, tmp_path: Path
) -> None:
    queue = f"fresh-{uuid.uuid4().hex[:8]}"
    env = cli_env(
        TEMPORAL_ADDRESS=temporal_address,
        HYBRIDAGENT_TASK_QUEUE=queue,
        HYBRIDAGENT_EMBEDDED_URL=embedded_url,
        HYBRIDAGENT_STATE_DIR=str(tmp_path),
        OPENAI_API_KEY="sk-test-stub-key",
        OPENAI_BASE_URL=stub.base_url,
    )
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        client = await connect(make_settings(temporal_address, tmp_path, task_queue=queue))
        result = await client.execute_workflow(
            "AgentWorkflow",
            {
                "prompt": "Call me back at +44 20 7946 0958 or (415) 555-0132, please.",
                "routing": {"force_provider": "cloud"},
            },
            id=f"fresh-{uuid.uuid4().hex[:8]}", task_queue=queue, result_type=AgentRunOutput,
            execution_timeout=timedelta(seconds=60),
        )  # fmt: skip
    finally:
        worker.terminate()
        await asyncio.to_thread(worker.wait, 30)
    assert result.models_used == ["local/smollm2"]
    assert stub.requests == []
    log = (tmp_path / "worker.log").read_text()
    assert "RestrictedWorkflowAccessError" not in log
