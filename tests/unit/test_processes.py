"""spawn_child: children die with the process that started them, not with the thread."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hybridagent.dev_state import command_args
from hybridagent.processes import _die_with_parent, spawn_child

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)


def on_a_thread_that_exits(start: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """Start a child from a thread, and return once that OS thread is gone (by then
    Linux has sent any parent-death signal)."""
    started: list[subprocess.Popen[bytes]] = []
    native: list[int] = []

    def run() -> None:
        native.append(threading.get_native_id())
        started.append(start())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    wait_until(lambda: not Path(f"/proc/self/task/{native[0]}").exists(), "the thread exited")
    return started[0]


def killed_or_dying(process: subprocess.Popen[bytes]) -> bool:
    """Exited, or SIGKILL already pending (the kernel delivers it asynchronously)."""
    if process.poll() is not None:
        return True
    status = Path(f"/proc/{process.pid}/status").read_text()
    pending = {line.split(":")[0]: int(line.split()[1], 16) for line in status.splitlines()
               if line.startswith(("SigPnd", "ShdPnd"))}  # fmt: skip
    return any(mask & (1 << (signal.SIGKILL - 1)) for mask in pending.values())


def test_a_plain_pdeathsig_child_dies_with_the_thread_that_forked_it() -> None:
    """The kernel behaviour spawn_child works around: the signal follows the thread."""
    hook = _die_with_parent(signal.SIGKILL)
    child = on_a_thread_that_exits(lambda: subprocess.Popen(SLEEPER, preexec_fn=hook))
    try:
        wait_until(lambda: killed_or_dying(child), "the child got the parent-death signal")
    finally:
        child.kill()
        child.wait()


def test_a_child_started_from_a_short_lived_thread_outlives_that_thread() -> None:
    child = on_a_thread_that_exits(lambda: spawn_child(SLEEPER))
    try:
        assert not killed_or_dying(child)
    finally:
        child.kill()
        child.wait()


def test_a_child_dies_when_the_process_that_started_it_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from hybridagent.processes import spawn_child\n"
         f"print(spawn_child({SLEEPER!r}).pid, flush=True)\n"
         "time.sleep(600)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert Path(f"/proc/{child}").exists()
    parent.kill()
    parent.wait()
    wait_until(lambda: command_args(child) is None, "the child is gone")
