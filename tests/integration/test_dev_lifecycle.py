"""`hybridagent dev` and `worker` leave nothing behind, and `run` links to the Web UI
that `dev` actually started (issue 12, items 2 and 9)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hybridagent.config import Settings
from hybridagent.dev_state import command_args, parent_pid, read_record
from hybridagent.providers.embedded import free_loopback_port
from hybridagent.runners.devserver import DevServer, port_open
from tests.integration.test_cli import HYBRIDAGENT, cli_env, hybridagent

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

START_SECONDS = 300.0  # the embedded model and Temporal on a busy 2-core machine


class CliProcess:
    """A long-running `hybridagent` command whose output is read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    @classmethod
    async def start(cls, *args: str, env: dict[str, str]) -> CliProcess:
        process = await asyncio.create_subprocess_exec(
            *HYBRIDAGENT, *args, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        return cls(process)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def line_with(self, text: str, timeout: float = START_SECONDS) -> str:
        """Read until a line holds `text`; fail with everything read if it never comes."""
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout):
            while raw := await self.process.stdout.readline():
                self.lines.append(raw.decode().rstrip("\n"))
                if text in self.lines[-1]:
                    return self.lines[-1]
        pytest.fail(f"exited without printing {text!r}: {self.lines}")

    async def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        async with asyncio.timeout(120):
            return await self.process.wait()


def children_of(pid: int) -> dict[int, list[str]]:
    """The live processes whose parent is `pid`, with their arguments."""
    found: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and parent_pid(int(entry.name)) == pid:
            arguments = command_args(int(entry.name))
            if arguments is not None:
                found[int(entry.name)] = arguments
    return found


async def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(0.1)  # polling processes that are not our children


def gone(pid: int) -> bool:
    return command_args(pid) is None


