"""The worker's own view of its health, for `hybridagent health` and `hybridagent models`.

Circuit state lives in each worker process (providers/circuit.py), so the CLI cannot
see it from outside: it runs HealthWorkflow, whose `worker_health` activity answers
from inside a worker. Read-only, so retrying it is harmless.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Literal

from pydantic import BaseModel, Field
from temporalio import activity

from hybridagent.providers.base import ModelListing
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.embedded import BUNDLED_ALIAS, EmbeddedBackend
from hybridagent.providers.errors import ProviderError
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.providers.ollama_admin import LoadedModel
from hybridagent.providers.registry import BUILTIN, Registry

State = Literal["closed", "open", "half-open"]

_SEVERITY: dict[State, int] = {"closed": 0, "half-open": 1, "open": 2}


def provider_of(circuit_key: str, registry: Registry = BUILTIN) -> str:
    """The model-name prefix of a circuit key (`<backend label> <endpoint>`,
    providers/guarded.py), by the labels of the registry's specs; "other" for none."""
    return registry.provider_of(circuit_key)


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


def worker_embedded_listing(embedded: EmbeddedStatus) -> ModelListing:
    """The local row from the worker's report: reachable as the worker's probe found
    it, and the supervisor's state (`restarting after it was killed by SIGKILL …`)."""
    detail = embedded.summary() if embedded.supervised else embedded.detail
    models = [f"local/{BUNDLED_ALIAS}"] if embedded.reachable else []
    return ModelListing("local", embedded.endpoint, embedded.reachable, models, detail)


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

    def listing(self, provider: str) -> ModelListing | None:
        """What this worker reports of a backend it runs itself (the embedded server, a
        backend whose spec reports health), for `hybridagent models`; else None."""
        if provider == "local" and self.embedded is not None:
            return worker_embedded_listing(self.embedded)
        return next((row for row in self.backends if row.provider == provider), None)

    def provider_circuit(self, provider: str) -> CircuitStatus:
        """The worst circuit of a provider's endpoints; closed when none has failed."""
        mine = [c for c in self.circuits if c.provider == provider]
        if not mine:
            return CircuitStatus(key=provider, provider=provider, state="closed")
        return max(mine, key=lambda c: (_SEVERITY[c.state], c.failures))


class HealthActivities:
    def __init__(
        self,
        provider: HybridModelProvider,
        circuits: CircuitBreaker,
        *,
        task_queue: str,
        identity: str,
    ) -> None:
        self._provider = provider
        self._circuits = circuits
        self._task_queue = task_queue
        self._identity = identity

    async def _ollama(self) -> OllamaStatus | None:
        backend = self._provider.backend("ollama")
        if not isinstance(backend, OllamaBackend):
            return None
        listing, loaded = await asyncio.gather(
            backend.list_models(), backend.loaded_models(), return_exceptions=True
        )
        if isinstance(listing, BaseException):
            raise listing
        if not listing.reachable:
            return OllamaStatus(host=backend.host, reachable=False, detail=listing.detail)
        status = OllamaStatus(
            host=backend.host,
            reachable=True,
            installed=[name.removeprefix("ollama/") for name in listing.models],
        )
        if isinstance(loaded, ProviderError):
            status.detail = f"/api/ps: {loaded}"
        elif isinstance(loaded, BaseException):
            raise loaded
        else:
            status.loaded = loaded
        return status

    async def _backends(self) -> list[ModelListing]:
        rows = []
        for spec in self._provider.registry:
            backend = self._provider.backend(spec.prefix)
            if spec.health is not None and backend is not None:
                rows.append(await spec.health(backend))
        return rows

    async def _embedded(self) -> EmbeddedStatus | None:
        backend = self._provider.backend("local")
        if not isinstance(backend, EmbeddedBackend) or not backend.available:
            return None
        listing = await backend.list_models()
        status = EmbeddedStatus(
            endpoint=listing.endpoint,
            reachable=listing.reachable,
            supervised=backend.supervisor is not None,
            detail="" if listing.reachable else listing.detail,
        )
        if backend.supervisor is None:
            return status
        server = backend.supervisor.status()
        return status.model_copy(
            update={
                "state": server.state,
                "pid": server.pid,
                "restarts": server.restarts,
                "failed_starts": server.failed_starts,
                "last_reason": server.last_reason,
                "retry_in_seconds": round(server.retry_in_seconds, 1),
                "log_path": str(server.log_path or ""),
            }
        )

    @activity.defn
    async def worker_health(self) -> WorkerHealth:
        """This worker's identity, default model, Ollama's and the embedded model
        server's state, the rows of other backends that report health, and its
        circuits."""
        return WorkerHealth(
            identity=self._identity,
            pid=os.getpid(),
            hostname=socket.gethostname(),
            task_queue=self._task_queue,
            default_model=self._provider.default_model,
            ollama=await self._ollama(),
            embedded=await self._embedded(),
            backends=await self._backends(),
            circuits=[
                CircuitStatus(
                    key=c.key,
                    provider=provider_of(c.key, self._provider.registry),
                    state=c.state,
                    failures=c.failures,
                    last_failure=c.last_error,
                    retry_in_seconds=round(c.retry_in_seconds, 1),
                )
                for c in self._circuits.snapshot()
            ],
        )
