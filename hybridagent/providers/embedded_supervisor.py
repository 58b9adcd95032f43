"""Keeps a worker's embedded llama.cpp server running.

The supervisor awaits the server process's exit (a pidfd on Linux, a waiting thread
elsewhere), logs why it died once, and starts it again on the same port with bounded
exponential backoff. Model calls ask it first (`ready`): during a restart they wait
for the server instead of failing, so a run's retried model call goes through once it
answers; after a failed start attempt they fail at once with a sentence that says why.
The worker's health report shows its state.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agents import Model, ModelResponse
from agents.items import TResponseStreamEvent

from hybridagent.providers.errors import (
    EmbeddedModelUnavailableError,
    MalformedResponseError,
    ProviderError,
    ProviderServerError,
    ProviderUnreachableError,
)
from hybridagent.providers.wrapper import ModelCall, WrapperModel

if TYPE_CHECKING:
    from hybridagent.providers.embedded import EmbeddedModelServer

log = logging.getLogger(__name__)

# up: answering. restarting: dead, and a start is scheduled or under way (calls wait).
# down: the last start attempt failed; the next one is `retry_in_seconds` away (calls
# fail at once).
State = Literal["up", "restarting", "down"]


@dataclass
class Backoff:
    """Delays between start attempts: `initial` doubling to `maximum`, back to `initial`
    once the server has stayed up for `reset_after` seconds."""

    initial: float = 0.5
    maximum: float = 30.0
    reset_after: float = 60.0
    _next: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._next = self.initial

    def delay(self, uptime: float) -> float:
        """The wait before the next attempt, after a server that was up for `uptime` s
        (0 for a start attempt that failed)."""
        if uptime >= self.reset_after:
            self._next = self.initial
        delay = self._next
        self._next = min(self.maximum, delay * 2)
        return delay


@dataclass(frozen=True)
class ServerStatus:
    state: State
    base_url: str
    pid: int | None
    restarts: int  # successful restarts since the worker started
    failed_starts: int  # start attempts that failed since the server was last up
    last_reason: str  # why it last died or failed to start; "" if it never has
    retry_in_seconds: float  # when down: until the next start attempt
    log_path: Path | None


def exit_reason(code: int) -> str:
    """`killed by SIGKILL` or `exited with code 1`, from a Popen return code."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


async def wait_for_exit(process: subprocess.Popen[bytes]) -> int:
    """The process's exit code, awaited: on a pidfd in the event loop where the OS has
    one (Linux), else in a thread blocked in waitpid."""
    try:
        fd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux, or already reaped
        return await asyncio.to_thread(process.wait)
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await exited
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    code = process.poll()  # None only while another thread holds Popen's waitpid lock
    return code if code is not None else await asyncio.to_thread(process.wait)


