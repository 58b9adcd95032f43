"""The Gate of `hybridagent serve`: API keys from the database (api/keys.py), limits from
Redis or this process's memory (api/limits.py)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from redis.exceptions import RedisError

from hybridagent.api import gate
from hybridagent.api.errors import ApiError
from hybridagent.api.keys import ApiKey, KeyStore, open_key_store
from hybridagent.api.limits import Limiter, MemoryLimiter, Reservation
from hybridagent.api.limits_redis import RedisLimiter
from hybridagent.config import Settings

log = logging.getLogger(__name__)

# An authenticated key is remembered this long, so a request costs no database read;
# a revoked key is refused at most this long after `keys revoke`. A refused secret is not
# remembered: a key created a moment after a failed try works at once.
KEY_CACHE_SECONDS = 5.0


class KeyGate:
    def __init__(self, store: KeyStore, limiter: Limiter) -> None:
        self.store = store
        self.limiter = limiter
        self._known: dict[bytes, tuple[float, ApiKey]] = {}

    async def authenticate(self, secret: str) -> ApiKey | None:
        # Remembered by a digest: the secret itself is kept nowhere in this process.
        digest = hashlib.blake2b(secret.encode(), digest_size=16).digest()
        cached = self._known.get(digest)
        now = time.monotonic()
        if cached is not None and now - cached[0] < KEY_CACHE_SECONDS:
            return cached[1]
        found = await asyncio.to_thread(self.store.authenticate, secret)
        if found is None:
            self._known.pop(digest, None)
            return None
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[digest] = (now, found)
        return found

    async def admit(
        self, caller: gate.Caller, *, estimated_tokens: int, estimated_cost_usd: float
    ) -> gate.Admission:
        assert isinstance(caller, ApiKey)
        try:
            admission = await self.limiter.admit(caller, estimated_tokens, estimated_cost_usd)
        except RedisError:
            log.error("the limiter's Redis did not answer an admission")
            # Never let a request through unlimited: refuse it, and say why.
            raise ApiError(
                "upstream_unavailable", "The rate limiter does not answer; try again shortly."
            ) from None
        if not admission.admitted:
            assert admission.code is not None
            raise ApiError(admission.code, admission.message, headers=admission.headers())
        return gate.Admission(caller, admission.reservation, admission.headers())

    async def settle(self, admission: gate.Admission, *, tokens: int, cost_usd: float) -> None:
        reservation = admission.reservation
        if isinstance(reservation, Reservation):
            try:
                await self.limiter.reconcile(reservation, tokens, cost_usd)
            except RedisError:  # its lease frees the slot and reserved cost later
                log.error("the limiter's Redis did not answer a reconciliation")

    async def spend(self, caller: gate.Caller) -> gate.Spend:
        assert isinstance(caller, ApiKey)
        try:
            used = await self.limiter.usage(caller)
        except RedisError:
            log.error("the limiter's Redis did not answer a usage read")
            raise ApiError(
                "upstream_unavailable", "The rate limiter does not answer; try again shortly."
            ) from None
        return gate.Spend(
            budget_usd=caller.limits.budget_usd,
            spent_usd=used.spent_usd,
            reserved_usd=used.reserved_usd,
            shared=not self.limiter.in_memory,
        )

    async def aclose(self) -> None:
        await self.limiter.aclose()
        self.store.close()


def open_gate(settings: Settings) -> KeyGate:
    """Keys from the configured database; limits in Redis when HYBRIDAGENT_REDIS_URL is
    set, else in memory (said in the log: then only this one process enforces them)."""
    api = settings.api_settings
    limiter: Limiter
    if api.redis_url is not None:
        limiter = RedisLimiter.from_url(api.redis_url.get_secret_value())
    else:
        log.warning(
            "no HYBRIDAGENT_REDIS_URL: limits are enforced in this process's memory only; "
            "run one API process, or give them a Redis to share"
        )
        limiter = MemoryLimiter()
    return KeyGate(open_key_store(settings), limiter)
