"""The worker's own view of its health, for `hybridagent health` and `hybridagent models`.

Circuit state lives in each worker process (providers/circuit.py), so the CLI cannot
see it from outside: it runs HealthWorkflow, whose `worker_health` activity answers
from inside a worker. Read-only, so retrying it is harmless.
"""

from __future__ import annotations

import asyncio
import os
import socket

from temporalio import activity

from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.embedded import EmbeddedBackend
from hybridagent.providers.errors import ProviderError
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.providers.registry import BUILTIN, Registry
from hybridagent.worker_health import (
    WORKER_HEALTH,
    CircuitStatus,
    EmbeddedStatus,
    ModelListing,
    OllamaStatus,
    WorkerHealth,
)


def provider_of(circuit_key: str, registry: Registry = BUILTIN) -> str:
    """The model-name prefix of a circuit key (`<backend label> <endpoint>`,
    providers/guarded.py), by the labels of the registry's specs; "other" for none."""
    return registry.provider_of(circuit_key)


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

    @activity.defn(name=WORKER_HEALTH)
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
