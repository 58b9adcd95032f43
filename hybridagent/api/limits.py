"""Admission per API key: requests and tokens per minute, concurrent requests, USD budget.

`admit` checks every limit of the key and, when all hold, reserves in the same step:
one request in the window, its estimated tokens (the prompt's estimate plus
`max_tokens`), a concurrency slot and its estimated cost. `reconcile` replaces the
reservation with what the call used and releases the slot; the API calls it exactly
once per admission, with zeros when the call failed. Two implementations share these
semantics (and one test suite): `RedisLimiter` (limits_redis.py), one Lua script per
step, so any number of API processes sharing one Redis admit exactly what the limits
allow; and `MemoryLimiter` for a single process without Redis.

The semantics:

- Windows are sliding, not fixed: a request counts for the 60 s after its admission.
  A fixed window lets a client spend two windows' worth in the second around a
  boundary (the overshoot users of other gateways report); a sliding log never admits
  more than the limit in any 60 s, and tells a refused client exactly when the oldest
  entry leaves (Retry-After). Its cost is one sorted-set entry per request in the last
  minute, which the limit itself bounds.
- Tokens of a request count at its admission time: reconciling changes the amount,
  not the time. Reserving the most a request can use (prompt + max_tokens) is what
  keeps concurrent requests from overshooting a TPM limit; reconciling gives back what
  it did not use.
- Only admitted requests count. A refused request consumes nothing.
- The budget is lifetime spend per key (a prepaid allowance: to go on, create a new
  key). spent + reserved + this estimate must stay within it, so concurrent requests
  cannot overshoot it by more than what their actual usage exceeds their reservation.
  With Redis, spend lives in Redis: run it with persistence (AOF) in production, or a
  restart forgets what keys have spent.
- A concurrency slot is a lease (15 minutes by default): a slot whose API process died
  before reconciling frees itself when the lease ends, and its reserved cost with it.
- Order of checks: budget first (waiting does not help), then concurrency, requests,
  tokens. A request larger than the whole TPM limit is refused without Retry-After.

Amounts are integers (tokens, and USD in nano-dollars) so Lua's doubles and Python's
ints agree exactly.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from hybridagent.api.keys import ApiKey

WINDOW_SECONDS = 60.0
LEASE_SECONDS = 900.0
CONCURRENCY_RETRY_MS = 1000  # a hint: when a running request ends is unknown (ADMIT too)
NANO = 1_000_000_000  # nano-USD per USD

Clock = Callable[[], float]  # seconds
ErrorCode = Literal["rate_limit_exceeded", "budget_exceeded"]
LimitName = Literal["requests", "tokens", "concurrency", "budget"]
# What one admission step reports; `reason` empty when admitted.
Reason = Literal["", "budget", "concurrency", "requests", "tokens", "tokens_over_limit"]

__all__ = [
    "Admission",
    "Limiter",
    "MemoryLimiter",
    "RateLimitStatus",
    "Reservation",
    "Usage",
    "estimate_tokens",
    "headers",
]


def to_nano(usd: float) -> int:
    """USD as whole nano-dollars, rounded up (the 1e-6 absorbs float noise such as
    0.03 * 1e9 = 30000000.000000004)."""
    return max(0, math.ceil(usd * NANO - 1e-6))


def _duration(ms: int) -> str:
    """OpenAI's style of x-ratelimit-reset-* values: `20ms`, `1.5s`, `6m0s`."""
    if ms < 1000:
        return f"{max(ms, 0)}ms"
    minutes, seconds = divmod(ms / 1000, 60)
    text = f"{round(seconds, 3):g}s"
    return f"{int(minutes)}m{text}" if minutes else text


@dataclass(frozen=True)
class RateLimitStatus:
    """The x-ratelimit-* values (None: the key has no such limit)."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_ms: int | None = None  # until the window is empty again
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_ms: int | None = None

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for kind in ("requests", "tokens"):
            limit = getattr(self, f"limit_{kind}")
            if limit is None:
                continue
            out[f"x-ratelimit-limit-{kind}"] = str(limit)
            out[f"x-ratelimit-remaining-{kind}"] = str(getattr(self, f"remaining_{kind}"))
            out[f"x-ratelimit-reset-{kind}"] = _duration(getattr(self, f"reset_{kind}_ms"))
        return out


@dataclass
class Reservation:
    """What an admission holds until `reconcile`; reconciling twice changes nothing."""

    id: str
    key_id: str
    tokens: int
    cost_nano: int
    reconciled: bool = False


@dataclass(frozen=True)
class Admission:
    status: RateLimitStatus
    reservation: Reservation | None = None
    code: ErrorCode | None = None
    limit: LimitName | None = None
    message: str = ""  # one sentence for the error body; empty when admitted
    retry_after: float | None = None  # seconds; None: waiting does not help

    @property
    def admitted(self) -> bool:
        return self.reservation is not None

    def headers(self) -> dict[str, str]:
        """The x-ratelimit-* headers, and Retry-After (whole seconds, as HTTP has it)
        and retry-after-ms (which the OpenAI SDKs read) on a refusal."""
        out = self.status.headers()
        if self.retry_after is not None:
            out["retry-after"] = str(max(1, math.ceil(self.retry_after)))
            out["retry-after-ms"] = str(max(0, round(self.retry_after * 1000)))
        return out


def headers(admission: Admission) -> dict[str, str]:
    return admission.headers()


@dataclass(frozen=True)
class Usage:
    """A key's state now: what the window holds, what runs, what it has spent."""

    requests: int
    tokens: int
    in_flight: int
    spent_usd: float
    reserved_usd: float


