"""Circuit breaking per provider endpoint, per worker process.

A provider that keeps failing (unreachable, timing out, 5xx, garbage) is skipped for a
cooldown: calls fail at once with CircuitOpenError, without a request, so the workflow
moves to the next candidate in a millisecond instead of waiting out timeouts. After the
cooldown one call is let through (half-open): success closes the circuit, failure opens
it again. State is shared by every workflow the worker runs; `hybridagent models` and
the worker health output show it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

State = Literal["closed", "open", "half-open"]


@dataclass
class Circuit:
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False
    last_error: str = ""


@dataclass
class CircuitSnapshot:
    key: str
    state: State
    failures: int
    retry_in_seconds: float
    last_error: str


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5
    cooldown_seconds: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _circuits: dict[str, Circuit] = field(default_factory=dict)

    def _state(self, circuit: Circuit) -> State:
        if circuit.opened_at is None:
            return "closed"
        if self.clock() - circuit.opened_at < self.cooldown_seconds:
            return "open"
        return "half-open"

    def blocked(self, key: str) -> float | None:
        """Like `allow`, without using up the half-open probe: for routing setups."""
        circuit = self._circuits.get(key)
        if circuit is None or self._state(circuit) != "open":
            return None
        assert circuit.opened_at is not None
        return max(0.0, self.cooldown_seconds - (self.clock() - circuit.opened_at))

    def allow(self, key: str) -> float | None:
        """None if a call may go; else the seconds until the circuit lets one through."""
        circuit = self._circuits.get(key)
        if circuit is None:
            return None
        state = self._state(circuit)
        if state == "closed":
            return None
        if state == "half-open" and not circuit.probing:
            circuit.probing = True  # exactly one probe call
            return None
        assert circuit.opened_at is not None
        return max(0.0, self.cooldown_seconds - (self.clock() - circuit.opened_at))

    def success(self, key: str) -> None:
        self._circuits.pop(key, None)

    def failure(self, key: str, error: str) -> None:
        circuit = self._circuits.setdefault(key, Circuit())
        circuit.failures += 1
        circuit.last_error = error
        if circuit.probing or circuit.failures >= self.failure_threshold:
            circuit.opened_at = self.clock()
            circuit.probing = False

    def snapshot(self) -> list[CircuitSnapshot]:
        now = self.clock()
        return [
            CircuitSnapshot(
                key,
                self._state(c),
                c.failures,
                0.0
                if c.opened_at is None
                else max(0.0, self.cooldown_seconds - (now - c.opened_at)),
                c.last_error,
            )
            for key, c in sorted(self._circuits.items())
        ]
