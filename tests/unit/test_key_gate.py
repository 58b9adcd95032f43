"""KeyGate when the limiter's Redis is gone: requests are refused with one sentence,
never let through unlimited."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hybridagent.api.errors import ApiError
from hybridagent.api.key_gate import KeyGate
from hybridagent.api.keys import KeyLimits, KeyStore
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