class Limiter(Protocol):
    in_memory: bool  # True: this process alone enforces the limits

    async def admit(
        self, key: ApiKey, estimated_tokens: int, estimated_cost_usd: float
    ) -> Admission: ...

    async def reconcile(
        self, reservation: Reservation, actual_tokens: int, actual_cost_usd: float
    ) -> None: ...

    async def usage(self, key: ApiKey) -> Usage: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Step:
    """What one admission step saw and did, in the numbers both implementations return."""

    reason: Reason
    retry_ms: int  # -1: none
    requests: int  # in the window, this request included when admitted
    tokens: int
    in_flight: int
    reserved_nano: int
    spent_nano: int
    newest_ms: int  # the newest admission in the window; -1 when empty
    now_ms: int


def _limit(value: int | float | None, scale: float = 1) -> int:
    return -1 if value is None else math.floor(value * scale)


def limit_args(key: ApiKey) -> tuple[int, int, int, int]:
    """rpm, tpm, max_concurrent, budget (nano-USD); -1 where unlimited."""
    lim = key.limits
    return (
        _limit(lim.rpm),
        _limit(lim.tpm),
        _limit(lim.max_concurrent),
        _limit(None if lim.budget_usd is None else to_nano(lim.budget_usd)),
    )


def admission(
    key: ApiKey, step: Step, tokens: int, cost_nano: int, window_ms: int, reservation_id: str
) -> Admission:
    """The Admission of a step, its status headers and, if refused, its one sentence."""
    lim = key.limits
    reset = max(0, step.newest_ms + window_ms - step.now_ms) if step.newest_ms >= 0 else 0
    status = RateLimitStatus(
        limit_requests=lim.rpm,
        remaining_requests=None if lim.rpm is None else max(0, lim.rpm - step.requests),
        reset_requests_ms=None if lim.rpm is None else reset,
        limit_tokens=lim.tpm,
        remaining_tokens=None if lim.tpm is None else max(0, lim.tpm - step.tokens),
        reset_tokens_ms=None if lim.tpm is None else reset,
    )
    if step.reason == "":
        return Admission(status, Reservation(reservation_id, key.id, tokens, cost_nano))
    retry = None if step.retry_ms < 0 else step.retry_ms / 1000
    wait = "" if retry is None else f"; retry in {math.ceil(retry)} s"
    if step.reason == "budget":
        left = max(0, to_nano(lim.budget_usd or 0) - step.spent_nano - step.reserved_nano)
        message = (
            f"This key's budget of ${lim.budget_usd:.2f} does not cover this request, "
            f"which may cost up to ${cost_nano / NANO:.4f} with ${left / NANO:.4f} left."
        )
        return Admission(status, None, "budget_exceeded", "budget", message, None)
    messages: dict[str, tuple[LimitName, str]] = {
        "concurrency": (
            "concurrency",
            f"This key already runs {step.in_flight} requests, its limit{wait}.",
        ),
        "requests": (
            "requests",
            f"This key's limit of {lim.rpm} requests per minute is reached{wait}.",
        ),
        "tokens": (
            "tokens",
            f"This request may use {tokens} tokens and this key has "
            f"{max(0, (lim.tpm or 0) - step.tokens)} of its {lim.tpm} tokens per minute "
            f"left{wait}.",
        ),
        "tokens_over_limit": (
            "tokens",
            f"This request may use {tokens} tokens, more than this key's limit of "
            f"{lim.tpm} tokens per minute; lower max_tokens or shorten the prompt.",
        ),
    }
    name, message = messages[step.reason]
    return Admission(status, None, "rate_limit_exceeded", name, message, retry)


def new_reservation_id() -> str:
    return uuid.uuid4().hex


def reservation_request(estimated_tokens: int, estimated_cost_usd: float) -> tuple[int, int, str]:
    """What an admission asks to reserve: tokens, nano-USD and a new reservation ID."""
    return max(0, estimated_tokens), to_nano(estimated_cost_usd), new_reservation_id()


