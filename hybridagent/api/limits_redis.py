"""The limits in Redis: every API process sharing one Redis sees the same limits.

Admission is one Lua script (ADMIT): it forgets what left the window, checks every
limit and reserves, atomically, since Redis runs a script to its end before any other
command. `reconcile` is a second script. Both are sent once (SCRIPT LOAD) and then
called by their SHA (EVALSHA); redis-py reloads one when Redis restarted.

Time is Redis's own clock (TIME) unless the limiter is given a clock, so API processes
on hosts whose clocks differ still agree on one window; tests pass the time in.

A key's state is five Redis keys under one hash tag (so Redis Cluster keeps them on one
shard): the window (sorted set: reservation -> admission ms), its tokens (hash, with
the total in `_sum`), the leases (sorted set: reservation -> lease end ms), their
reserved cost (hash, total in `_sum`) and the lifetime spend (a counter). The window
and lease keys expire on their own when idle; the spend does not.
"""

from __future__ import annotations

import math
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from hybridagent.api.keys import ApiKey
from hybridagent.api.limits import (
    LEASE_SECONDS,
    NANO,
    WINDOW_SECONDS,
    Admission,
    Clock,
    Reservation,
    Step,
    Usage,
    admission,
    limit_args,
    reservation_request,
    to_nano,
)

__all__ = ["RedisLimiter"]

_COMMON = """
local function now_ms(arg)
  local n = tonumber(arg)
  if n >= 0 then return n end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# KEYS: window, window tokens, leases, lease costs, spent.
# ARGV: now ms (-1: Redis TIME), id, tokens, cost, rpm, tpm, max concurrent, budget
# (-1: unlimited), window ms, lease ms, peek (1: report only, reserve nothing).
# The same decision as _KeyState.step in limits.py.
ADMIT = (
    _COMMON
    + """
