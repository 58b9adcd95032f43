"""KeyGate when the limiter's Redis is gone: requests are refused with one sentence,
never let through unlimited."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hybridagent.api.errors import ApiError
from hybridagent.api.key_gate import KeyGate
from hybridagent.api.keys import ApiKey, KeyLimits, KeyStore
from hybridagent.api.limits import MemoryLimiter
from hybridagent.api.limits_redis import RedisLimiter
from hybridagent.storage import open_storage


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens once the socket is closed


async def test_an_unreachable_redis_refuses_the_request(tmp_path: Path) -> None:
    store = KeyStore(open_storage(None, tmp_path), b"s" * 32)
    key, _ = store.create("k", KeyLimits(rpm=10))
    limiter = RedisLimiter.from_url(f"redis://127.0.0.1:{closed_port()}/0")
    gate = KeyGate(store, limiter)
    with pytest.raises(ApiError) as refused:
        await gate.admit(key, estimated_tokens=10, estimated_cost_usd=0.0)
    assert refused.value.code == "upstream_unavailable"
    assert "rate limiter" in refused.value.message
    await gate.aclose()


class CountingStore(KeyStore):
    """Counts the database reads the gate makes."""

    reads = 0

    def authenticate(self, key: str) -> ApiKey | None:
        self.reads += 1
        return super().authenticate(key)


async def test_a_known_key_is_remembered_and_a_refused_secret_is_not(tmp_path: Path) -> None:
    store = CountingStore(open_storage(None, tmp_path), b"s" * 32)
    _, secret = store.create("k", KeyLimits(rpm=10))
    gate = KeyGate(store, MemoryLimiter())
    assert await gate.authenticate(secret) is not None
    assert await gate.authenticate(secret) is not None
    assert store.reads == 1  # the second request cost no database read
    assert await gate.authenticate("hk-not-a-key") is None
    assert await gate.authenticate("hk-not-a-key") is None
    assert store.reads == 3  # a refusal is asked again, so a key made meanwhile works
    await gate.aclose()