class EmbeddedSupervisor:
    """Owns an EmbeddedModelServer for a worker's lifetime: start, watch, restart, stop."""

    def __init__(
        self,
        server: EmbeddedModelServer,
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.server = server
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._state: State = "down"
        self._restarts = 0
        self._failed_starts = 0
        self._deaths = 0
        self._last_reason = ""
        self._up_since = 0.0
        self._next_attempt_at = 0.0
        self._changed = asyncio.Event()  # set, and replaced, on every state change
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._on_up: list[Callable[[str], None]] = []

    @property
    def state(self) -> State:
        return self._state

    @property
    def deaths(self) -> int:
        return self._deaths

    def on_restart(self, callback: Callable[[str], None]) -> None:
        """`callback(base_url)` runs after each successful restart, before calls resume."""
        self._on_up.append(callback)

    def status(self) -> ServerStatus:
        process = self.server.process
        retry_in = self._next_attempt_at - self._clock() if self._state == "down" else 0.0
        return ServerStatus(
            state=self._state,
            base_url=self.server.base_url,
            pid=process.pid if process is not None and self._state == "up" else None,
            restarts=self._restarts,
            failed_starts=self._failed_starts,
            last_reason=self._last_reason,
            retry_in_seconds=max(0.0, retry_in),
            log_path=self.server.log_path,
        )

    async def start(self) -> str:
        """Start the server (raises EmbeddedModelUnavailableError, one sentence, if it
        cannot start) and watch it; return its /v1 base URL."""
        url = await self.server.astart()
        self._up_since = self._clock()
        self._set("up")
        self._task = asyncio.create_task(self._watch(), name="embedded-model-supervisor")
        return url

    async def stop(self) -> None:
        """Stop watching first (no restart during shutdown), then the server."""
        self._stopping.set()
        self.server.abort()  # a start under way gives up and stops its process
        await asyncio.to_thread(self.server.stop)  # wakes the watcher's wait for exit
        if self._task is not None:
            await self._task
        await asyncio.to_thread(self.server.stop)
        self._last_reason = self._last_reason or "stopped"
        self._set("down")

    async def ready(self) -> None:
        """Return once the server is up. A restart under way is waited for (bounded by
        the start-up timeout); when down after a failed start, raise at once."""
        deadline = self._clock() + self.server.startup_timeout + self._backoff.maximum
        while self._state != "up":
            if self._state == "down" or self._stopping.is_set():
                raise ProviderUnreachableError(self._down_sentence())
            try:
                await asyncio.wait_for(self._changed.wait(), max(0.0, deadline - self._clock()))
            except TimeoutError:
                raise ProviderUnreachableError(
                    f"The embedded model server at {self.server.base_url} is still restarting "
                    f"({self._last_reason.rstrip('.')})."
                ) from None

    async def died_since(self, deaths: int, grace: float = 2.0) -> str | None:
        """Why the server died after `deaths` were counted, or None if it did not. A
        call cut off by the death may see its broken connection before the supervisor
        sees the exit: wait up to `grace` s for that."""
        if self._deaths == deaths and self._state == "up":
            try:
                await asyncio.wait_for(self._changed.wait(), grace)
            except TimeoutError:
                return None
        return self._last_reason if self._deaths != deaths else None

    def _down_sentence(self) -> str:
        if self._stopping.is_set():
            return "The embedded model server is stopped: the worker is shutting down."
        return (
            f"The embedded model server is down ({self._last_reason.rstrip('.')}); the worker "
            f"tries to start it again in {self.status().retry_in_seconds:.0f} s."
        )

    def _set(self, state: State) -> None:
        self._state = state
        self._changed.set()
        self._changed = asyncio.Event()

    async def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self.server.process
            assert process is not None
            code = await wait_for_exit(process)
            if self._stopping.is_set():
                return
            self._died(process.pid, exit_reason(code))
            await self._restart()

    def _died(self, pid: int, reason: str) -> None:
        uptime = self._clock() - self._up_since
        delay = self._backoff.delay(uptime)
        self._deaths += 1
        self._last_reason = reason
        self._next_attempt_at = self._clock() + delay
        tail = "".join(f"\n    {line}" for line in self.server.log_tail())
        log.warning(
            "the embedded model server (pid %d) %s after %.0f s up; restarting it in %.1f s%s",
            pid,
            reason,
            uptime,
            delay,
            f"\n  end of {self.server.log_path}:{tail}" if tail else "",
        )
        self._set("restarting")

    async def _restart(self) -> None:
        """Start attempts with backoff until one succeeds or the supervisor stops."""
        while not self._stopping.is_set():
            if await self._stopped_within(self._next_attempt_at - self._clock()):
                return
            self._set("restarting")
            try:
                await self.server.astart()
            except EmbeddedModelUnavailableError as err:
                if self._stopping.is_set():
                    return
                self._start_failed(str(err))
                continue
            self._restarts += 1
            self._failed_starts = 0
            self._up_since = self._clock()
            log.warning(
                "the embedded model server is up again at %s (pid %s; restart %d)",
                self.server.base_url,
                self.server.process.pid if self.server.process else "?",
                self._restarts,
            )
            for callback in self._on_up:
                callback(self.server.base_url)
            self._set("up")
            return

    def _start_failed(self, reason: str) -> None:
        delay = self._backoff.delay(0.0)
        self._failed_starts += 1
        self._last_reason = reason
        self._next_attempt_at = self._clock() + delay
        log.warning("%s The worker tries again in %.1f s.", reason, delay)
        self._set("down")

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stopping.wait(), max(0.0, seconds))
        except TimeoutError:
            return False
        return True


class SupervisedModel(WrapperModel):
    """A model on the supervised server. Each call waits out a restart under way first.
    A call cut off by the server's death says so, as a ProviderServerError: retried on
    the same model (an "unreachable" one would fall back at once), where the retry
    policy's next attempt finds the server restarted."""

    def __init__(self, inner: Model, supervisor: EmbeddedSupervisor) -> None:
        super().__init__(inner)
        self.supervisor = supervisor

    async def respond(self, call: ModelCall) -> ModelResponse:
        await self.supervisor.ready()
        deaths = self.supervisor.deaths
        try:
            return await call.answer_from(self.inner)
        except (ProviderUnreachableError, MalformedResponseError) as err:
            failure = await self._cause(err, deaths)
            if failure is err:
                raise
            raise failure from err

    async def stream(self, call: ModelCall) -> AsyncIterator[TResponseStreamEvent]:
        await self.supervisor.ready()
        deaths = self.supervisor.deaths
        try:
            async for event in call.stream_from(self.inner):
                yield event
        except (ProviderUnreachableError, MalformedResponseError) as err:
            failure = await self._cause(err, deaths)
            if failure is err:
                raise
            raise failure from err

    async def _cause(self, err: ProviderError, deaths: int) -> ProviderError:
        reason = await self.supervisor.died_since(deaths)
        if reason is None:
            return err
        return ProviderServerError(
            f"The embedded model server died during the call ({reason}); the worker is "
            "restarting it."
        )