def kill_if_alive(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def dev_env(state_dir: Path, **extra: str) -> dict[str, str]:
    return cli_env(HYBRIDAGENT_STATE_DIR=str(state_dir), **extra)


async def test_sigkilled_dev_leaves_no_server_behind_and_dev_starts_again(
    tmp_path: Path,
) -> None:
    port, ui_port = free_loopback_port(), free_loopback_port()
    ports = ("--port", str(port), "--ui-port", str(ui_port))
    dev = await CliProcess.start("dev", *ports, env=dev_env(tmp_path))
    children: dict[int, list[str]] = {}
    try:
        await dev.line_with("Press Ctrl-C")
        children = children_of(dev.pid)
        record = read_record(tmp_path)
        assert record is not None and record.pid in children
        assert (record.port, record.ui_port, record.owner_pid) == (port, ui_port, dev.pid)
        assert any("llama_cpp.server" in args for args in children.values()), children
        assert await dev.stop(signal.SIGKILL) == -signal.SIGKILL
        await wait_until(lambda: all(gone(pid) for pid in children), f"children left: {children}")
    finally:
        for pid in children:
            kill_if_alive(pid)
        await dev.stop(signal.SIGKILL)
    again = await CliProcess.start("dev", *ports, env=dev_env(tmp_path))
    try:
        await again.line_with("Press Ctrl-C")
    finally:
        assert await again.stop() == 0, again.lines
    assert read_record(tmp_path) is None  # a clean stop removes the record


async def test_sigkilled_worker_leaves_no_embedded_server(temporal_address: str) -> None:
    env = cli_env(
        TEMPORAL_ADDRESS=temporal_address,
        HYBRIDAGENT_TASK_QUEUE=f"lifecycle-{os.getpid()}",
        HYBRIDAGENT_EMBEDDED="on",
    )
    worker = await CliProcess.start("worker", env=env)
    servers: list[int] = []
    try:
        await worker.line_with("default model local/smollm2")
        servers = [
            pid for pid, args in children_of(worker.pid).items() if "llama_cpp.server" in args
        ]
        assert servers, worker.lines
        await worker.stop(signal.SIGKILL)
        await wait_until(lambda: all(gone(pid) for pid in servers), f"left: {servers}")
    finally:
        for pid in servers:
            kill_if_alive(pid)
        await worker.stop(signal.SIGKILL)


def orphan_dev_server(state_dir: Path, port: int, ui_port: int) -> int:
    """A dev server of `state_dir` whose `dev` is gone, as older versions left them:
    started by a process that records it and exits."""
    script = (
        "import os, subprocess, sys, time\n"
        "from pathlib import Path\n"
        "from hybridagent.dev_state import DevRecord, write_record\n"
        "from hybridagent.runners.devserver import DevServer\n"
        "server = DevServer(Path(sys.argv[1]), port=int(sys.argv[2]), ui_port=int(sys.argv[3]))\n"
        "server.state_dir.mkdir(parents=True, exist_ok=True)\n"
        "child = subprocess.Popen(server.command(), stdin=subprocess.DEVNULL,\n"
        "    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)\n"
        "write_record(server.state_dir, DevRecord(child.pid, server.port, server.ui_port,\n"
        "    time.time(), os.getpid()))\n"
        "print(child.pid)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(state_dir), str(port), str(ui_port)],
        capture_output=True, text=True, check=True, timeout=START_SECONDS,
    )  # fmt: skip
    return int(done.stdout)


async def test_dev_reuses_the_server_its_state_directory_left_running(tmp_path: Path) -> None:
    port, old_ui, new_ui = free_loopback_port(), free_loopback_port(), free_loopback_port()
    orphan = orphan_dev_server(tmp_path, port, old_ui)
    try:
        await wait_until(lambda: port_open("127.0.0.1", port), "the orphan listens", START_SECONDS)
        assert parent_pid(orphan) != os.getpid()
        dev = await CliProcess.start(
            "dev", "--port", str(port), "--ui-port", str(new_ui),
            env=dev_env(tmp_path, HYBRIDAGENT_EMBEDDED="off"),
        )  # fmt: skip
        try:
            notice = await dev.line_with("Reusing")
            assert notice == (
                f"Reusing the Temporal dev server left running from {tmp_path} "
                f"(PID {orphan}); it stops with this dev."
            )
            assert f"Web UI at http://localhost:{old_ui}" in await dev.line_with("Web UI at")
            await dev.line_with("Press Ctrl-C")
            started = await hybridagent(
                "run", "Hi", "--no-wait",
                env=dev_env(tmp_path, TEMPORAL_ADDRESS=f"127.0.0.1:{port}"),
            )  # fmt: skip
            assert started.returncode == 0, started.stderr
            assert f"Web UI: http://localhost:{old_ui}/namespaces/" in started.stdout
        finally:
            assert await dev.stop() == 0, dev.lines
        await wait_until(lambda: gone(orphan), "the reused server stopped with its dev")
    finally:
        kill_if_alive(orphan)


async def test_dev_on_another_port_names_the_running_server_and_how_to_stop_it(
    tmp_path: Path,
) -> None:
    server = DevServer(tmp_path, port=free_loopback_port(), ui_port=free_loopback_port())
    await asyncio.to_thread(server.start)  # forked by the spawner thread: outlives the pool
    try:
        record = read_record(tmp_path)
        assert record is not None
        other = str(free_loopback_port())
        result = await hybridagent(
            "dev", "--port", other, env=dev_env(tmp_path, HYBRIDAGENT_EMBEDDED="off")
        )
        assert result.returncode == 1, result
        assert "Traceback" not in result.stderr
        assert result.stderr.strip() == (
            f"error: The Temporal dev server of {tmp_path} is already running as PID "
            f"{record.pid} on port {server.port}; use --port {server.port}, or stop it "
            f"with: kill {record.pid}"
        )
    finally:
        server.stop()
    assert read_record(tmp_path) is None


async def test_web_ui_link_follows_dev_then_the_variable(tmp_path: Path) -> None:
    port, ui_port = free_loopback_port(), free_loopback_port()
    env = dev_env(tmp_path, HYBRIDAGENT_EMBEDDED="off")
    dev = await CliProcess.start("dev", "--port", str(port), "--ui-port", str(ui_port), env=env)
    try:
        await dev.line_with("Press Ctrl-C")
        # No TEMPORAL_ADDRESS: `run` finds the server dev runs from the state directory.
        started = await hybridagent("run", "Hi", "--no-wait", env=env)
        assert started.returncode == 0, started.stderr
        assert f"Web UI: http://localhost:{ui_port}/namespaces/default/workflows/" in (
            started.stdout
        )
        run_env = {**env, "TEMPORAL_ADDRESS": f"127.0.0.1:{port}"}
        started = await hybridagent("run", "Hi", "--no-wait", env=run_env)
        assert started.returncode == 0, started.stderr
        assert f"Web UI: http://localhost:{ui_port}/namespaces/default/workflows/" in (
            started.stdout
        )
        explicit = {**run_env, "HYBRIDAGENT_UI_URL": "http://ui.internal:9999"}
        started = await hybridagent("run", "Hi", "--no-wait", env=explicit)
        assert "Web UI: http://ui.internal:9999/namespaces/default/workflows/" in started.stdout
    finally:
        assert await dev.stop() == 0, dev.lines


def test_web_ui_url_uses_the_dev_record_only_for_that_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    server = DevServer(tmp_path, port=free_loopback_port(), ui_port=free_loopback_port())
    server.start()
    try:

        def settings(**values: Any) -> Settings:
            return Settings(_env_file=None, state_dir=tmp_path, **values)

        # No address given: the dev server of the state directory, on its own port.
        assert (settings().temporal_address, settings().web_ui_url) == (
            server.address,
            server.ui_url,
        )
        assert settings(temporal_address=f"localhost:{server.port}").web_ui_url == server.ui_url
        assert settings(temporal_address="temporal.prod:7233").web_ui_url == (
            "http://localhost:8233"
        )
        explicit = settings(temporal_address=server.address, ui_url="http://ui:1")
        assert explicit.web_ui_url == "http://ui:1"
    finally:
        server.stop()
    assert settings(temporal_address=server.address).web_ui_url == "http://localhost:8233"
    assert settings().temporal_address == "localhost:7233"  # its server stopped
