"""The record of the Temporal dev server `hybridagent dev` started: <state_dir>/dev.json.

A later `dev` uses it to recognise a server of its own state directory still holding
the port (left by a dev that could not take it along), and `run` uses it to link to
the Web UI that dev actually serves. Imports nothing from hybridagent, so Settings can
read it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

RECORD_FILE = "dev.json"
DB_FILE = "temporal.db"
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


class DevPorts:
    """A dev server's addresses, from its frontend and Web UI ports."""

    port: int
    ui_port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ui_port}"


@dataclass(frozen=True)
class DevRecord(DevPorts):
    pid: int  # the `temporal server start-dev` process
    port: int
    ui_port: int
    started_at: float  # time.time() when it was started
    owner_pid: int  # the `hybridagent dev` (or `demo`) that started it

    def serves(self, temporal_address: str) -> bool:
        """Whether `temporal_address` (host:port) is this server."""
        host, _, port = temporal_address.rpartition(":")
        return host.lower() in LOOPBACK_HOSTS and port == str(self.port)


def write_record(state_dir: Path, record: DevRecord) -> None:
    """Replace the record atomically, so a reader never sees half of it."""
    partial = state_dir / f".{RECORD_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(asdict(record)) + "\n", encoding="utf-8")
    partial.replace(state_dir / RECORD_FILE)


def read_record(state_dir: Path) -> DevRecord | None:
    """The record, or None when there is none or it is not one of ours."""
    try:
        data = json.loads((state_dir / RECORD_FILE).read_text(encoding="utf-8"))
        return DevRecord(
            pid=int(data["pid"]),
            port=int(data["port"]),
            ui_port=int(data["ui_port"]),
            started_at=float(data["started_at"]),
            owner_pid=int(data["owner_pid"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear_record(state_dir: Path, pid: int) -> None:
    """Remove the record if it is still the one of server `pid`."""
    record = read_record(state_dir)
    if record is not None and record.pid == pid:
        with contextlib.suppress(FileNotFoundError):  # another dev removed it first
            (state_dir / RECORD_FILE).unlink()


def live_record(state_dir: Path) -> DevRecord | None:
    """The record if its server still runs and is the dev server of `state_dir`."""
    record = read_record(state_dir)
    if record is None or not is_dev_server_of(record.pid, state_dir):
        return None
    return record


def is_dev_server_of(pid: int, state_dir: Path) -> bool:
    """Whether process `pid` is alive and is a Temporal dev server on `state_dir`'s db
    (a recorded PID may since have been given to another process)."""
    arguments = command_args(pid)
    return arguments is not None and str(db_path(state_dir)) in arguments


def db_path(state_dir: Path) -> Path:
    """The dev server's SQLite file, absolute: how its command line names it."""
    return (state_dir / DB_FILE).resolve()


def command_args(pid: int) -> list[str] | None:
    """Process `pid`'s arguments, or None if there is no such process (or a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return None  # Linux: the process is gone
        found = _ps(pid, "args")  # macOS and other systems without /proc
        return found.split() if found else None
    except PermissionError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None


def parent_pid(pid: int) -> int | None:
    """Process `pid`'s parent, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return None
        found = _ps(pid, "ppid")
        return int(found) if found else None
    return int(stat.rpartition(")")[2].split()[1])  # the name in (...) may hold spaces


def _ps(pid: int, field: str) -> str | None:
    done = subprocess.run(
        ["ps", "-o", f"{field}=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or None


def terminate(pid: int, grace_seconds: float) -> None:
    """Stop a process that is not our child: SIGTERM, then SIGKILL after the grace."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while command_args(pid) is not None:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.1)  # not our child: no exit status to wait on
