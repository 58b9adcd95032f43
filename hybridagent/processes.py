"""Child processes we own (the Temporal dev server, the embedded model server).

Children die with their parent: a SIGKILLed `hybridagent dev` or worker must not leave
servers re-parented to PID 1 that hold the ports the next start needs.
"""

from __future__ import annotations

import ctypes
import functools
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import IO

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

Stream = IO[bytes] | int | None


def spawn_child(
    command: Sequence[str],
    *,
    stdout: Stream = None,
    stderr: Stream = None,
    stdin: Stream = subprocess.DEVNULL,
    death_signal: signal.Signals = signal.SIGKILL,
) -> subprocess.Popen[bytes]:
    """Start `command` so that it gets `death_signal` when this process dies (Linux).

    The child calls prctl(PR_SET_PDEATHSIG) before exec, then re-checks getppid(): if
    we died between fork and prctl it exits at once instead of living on orphaned.
    SIGKILL by default, so a child that handles SIGTERM slowly cannot linger; both
    children keep their state in SQLite or nothing, which a kill does not corrupt.

    Linux sends the signal when the *thread* that forked the child exits, not the
    process. A thread-pool thread (`asyncio.to_thread`, anyio workers) may be retired
    while the child should live on, so callers on any thread but the main one are
    served by one spawner thread that lives as long as the process. Elsewhere (macOS,
    Windows) the child is started plainly: a stale server is then found by its record
    (hybridagent/dev_state.py) instead.
    """

    def popen() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            list(command),
            stdout=stdout,
            stderr=stderr,
            stdin=stdin,
            preexec_fn=_die_with_parent(death_signal),
        )

    if threading.current_thread() is threading.main_thread():
        return popen()
    return _spawner().run(popen)


def _die_with_parent(death_signal: signal.Signals) -> Callable[[], None] | None:
    """The pre-exec hook for the child, or None where prctl is not available."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def in_child() -> None:  # runs between fork and exec: no locks, no logging
        prctl(PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return in_child


class _Spawner:
    """One daemon thread that forks children for callers on short-lived threads."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[
            tuple[Callable[[], subprocess.Popen[bytes]], Future[subprocess.Popen[bytes]]]
        ] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="hybridagent-spawner", daemon=True).start()

    def run(self, popen: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        done: Future[subprocess.Popen[bytes]] = Future()
        self._jobs.put((popen, done))
        return done.result()

    def _serve(self) -> None:
        while True:
            popen, done = self._jobs.get()
            try:
                done.set_result(popen())
            except BaseException as err:  # handed to the caller, which re-raises it
                done.set_exception(err)


@functools.cache
def _spawner() -> _Spawner:
    """The process's spawner thread, started on first use (two racing first calls may
    start two; each lives as long as the process, which is all that matters)."""
    return _Spawner()


def stop_process(process: subprocess.Popen[bytes] | None, grace_seconds: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `grace_seconds`."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
