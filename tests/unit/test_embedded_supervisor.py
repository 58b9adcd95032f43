"""The embedded server's supervisor: backoff, states, what a call sees during a restart,
and the circuit and base URL after one. The server here is a real child process (a
sleeping Python) standing in for llama.cpp, so deaths are real SIGKILLs."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import Model, ModelResponse, ModelSettings, ModelTracing, Usage

from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.embedded import (
    BUNDLED_ALIAS,
    EmbeddedBackend,
    EmbeddedModelServer,
    free_loopback_port,
    reusable_port,
)
from hybridagent.providers.embedded_supervisor import (
    Backoff,
    EmbeddedSupervisor,
    SupervisedModel,
    exit_reason,
)
from hybridagent.providers.errors import (
    EmbeddedModelUnavailableError,
    MalformedResponseError,
    ProviderServerError,
    ProviderUnreachableError,
)
from hybridagent.providers.guarded import guarded_of


class SleepingServer(EmbeddedModelServer):
    """A child that sleeps instead of serving; `fail_starts` start attempts fail first,
    and `next_port` moves the server, as a restart whose port was taken does."""

    def __init__(self) -> None:
        super().__init__(startup_timeout=30.0)
        self.port = free_loopback_port()
        self.starts = 0
        self.fail_starts = 0
        self.next_port: int | None = None
        self.started = asyncio.Event()

    def start(self) -> str:
        self.starts += 1
        if self.fail_starts:
            self.fail_starts -= 1
            raise EmbeddedModelUnavailableError("The weights file went missing.")
        if self.next_port is not None:
            self.port = self.next_port
        self._process = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)"], stdin=subprocess.DEVNULL
        )
        return self.base_url

    def kill(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGKILL)


@pytest.fixture
async def supervised() -> AsyncIterator[tuple[EmbeddedSupervisor, SleepingServer]]:
    server = SleepingServer()
    supervisor = EmbeddedSupervisor(server, backoff=Backoff(initial=0.01, maximum=0.04))
    await supervisor.start()
    yield supervisor, server
    await supervisor.stop()


async def until_state(supervisor: EmbeddedSupervisor, state: str, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while supervisor.state != state:
            await supervisor._changed.wait()


def test_backoff_doubles_to_the_bound_and_resets_after_a_long_uptime() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, reset_after=60.0)
    assert [backoff.delay(0.0) for _ in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(59.0) == 30  # a server that dies soon after a restart
    assert backoff.delay(61.0) == 0.5  # one that stayed up a while starts over


def test_exit_reason_names_the_signal_or_the_code() -> None:
    assert exit_reason(-signal.SIGKILL) == "killed by SIGKILL"
    assert exit_reason(1) == "exited with code 1"


def test_reusable_port_keeps_a_free_port_and_moves_off_a_taken_one() -> None:
    port = free_loopback_port()
    assert reusable_port(port) == port
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert reusable_port(port) != port


async def test_a_killed_server_is_restarted_and_calls_wait_for_it(
    supervised: tuple[EmbeddedSupervisor, SleepingServer],
) -> None:
    supervisor, server = supervised
    urls: list[str] = []
    supervisor.on_restart(urls.append)
    first = server.process
    server.kill()
    await until_state(supervisor, "restarting")
    assert supervisor.status().last_reason == "killed by SIGKILL"
    await asyncio.wait_for(supervisor.ready(), 30)  # waits out the restart
    status = supervisor.status()
    assert (status.state, status.restarts, status.failed_starts) == ("up", 1, 0)
    assert server.process is not first and status.pid == server.process.pid  # type: ignore[union-attr]
    assert urls == [server.base_url]


async def test_failed_restarts_back_off_report_down_and_fail_calls_at_once(
    supervised: tuple[EmbeddedSupervisor, SleepingServer],
) -> None:
    supervisor, server = supervised
    server.fail_starts = 2
    server.kill()
    await until_state(supervisor, "down")
    with pytest.raises(ProviderUnreachableError, match="is down \\(The weights file went missing"):
        await supervisor.ready()
    assert supervisor.status().failed_starts >= 1
    await until_state(supervisor, "up")
    status = supervisor.status()
    assert (status.restarts, status.failed_starts, server.starts) == (1, 0, 4)


async def test_stop_stops_the_supervisor_before_the_server() -> None:
    server = SleepingServer()
    supervisor = EmbeddedSupervisor(server, backoff=Backoff(initial=0.01))
    await supervisor.start()
    process = server.process
    assert process is not None
    await supervisor.stop()
    assert process.poll() == -signal.SIGTERM
    assert server.starts == 1  # the SIGTERM was not taken for a death
    assert supervisor.state == "down"
    with pytest.raises(ProviderUnreachableError, match="shutting down"):
        await supervisor.ready()


class DyingCall(Model):
    """A model call during which the server dies (or not): what GuardedModel raises
    for a connection the server cut."""

    def __init__(self, server: SleepingServer, *, kill: bool) -> None:
        self.server = server
        self.kill = kill
        self.calls = 0

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        self.calls += 1
        if self.calls > 1:
            return ModelResponse(output=[], usage=Usage(), response_id=None)
        if self.kill:
            self.server.kill()
        raise MalformedResponseError("The embedded model server cut its response off half-way.")

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        return None


async def ask(model: Model) -> ModelResponse:
    return await model.get_response(
        None, "hi", ModelSettings(), [], None, [], ModelTracing.DISABLED, previous_response_id=None
    )


async def test_a_call_cut_off_by_the_death_is_retryable_and_the_next_one_waits(
    supervised: tuple[EmbeddedSupervisor, SleepingServer],
) -> None:
    supervisor, server = supervised
    model = SupervisedModel(DyingCall(server, kill=True), supervisor)
    with pytest.raises(ProviderServerError, match="died during the call \\(killed by SIGKILL\\)"):
        await ask(model)
    await asyncio.wait_for(ask(model), 30)  # the retry: waits for the restart, then answers
    assert supervisor.status().restarts == 1


async def test_a_failed_call_of_a_live_server_keeps_its_error(
    supervised: tuple[EmbeddedSupervisor, SleepingServer],
) -> None:
    supervisor, server = supervised
    with pytest.raises(MalformedResponseError):
        await ask(SupervisedModel(DyingCall(server, kill=False), supervisor))


async def test_a_restart_closes_the_circuit_and_moves_the_client_to_a_new_port(
    supervised: tuple[EmbeddedSupervisor, SleepingServer],
) -> None:
    supervisor, server = supervised
    circuits = CircuitBreaker(failure_threshold=1, cooldown_seconds=600)
    backend = EmbeddedBackend(server.base_url, circuits=circuits, supervisor=supervisor)
    guarded = guarded_of(backend.get_model(BUNDLED_ALIAS))
    assert guarded is not None
    circuits.failure(guarded.circuit_key, "ProviderUnreachableError")
    assert circuits.blocked(guarded.circuit_key) is not None
    server.next_port = free_loopback_port()
    server.kill()
    await until_state(supervisor, "restarting")
    await until_state(supervisor, "up")
    assert circuits.snapshot() == []  # the open circuit closed: the next call goes through
    assert backend.base_url == f"http://127.0.0.1:{server.next_port}/v1"
    moved = guarded_of(backend.get_model(BUNDLED_ALIAS))
    assert moved is not None and moved.endpoint == f"{backend.base_url}/"
    await backend.aclose()
