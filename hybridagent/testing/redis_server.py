"""A throwaway Redis server for the tests and bench/limits.py, from the Debian package's binary.

No persistence (no RDB snapshots, no AOF), loopback only, in a temporary directory.
Never skips: without redis-server the fixture fails with the reason, so CI cannot go
green without the limit tests having run (scripts/ensure_redis.sh installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hybridagent.providers.embedded import free_loopback_port


class RedisUnavailableError(RuntimeError):
    pass


@contextmanager
def redis_server() -> Iterator[str]:
    """Start redis-server on a free loopback port; yields its URL once it accepts
    connections (it says so on its log, which goes to our pipe)."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise RedisUnavailableError(
            "redis-server was not found; install the Debian package `redis-server` "
            "(make test runs scripts/ensure_redis.sh)."
        )
    root = Path(tempfile.mkdtemp(prefix="hybridagent-redis-"))
    port = free_loopback_port()
    args = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(root),
        "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "",
    ]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        log: list[str] = []
        for line in process.stdout:  # ends when the server exits
            log.append(line)
            if "Ready to accept connections" in line:
                break
        else:
            raise RedisUnavailableError(f"redis-server did not start: {''.join(log)[-800:]}")
        # Keep reading its log, so a full pipe never blocks the server.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(root, ignore_errors=True)