local function drop(zkey, hkey, upto)
  local gone = redis.call('ZRANGEBYSCORE', zkey, '-inf', upto)
  if #gone == 0 then return end
  local freed = 0
  for i = 1, #gone, 1000 do
    local chunk = {}
    for j = i, math.min(i + 999, #gone) do
      freed = freed + tonumber(redis.call('HGET', hkey, gone[j]) or 0)
      chunk[#chunk + 1] = gone[j]
    end
    redis.call('HDEL', hkey, unpack(chunk))
  end
  redis.call('ZREMRANGEBYSCORE', zkey, '-inf', upto)
  redis.call('HINCRBY', hkey, '_sum', 0 - freed)
end

local now = now_ms(ARGV[1])
local id, tokens, cost = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local rpm, tpm = tonumber(ARGV[5]), tonumber(ARGV[6])
local conc, budget = tonumber(ARGV[7]), tonumber(ARGV[8])
local window, lease, peek = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11] == '1'

drop(KEYS[1], KEYS[2], now - window)
drop(KEYS[3], KEYS[4], now)
local count = redis.call('ZCARD', KEYS[1])
local used = tonumber(redis.call('HGET', KEYS[2], '_sum') or 0)
local inflight = redis.call('ZCARD', KEYS[3])
local reserved = tonumber(redis.call('HGET', KEYS[4], '_sum') or 0)
local spent = tonumber(redis.call('GET', KEYS[5]) or 0)

local reason, retry = '', -1
if peek then
  reason = 'peek'
elseif budget >= 0 and spent + reserved + cost > budget then
  reason = 'budget'
elseif conc >= 0 and inflight >= conc then
  reason, retry = 'concurrency', 1000
elseif rpm >= 0 and count >= rpm then
  reason = 'requests'
  local nth = redis.call('ZRANGE', KEYS[1], count - rpm, count - rpm, 'WITHSCORES')
  retry = tonumber(nth[2]) + window - now
elseif tpm >= 0 and tokens > tpm then
  reason = 'tokens_over_limit'
elseif tpm >= 0 and used + tokens > tpm then
  reason = 'tokens'
  local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  local freed = 0
  for i = 1, #entries, 2 do
    freed = freed + tonumber(redis.call('HGET', KEYS[2], entries[i]) or 0)
    if used - freed + tokens <= tpm then
      retry = tonumber(entries[i + 1]) + window - now
      break
    end
  end
end

if reason == '' then
  redis.call('ZADD', KEYS[1], now, id)
  redis.call('HSET', KEYS[2], id, tokens)
  redis.call('HINCRBY', KEYS[2], '_sum', tokens)
  redis.call('ZADD', KEYS[3], now + lease, id)
  redis.call('HSET', KEYS[4], id, cost)
  redis.call('HINCRBY', KEYS[4], '_sum', cost)
  redis.call('PEXPIRE', KEYS[1], window)
  redis.call('PEXPIRE', KEYS[2], window)
  redis.call('PEXPIRE', KEYS[3], lease)
  redis.call('PEXPIRE', KEYS[4], lease)
  count, used = count + 1, used + tokens
  inflight, reserved = inflight + 1, reserved + cost
end

local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local newest_ms = -1
if #newest > 0 then newest_ms = tonumber(newest[2]) end
return {reason, retry, count, used, inflight, reserved, spent, newest_ms, now}
"""
)

# KEYS: as ADMIT. ARGV: id, actual tokens, actual cost (nano-USD).
RECONCILE = """
local id, tokens, cost = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local held = redis.call('HGET', KEYS[2], id)
if held then
  redis.call('HSET', KEYS[2], id, tokens)
  redis.call('HINCRBY', KEYS[2], '_sum', tokens - tonumber(held))
end
local reserved = redis.call('HGET', KEYS[4], id)
if reserved then
  redis.call('HDEL', KEYS[4], id)
  redis.call('HINCRBY', KEYS[4], '_sum', 0 - tonumber(reserved))
  redis.call('ZREM', KEYS[3], id)
end
if cost > 0 then redis.call('INCRBY', KEYS[5], cost) end
return 1
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisLimiter:
    """Limits every API process sharing this Redis enforces together."""

    in_memory = False

    def __init__(
        self,
        client: Redis,
        *,
        namespace: str = "hya",
        clock: Clock | None = None,
        window_seconds: float = WINDOW_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._clock = clock
        self._window_ms = round(window_seconds * 1000)
        self._lease_ms = round(lease_seconds * 1000)
        self._admit = client.register_script(ADMIT)
        self._reconcile = client.register_script(RECONCILE)

    @classmethod
    def from_url(cls, url: str, *, max_connections: int = 50, **options: Any) -> RedisLimiter:
        """A client whose pool waits for a free connection (up to 10 s) instead of
        failing, as redis-py's default pool does past 100 concurrent commands."""
        pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=10)
        return cls(Redis(connection_pool=pool), **options)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _keys(self, key_id: str) -> list[str]:
        base = f"{self._namespace}:{{{key_id}}}"
        return [f"{base}:{part}" for part in ("win", "wtok", "live", "lcost", "spent")]

    def _now(self) -> int:
        return -1 if self._clock is None else math.floor(self._clock() * 1000)

    async def _step(self, key: ApiKey, rid: str, tokens: int, cost: int, peek: bool) -> Step:
        args: list[str | int] = [
            self._now(), rid, tokens, cost, *limit_args(key),
            self._window_ms, self._lease_ms, 1 if peek else 0,
        ]  # fmt: skip
        out = await self._admit(keys=self._keys(key.id), args=args)
        reason = _text(out[0])
        numbers = [int(v) for v in out[1:]]
        return Step("" if reason == "peek" else reason, *numbers)  # type: ignore[arg-type]

    async def admit(
        self, key: ApiKey, estimated_tokens: int, estimated_cost_usd: float
    ) -> Admission:
        tokens, cost, rid = reservation_request(estimated_tokens, estimated_cost_usd)
        step = await self._step(key, rid, tokens, cost, peek=False)
        return admission(key, step, tokens, cost, self._window_ms, rid)

    async def reconcile(
        self, reservation: Reservation, actual_tokens: int, actual_cost_usd: float
    ) -> None:
        if reservation.reconciled:
            return
        reservation.reconciled = True
        args: list[str | int] = [reservation.id, max(0, actual_tokens), to_nano(actual_cost_usd)]
        await self._reconcile(keys=self._keys(reservation.key_id), args=args)

    async def usage(self, key: ApiKey) -> Usage:
        step = await self._step(key, "", 0, 0, peek=True)
        return Usage(
            requests=step.requests,
            tokens=step.tokens,
            in_flight=step.in_flight,
            spent_usd=step.spent_nano / NANO,
            reserved_usd=step.reserved_nano / NANO,
        )
