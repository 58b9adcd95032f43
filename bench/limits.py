"""The limit check's latency: one admit + reconcile, against Redis on loopback and in memory.

Each sample is what one API request pays for its limits: `admit` (the Lua script
checking requests, tokens, concurrency and budget and reserving, in one round trip)
and `reconcile` (a second round trip). Sequential, on one key with every limit set and
none reached. The Redis server is HYBRIDAGENT_REDIS_URL, else one started here
(redis-server from the Debian package, no persistence). Issue 14's goal: the limit
check <= 1 ms p50 with Redis on loopback.

Usage: python bench/limits.py [--runs 5000 | --quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
import uuid
from contextlib import ExitStack

from hybridagent.api.keys import ApiKey, KeyLimits
from hybridagent.api.limits import Limiter, MemoryLimiter
from hybridagent.api.limits_redis import RedisLimiter
from hybridagent.testing.redis_server import redis_server

QUICK_RUNS = 200
QUICK_HELP = "a few iterations, under a minute: checks the bench still runs (make bench-quick)"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[round(0.99 * (len(ordered) - 1))]


def key() -> ApiKey:
    limits = KeyLimits(rpm=10**9, tpm=10**12, max_concurrent=1000, budget_usd=10**6)
    return ApiKey(
        id=f"key_{uuid.uuid4().hex}", name="bench", prefix="hya_benc", limits=limits,
        created_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip


async def measure(limiter: Limiter, runs: int) -> tuple[float, float]:
    api_key = key()
    samples = []
    for i in range(runs + runs // 10):  # the first tenth warms up
        start = time.perf_counter()
        admission = await limiter.admit(api_key, 1200, 0.001)
        assert admission.reservation is not None, admission.message
        await limiter.reconcile(admission.reservation, 800, 0.0007)
        if i >= runs // 10:
            samples.append((time.perf_counter() - start) * 1000)
    await limiter.aclose()
    return percentiles(samples)


def main(runs: int) -> None:
    print(f"# limits: admit + reconcile  {platform.machine()}  Python {platform.python_version()}")
    print(f"{'limiter':24} {'p50 ms':>8} {'p99 ms':>8} {'runs':>6}")
    with ExitStack() as stack:
        url = os.environ.get("HYBRIDAGENT_REDIS_URL") or stack.enter_context(redis_server())
        rows = {
            "redis (loopback)": RedisLimiter.from_url(
                url, namespace=f"bench{uuid.uuid4().hex[:6]}"
            ),
            "memory": MemoryLimiter(),
        }
        for label, limiter in rows.items():
            p50, p99 = asyncio.run(measure(limiter, runs))
            print(f"{label:24} {p50:8.3f} {p99:8.3f} {runs:6d}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = parser.parse_args()
    main(QUICK_RUNS if args.quick else args.runs)
