"""A throwaway PostgreSQL server for the test suite, from the Debian package's binaries.

Never skips: when PostgreSQL is missing or does not start, the fixture fails with the
reason, so CI cannot go green without the PostgreSQL tests having run.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hybridagent.providers.embedded import free_loopback_port


class PostgresUnavailableError(RuntimeError):
    pass


def postgres_bindir() -> Path:
    """Where initdb and pg_ctl are: pg_config's bindir, else the newest Debian install."""
    pg_config = shutil.which("pg_config")
    candidates: list[Path] = []
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    raise PostgresUnavailableError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found; install the Debian "
        "package `postgresql` (bash .ci/run does this when run as root)."
    )


def _as_user() -> list[str]:
    """initdb refuses to run as root: as root, run the server as the `postgres` user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailableError(
            "Running as root, and there is no `postgres` user to run the server as."
        ) from None
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server on a free loopback port in a temporary directory; yields a URL."""
    bindir = postgres_bindir()
    prefix = _as_user()
    # Not under pytest's tmp dir: /tmp/pytest-of-root is closed to the postgres user.
    root = Path(tempfile.mkdtemp(prefix="hybridagent-pg-"))
    data = root / "data"
    if prefix:
        shutil.chown(root, "postgres")
    port = free_loopback_port()

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise PostgresUnavailableError(
                f"{Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()[-800:]}"
            )

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "test", "--auth=trust", "-E", "UTF8")
        options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off"
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "server.log"),
            "-w",
            "start",
        )
        try:
            yield f"postgresql://test@127.0.0.1:{port}/postgres"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
