"""Opt-in: real cloud providers with real keys (`pytest -m real_keys`), skipped otherwise."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput
from tests.conftest import REAL_KEYS, make_settings, running_worker

pytestmark = pytest.mark.real_keys


@pytest.mark.parametrize(
    ("key", "model"),
    [
        ("OPENAI_API_KEY", "openai/gpt-4o-mini"),
        ("ANTHROPIC_API_KEY", "litellm/anthropic/claude-3-5-haiku-20241022"),
    ],
)
async def test_haiku_sample_on_real_cloud_model(
    key: str, model: str, temporal_address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if key not in REAL_KEYS:
        pytest.skip(f"{key} is not set")
    monkeypatch.setenv(key, REAL_KEYS[key])  # LiteLLM reads its keys from the environment
    settings = make_settings(
        temporal_address, tmp_path, openai_api_key=REAL_KEYS.get("OPENAI_API_KEY")
    )
    async with running_worker(settings):
        client = await connect(settings)
        result = await client.execute_workflow(
            "LitellmHaikuWorkflow",
            {"prompt": "What's the weather in Tokyo?", "model": model},
            id=f"real-{uuid.uuid4().hex[:8]}",
            task_queue=settings.task_queue,
            result_type=AgentRunOutput,
        )
    assert "sunny" in result.final_output.lower() or result.usage.requests >= 2
    assert result.models_used == [model]
