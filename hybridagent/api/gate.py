"""What stands between a request and a workflow: who the caller is (API keys) and whether
their limits admit it. The routes see only this interface; api/keys.py and
api/limits.py implement it (KeyGate)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Caller(Protocol):
    """An authenticated API key."""

    @property
    def name(self) -> str: ...

    def allows_model(self, model: str) -> bool: ...


@dataclass
class Admission:
    """A request admitted by the caller's limits: what it reserved, to be settled with
    what it used."""

    caller: Caller
    reservation: object = None
    headers: dict[str, str] = field(default_factory=dict)  # x-ratelimit-*


@dataclass(frozen=True)
class Spend:
    """A key's budget as its limiter holds it now (USD)."""

    budget_usd: float | None  # None: no budget
    spent_usd: float
    reserved_usd: float  # held by requests still running
    shared: bool  # False: this process's memory only, which a restart forgets

    @property
    def remaining_usd(self) -> float | None:
        if self.budget_usd is None:
            return None
        return max(self.budget_usd - self.spent_usd - self.reserved_usd, 0.0)


class Gate(Protocol):
    async def authenticate(self, secret: str) -> Caller | None: ...

    async def admit(
        self, caller: Caller, *, estimated_tokens: int, estimated_cost_usd: float
    ) -> Admission:
        """Raises ApiError (rate_limit_exceeded or budget_exceeded, with Retry-After and
        x-ratelimit-* headers) when a limit refuses."""
        ...

    async def settle(self, admission: Admission, *, tokens: int, cost_usd: float) -> None:
        """Replace the reservation with the usage (zero for a failed request) and free
        its concurrency slot."""
        ...

    async def spend(self, caller: Caller) -> Spend:
        """The caller's budget, spent and reserved; raises ApiError when the limiter
        does not answer."""
        ...
