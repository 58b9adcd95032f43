"""A worker's health report (the `worker_health` activity's answer, which the
HealthWorkflow returns to `hybridagent health` and `models`), as plain data: the
workflow imports it without the provider stack that fills it in (activities/health.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

WORKER_HEALTH = "worker_health"  # the activity's name

State = Literal["closed", "open", "half-open"]
_SEVERITY: dict[State, int] = {"closed": 0, "half-open": 1, "open": 2}


@dataclass(frozen=True)
class ModelListing:
    """One provider's answer to `hybridagent models` (every backend's `list_models`),
    and a backend's row in this report."""

    provider: str
    endpoint: str
    reachable: bool
    models: list[str] = field(default_factory=list)
    detail: str = ""


class LoadedModel(BaseModel):
    """One entry of `/api/ps`: a model Ollama holds in memory right now."""

    name: str
    size: int = 0
    size_vram: int = 0
    expires_at: datetime | None = None
    context_length: int | None = None


class CircuitStatus(BaseModel):
    key: str
    provider: str
    state: State
    failures: int = 0  # consecutive
    last_failure: str = ""  # the failure's type, e.g. ProviderUnreachableError
    retry_in_seconds: float = 0.0


class OllamaStatus(BaseModel):
    host: str
    reachable: bool
    installed: list[str] = Field(default_factory=list)
    loaded: list[LoadedModel] = Field(default_factory=list)
    detail: str = ""


class EmbeddedStatus(BaseModel):
    """The embedded llama.cpp server as this worker sees it."""

    endpoint: str
    reachable: bool  # it answered the worker's probe just now
    supervised: bool  # this worker started it and restarts it when it dies
    state: Literal["up", "restarting", "down"] = "up"  # supervised only
    pid: int | None = None
    restarts: int = 0
    failed_starts: int = 0
    last_reason: str = ""
    retry_in_seconds: float = 0.0
    log_path: str = ""
    detail: str = ""  # why the probe failed

    def summary(self) -> str:
        """`up (pid 4242, 1 restart; last: killed by SIGKILL)`, `restarting (killed by
        SIGKILL; 0 restarts so far)`, `down (2 failed starts, 0 restarts): <why>; next
        attempt in 8 s`."""
        if not self.supervised:
            return "reachable" if self.reachable else f"not reachable ({self.detail})"
        count = f"{self.restarts} restart{'s' if self.restarts != 1 else ''}"
        last = f"; last: {self.last_reason.rstrip('.')}" if self.last_reason else ""
        if self.state == "up":
            pid = f"pid {self.pid}, " if self.pid else ""
            # Up by its process, yet the probe got no answer (it was still loading, or
            # hangs): both are true, so say both.
            probe = "" if self.reachable else f"; not answering ({self.detail})"
            return f"up ({pid}{count}{last}){probe}"
        if self.state == "restarting":
            return f"restarting ({self.last_reason.rstrip('.')}; {count} so far)"
        return (
            f"down ({self.failed_starts} failed start{'s' if self.failed_starts != 1 else ''}, "
            f"{count}): {self.last_reason.rstrip('.')}; next attempt in "
            f"{self.retry_in_seconds:.0f} s"
        )


class WorkerHealth(BaseModel):
    identity: str
    pid: int
    hostname: str
    task_queue: str
    default_model: str | None
    ollama: OllamaStatus | None  # None: the worker has no Ollama backend
    circuits: list[CircuitStatus] = Field(default_factory=list)
    embedded: EmbeddedStatus | None = None  # None: the worker runs no embedded model
    # The rows of the backends whose spec reports health (providers/registry.py).
    backends: list[ModelListing] = Field(default_factory=list)

    def local_model_problem(self) -> str | None:
        """One sentence when the embedded model is this worker's only local model and it
        does not answer (down or restarting, with Ollama not reachable); else None."""
        embedded = self.embedded
        if embedded is None or (embedded.reachable and embedded.state == "up"):
            return None
        if self.ollama is not None and self.ollama.reachable:
            return None
        return (
            f"The embedded model, this worker's only local model, is "
            f"{embedded.summary() if embedded.supervised else 'not reachable'} "
            f"at {embedded.endpoint}."
        )

    def backend_row(self, provider: str) -> ModelListing | None:
        """A backend's row in `backends`, if its spec reports health."""
        return next((row for row in self.backends if row.provider == provider), None)

    def provider_circuit(self, provider: str) -> CircuitStatus:
        """The worst circuit of a provider's endpoints; closed when none has failed."""
        mine = [c for c in self.circuits if c.provider == provider]
        if not mine:
            return CircuitStatus(key=provider, provider=provider, state="closed")
        return max(mine, key=lambda c: (_SEVERITY[c.state], c.failures))