@dataclass
class _KeyState:
    window: deque[tuple[int, str]] = field(default_factory=deque)  # oldest first
    tokens: dict[str, int] = field(default_factory=dict)
    token_sum: int = 0
    leases: dict[str, tuple[int, int]] = field(default_factory=dict)  # id: (end ms, cost)
    reserved: int = 0
    spent: int = 0

    def prune(self, now: int, window_ms: int) -> None:
        while self.window and self.window[0][0] <= now - window_ms:
            _, rid = self.window.popleft()
            self.token_sum -= self.tokens.pop(rid)
        for rid, (end, cost) in list(self.leases.items()):
            if end <= now:
                del self.leases[rid]
                self.reserved -= cost

    def step(
        self, now: int, args: tuple[int, ...], window_ms: int, lease_ms: int, rid: str
    ) -> Step:
        """The same decision as the Lua script in limits_redis.py, line by line."""
        tokens, cost, rpm, tpm, conc, budget = args
        count, inflight = len(self.window), len(self.leases)
        reason: Reason = ""
        retry = -1
        if budget >= 0 and self.spent + self.reserved + cost > budget:
            reason = "budget"
        elif conc >= 0 and inflight >= conc:
            reason, retry = "concurrency", CONCURRENCY_RETRY_MS
        elif rpm >= 0 and count >= rpm:
            reason, retry = "requests", self.window[count - rpm][0] + window_ms - now
        elif tpm >= 0 and tokens > tpm:
            reason = "tokens_over_limit"
        elif tpm >= 0 and self.token_sum + tokens > tpm:
            reason, freed = "tokens", 0
            for at, old in self.window:
                freed += self.tokens[old]
                if self.token_sum - freed + tokens <= tpm:
                    retry = at + window_ms - now
                    break
        if reason == "":
            self.window.append((now, rid))
            self.tokens[rid] = tokens
            self.token_sum += tokens
            self.leases[rid] = (now + lease_ms, cost)
            self.reserved += cost
        newest = self.window[-1][0] if self.window else -1
        return Step(
            reason, retry, len(self.window), self.token_sum, len(self.leases),
            self.reserved, self.spent, newest, now,
        )  # fmt: skip


class MemoryLimiter:
    """The limits of one process, in its memory: for `hybridagent serve` without Redis.
    Each step runs under a lock with no await inside, so it is atomic for asyncio tasks
    and threads alike."""

    in_memory = True

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        window_seconds: float = WINDOW_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._clock = clock
        self._window_ms = round(window_seconds * 1000)
        self._lease_ms = round(lease_seconds * 1000)
        self._keys: dict[str, _KeyState] = {}
        self._lock = threading.Lock()

    def _now(self) -> int:
        return math.floor(self._clock() * 1000)

    async def admit(
        self, key: ApiKey, estimated_tokens: int, estimated_cost_usd: float
    ) -> Admission:
        tokens, cost, rid = reservation_request(estimated_tokens, estimated_cost_usd)
        with self._lock:
            state = self._keys.setdefault(key.id, _KeyState())
            now = self._now()
            state.prune(now, self._window_ms)
            step = state.step(
                now, (tokens, cost, *limit_args(key)), self._window_ms, self._lease_ms, rid
            )
        return admission(key, step, tokens, cost, self._window_ms, rid)

    async def reconcile(
        self, reservation: Reservation, actual_tokens: int, actual_cost_usd: float
    ) -> None:
        with self._lock:
            if reservation.reconciled:
                return
            reservation.reconciled = True
            state = self._keys.setdefault(reservation.key_id, _KeyState())
            rid = reservation.id
            if rid in state.tokens:
                state.token_sum += max(0, actual_tokens) - state.tokens[rid]
                state.tokens[rid] = max(0, actual_tokens)
            lease = state.leases.pop(rid, None)
            if lease is not None:
                state.reserved -= lease[1]
            state.spent += to_nano(actual_cost_usd)

    async def usage(self, key: ApiKey) -> Usage:
        with self._lock:
            state = self._keys.setdefault(key.id, _KeyState())
            state.prune(self._now(), self._window_ms)
            return Usage(
                requests=len(state.window),
                tokens=state.token_sum,
                in_flight=len(state.leases),
                spent_usd=state.spent / NANO,
                reserved_usd=state.reserved / NANO,
            )

    async def aclose(self) -> None:
        return None


# Tokens of a non-text part (an image, audio): OpenAI bills a high-detail 512 px tile
# at 765 tokens; an estimate that errs high, like the rest.
_PART_TOKENS = 765
_MESSAGE_OVERHEAD = 4  # role and separators, as OpenAI's cookbook counts them


def _chars(value: Any) -> tuple[int, int]:
    """(characters of text, non-text parts) in a message's content."""
    if isinstance(value, str):
        return len(value), 0
    if isinstance(value, Mapping):
        kind = value.get("type")
        if kind in ("image_url", "input_image", "input_audio", "file", "input_file"):
            return 0, 1
        pairs = [_chars(v) for k, v in value.items() if k != "type"]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    if isinstance(value, list | tuple):
        pairs = [_chars(v) for v in value]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    return 0, 0


def estimate_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """A prompt's tokens, estimated at 4 characters a token (every text field: content,
    names, tool calls' arguments) plus a few per message, without a tokenizer: the
    reservation only needs to err high, and the reconcile corrects it."""
    total = 0
    for message in messages:
        chars, parts = _chars(message)
        total += math.ceil(chars / 4) + parts * _PART_TOKENS + _MESSAGE_OVERHEAD
    return total
