"""Per-key limits on a real Redis server and in memory: the same tests, the same answers.

Time is a clock the test moves (the Lua script takes `now` from the caller), never a
sleep: every retry-after and window edge below is exact.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from hybridagent.api.keys import ApiKey, KeyLimits
from hybridagent.api.limits import Admission, Limiter, MemoryLimiter
from hybridagent.api.limits_redis import RedisLimiter

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def make_key(**limits: float | None) -> ApiKey:
    return ApiKey(
        id=f"key_{uuid.uuid4().hex}",
        name="test",
        prefix="hya_test",
        limits=KeyLimits.model_validate(limits),
        created_at="2026-01-01T00:00:00+00:00",
    )


MakeLimiter = Callable[..., Limiter]


@pytest.fixture(params=["redis", "memory"])
async def make_limiter(request: pytest.FixtureRequest) -> AsyncIterator[MakeLimiter]:
    made: list[Limiter] = []

    def make(clock: Clock, **options: float) -> Limiter:
        limiter: Limiter
        if request.param == "redis":
            url: str = request.getfixturevalue("redis_url")
            namespace = f"t{uuid.uuid4().hex[:8]}"
            limiter = RedisLimiter.from_url(url, namespace=namespace, clock=clock, **options)
        else:
            limiter = MemoryLimiter(clock=clock, **options)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.aclose()


async def admit_many(limiter: Limiter, key: ApiKey, n: int, tokens: int = 10, cost: float = 0.0):
    return await asyncio.gather(*(limiter.admit(key, tokens, cost) for _ in range(n)))


def admitted(results: list[Admission]) -> list[Admission]:
    return [r for r in results if r.admitted]


async def test_200_concurrent_requests_on_rpm_50_admit_exactly_50(
    make_limiter: MakeLimiter,
) -> None:
    clock = Clock()
    limiter, key = make_limiter(clock), make_key(rpm=50)
    results = await admit_many(limiter, key, 200)
    assert len(admitted(results)) == 50
    refused = [r for r in results if not r.admitted]
    assert {(r.code, r.limit, r.retry_after) for r in refused} == {
        ("rate_limit_exceeded", "requests", 60.0)
    }
    assert refused[0].headers() == {
        "x-ratelimit-limit-requests": "50",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1m0s",
        "retry-after": "60",
        "retry-after-ms": "60000",
    }
    assert refused[0].message == (
        "This key's limit of 50 requests per minute is reached; retry in 60 s."
    )
    # Reconciling frees no request: the window counts requests, not running ones.
    for result in admitted(results):
        assert result.reservation is not None
        await limiter.reconcile(result.reservation, 10, 0.0)
    clock.now = T0 + 59.999
    late = await limiter.admit(key, 10, 0.0)
    assert not late.admitted and late.retry_after == pytest.approx(0.001)
    assert late.headers()["retry-after"] == "1"
    clock.now = T0 + 60
    assert len(admitted(await admit_many(limiter, key, 60))) == 50


async def test_rpm_50_across_two_processes_sharing_one_redis_admits_exactly_50(
    redis_url: str,
) -> None:
    namespace = f"t{uuid.uuid4().hex[:8]}"
    key = make_key(rpm=50)
    client = Redis.from_url(redis_url)
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.limits_child",
                redis_url,
                namespace,
                key.model_dump_json(),
                "100",
                str(T0),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    try:
        for _ in children:  # both connected and waiting: let them go at once
            assert await client.blpop([f"{namespace}:ready"], timeout=60) is not None
        await client.rpush(f"{namespace}:go", "1", "1")
        counts = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            counts.append(int(out))
    finally:
        for child in children:
            child.kill()
        await client.aclose()
    assert sum(counts) == 50
    limiter = RedisLimiter.from_url(redis_url, namespace=namespace, clock=lambda: T0)
    assert (await limiter.usage(key)).requests == 50
    await limiter.aclose()


async def test_tokens_reserved_big_and_reconciled_small_let_later_requests_in(
    make_limiter: MakeLimiter,
) -> None:
    clock = Clock()
    limiter, key = make_limiter(clock), make_key(tpm=1000)
    first = await limiter.admit(key, 600, 0.0)
    assert first.admitted and first.reservation is not None
    assert first.headers() == {
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "400",
        "x-ratelimit-reset-tokens": "1m0s",
    }
    clock.now = T0 + 10
    second = await limiter.admit(key, 600, 0.0)
    assert (second.admitted, second.code, second.limit) == (False, "rate_limit_exceeded", "tokens")
    assert second.retry_after == 50.0  # when the first request's tokens leave the window
    assert second.message == (
        "This request may use 600 tokens and this key has 400 of its 1000 tokens per "
        "minute left; retry in 50 s."
    )
    await limiter.reconcile(first.reservation, 100, 0.0)
    third = await limiter.admit(key, 600, 0.0)
    assert third.admitted
    assert third.status.remaining_tokens == 300
    assert third.status.reset_tokens_ms == 60_000
    # The first request's 100 tokens leave at T0 + 60; the third's 600 stay until T0 + 70.
    clock.now = T0 + 60
    assert (await limiter.usage(key)).tokens == 600
    assert (await limiter.admit(key, 400, 0.0)).admitted
    refused = await limiter.admit(key, 1, 0.0)
    assert not refused.admitted and refused.retry_after == 10.0


async def test_a_request_larger_than_the_tpm_limit_is_refused_without_retry_after(
    make_limiter: MakeLimiter,
) -> None:
    limiter, key = make_limiter(Clock()), make_key(tpm=1000)
    refused = await limiter.admit(key, 1001, 0.0)
    assert (refused.code, refused.limit, refused.retry_after) == (
        "rate_limit_exceeded",
        "tokens",
        None,
    )
    assert "retry-after" not in refused.headers()
    assert "lower max_tokens" in refused.message
    assert (await limiter.usage(key)).tokens == 0  # a refusal consumes nothing


async def test_concurrent_requests_do_not_overshoot_the_budget(make_limiter: MakeLimiter) -> None:
    limiter, key = make_limiter(Clock()), make_key(budget_usd=1.0)
    spent_by_admitted: list[float] = []

    async def request() -> Admission:
        result = await limiter.admit(key, 100, 0.03)
        if result.reservation is not None:
            await asyncio.sleep(0)  # let the others interleave before this one settles
            await limiter.reconcile(result.reservation, 100, 0.03)
            spent_by_admitted.append(0.03)
        return result

    results = await asyncio.gather(*(request() for _ in range(100)))
    assert len(admitted(list(results))) == 33
    usage = await limiter.usage(key)
    assert usage.spent_usd == pytest.approx(0.99)
    assert usage.spent_usd <= 1.0 + 0.03  # never more than one reservation over
    assert usage.reserved_usd == 0 and usage.in_flight == 0
    refused = await limiter.admit(key, 100, 0.03)
    assert (refused.code, refused.limit, refused.retry_after) == ("budget_exceeded", "budget", None)
    assert refused.message == (
        "This key's budget of $1.00 does not cover this request, which may cost up to "
        "$0.0300 with $0.0100 left."
    )
    # A free (local) request still fits a spent budget.
    assert (await limiter.admit(key, 100, 0.0)).admitted


async def test_concurrency_slots_are_released_on_reconcile_even_with_zero_usage(
    make_limiter: MakeLimiter,
) -> None:
    limiter, key = make_limiter(Clock()), make_key(max_concurrent=3, budget_usd=1.0)
    running = admitted(await admit_many(limiter, key, 5, cost=0.2))
    assert len(running) == 3
    refused = await limiter.admit(key, 10, 0.2)
    assert (refused.limit, refused.retry_after) == ("concurrency", 1.0)
    assert (await limiter.usage(key)).reserved_usd == pytest.approx(0.6)
    assert running[0].reservation is not None
    await limiter.reconcile(running[0].reservation, 0, 0.0)  # the call failed
    await limiter.reconcile(running[0].reservation, 0, 0.5)  # a second reconcile: no-op
    usage = await limiter.usage(key)
    assert (usage.in_flight, usage.spent_usd) == (2, 0.0)
    assert usage.reserved_usd == pytest.approx(0.4)
    assert (await limiter.admit(key, 10, 0.2)).admitted


async def test_a_lease_whose_process_died_frees_its_slot_and_reserved_cost(
    make_limiter: MakeLimiter,
) -> None:
    clock = Clock()
    limiter = make_limiter(clock, lease_seconds=30.0)
    key = make_key(max_concurrent=1, budget_usd=1.0)
    assert (await limiter.admit(key, 10, 0.9)).admitted  # never reconciled
    clock.now = T0 + 29.999
    refused = await limiter.admit(key, 10, 0.05)
    assert refused.limit == "concurrency"  # the budget would fit: the slot is taken
    clock.now = T0 + 30
    assert (await limiter.admit(key, 10, 0.9)).admitted
    assert (await limiter.usage(key)).reserved_usd == pytest.approx(0.9)


async def test_the_window_slides_and_keys_are_separate(make_limiter: MakeLimiter) -> None:
    clock = Clock()
    limiter, key, other = make_limiter(clock), make_key(rpm=2), make_key(rpm=2)
    assert (await limiter.admit(key, 1, 0.0)).admitted
    clock.now = T0 + 10
    assert (await limiter.admit(key, 1, 0.0)).admitted
    clock.now = T0 + 20
    refused = await limiter.admit(key, 1, 0.0)
    assert refused.retry_after == 40.0
    assert refused.status.reset_requests_ms == 50_000  # the window is empty at T0 + 70
    assert (await limiter.admit(other, 1, 0.0)).admitted
    clock.now = T0 + 60
    assert (await limiter.admit(key, 1, 0.0)).admitted
    assert not (await limiter.admit(key, 1, 0.0)).admitted


async def test_budget_is_checked_before_rate_limits(make_limiter: MakeLimiter) -> None:
    limiter, key = make_limiter(Clock()), make_key(rpm=1, budget_usd=0.01)
    assert (await limiter.admit(key, 1, 0.01)).admitted
    assert (await limiter.admit(key, 1, 0.01)).code == "budget_exceeded"
    assert (await limiter.admit(key, 1, 0.0)).code == "rate_limit_exceeded"


async def test_redis_time_is_used_when_no_clock_is_given(redis_url: str) -> None:
    limiter = RedisLimiter.from_url(redis_url, namespace=f"t{uuid.uuid4().hex[:8]}")
    key = make_key(rpm=1, tpm=100)
    first = await limiter.admit(key, 10, 0.0)
    second = await limiter.admit(key, 10, 0.0)
    assert first.admitted and not second.admitted
    assert second.retry_after is not None and 59.0 < second.retry_after <= 60.0
    await limiter.aclose()
