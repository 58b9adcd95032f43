"""The dev Temporal Web UI shows an encrypted run's input decoded: a dev server started
with `--ui-codec-endpoint` as `hybridagent dev` starts it, the codec server behind it,
and Debian's chromium (test_web_ui's browser) reading the run's page. The screenshot
goes with the web UI's (HYBRIDAGENT_UI_SCREENSHOTS, else the directory it prints)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser
from temporalio.client import Client

from hybridagent.config import Settings
from hybridagent.providers.embedded import free_loopback_port
from hybridagent.runners.devserver import DevServer
from hybridagent.runners.stack import ui_codec_endpoint
from hybridagent.security.codec_server import serve_codec
from hybridagent.security.keys import generate_ring
from hybridagent.workers.temporal_client import connect
from tests.conftest import make_settings
from tests.integration.test_encryption import (
    assert_nowhere,
    marker,
    raw_history_bytes,
    ring_text,
)
from tests.integration.test_web_ui import browser, shots

__all__ = ["browser", "shots"]  # test_web_ui's fixtures, used here


@pytest.fixture(scope="module")
def ui_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(
        "127.0.0.1:1",  # the dev server's address replaces it in the test
        tmp_path_factory.mktemp("temporal-ui"),
        encryption_keys=ring_text(generate_ring()),
        codec_port=free_loopback_port(),
        codec_token="web-ui-test-token",
        ui_url=f"http://127.0.0.1:{free_loopback_port()}",  # the codec server's CORS origin
    )


@pytest.fixture(scope="module")
def dev_server(ui_settings: Settings) -> Iterator[DevServer]:
    server = DevServer(
        ui_settings.state_dir, port=free_loopback_port(),
        ui_port=int(ui_settings.ui_url.rsplit(":", 1)[1]),
        ui_codec_endpoint=ui_codec_endpoint(ui_settings),
    )  # fmt: skip
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def codec(ui_settings: Settings) -> AsyncIterator[str]:
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve_codec(ui_settings, stop=stop, on_ready=ready.set_result))
    yield await ready
    stop.set()
    await task


async def test_the_dev_temporal_web_ui_shows_an_encrypted_input_decoded(
    ui_settings: Settings, dev_server: DevServer, codec: str, browser: Browser, shots: Path
) -> None:
    client = await connect(ui_settings.model_copy(update={"temporal_address": dev_server.address}))
    said = marker("uiprompt")
    workflow_id = f"ui-{uuid.uuid4().hex[:10]}"
    # Nobody serves this queue: the run waits, its (encrypted) input in the history.
    handle = await client.start_workflow(
        "AgentWorkflow", {"prompt": f"Decoded in the browser: {said}"},
        id=workflow_id, task_queue=f"nobody-{uuid.uuid4().hex[:8]}",
    )  # fmt: skip
    raw = await Client.connect(dev_server.address)
    assert_nowhere([said], await raw_history_bytes(raw, workflow_id))  # the UI must decode
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        await page.goto(f"{ui_settings.ui_url}/namespaces/default/workflows/{workflow_id}")
        await page.get_by_text(said).first.wait_for(timeout=60_000)
        shot = shots / "temporal-ui-decoded-input.png"
        await page.screenshot(path=str(shot), full_page=True)
    finally:
        await page.close()
    assert shot.stat().st_size > 10_000
    await handle.terminate()
