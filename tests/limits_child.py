"""One API process's worth of admissions, for the two-process limit test: waits on a
Redis list until the test lets every process go at once, then admits `count` requests
concurrently and prints how many were admitted."""

from __future__ import annotations

import asyncio
import sys

from redis.asyncio import Redis

from hybridagent.api.keys import ApiKey
from hybridagent.api.limits_redis import RedisLimiter


async def main(url: str, namespace: str, key_json: str, count: int, now: float) -> None:
    key = ApiKey.model_validate_json(key_json)
    client = Redis.from_url(url)
    limiter = RedisLimiter.from_url(url, namespace=namespace, clock=lambda: now)
    await client.rpush(f"{namespace}:ready", "1")
    await client.blpop([f"{namespace}:go"], timeout=60)
    results = await asyncio.gather(*(limiter.admit(key, 10, 0.0) for _ in range(count)))
    print(sum(1 for r in results if r.admitted), flush=True)
    await limiter.aclose()
    await client.aclose()


if __name__ == "__main__":
    url, namespace, key_json, count, now = sys.argv[1:6]
    asyncio.run(main(url, namespace, key_json, int(count), float(now)))
