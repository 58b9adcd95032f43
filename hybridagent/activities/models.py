"""The worker's side of routing: which models a run may use and what each can do, and
the privacy detector's configuration.

A workflow asks once per run (`routing_setup`); the answer is recorded in the history,
so the run's decisions replay identically whatever the worker's configuration is later.
"""

from __future__ import annotations

from temporalio import activity

from hybridagent.activity_io import ROUTING_SETUP, RoutingSetup, RoutingSetupRequest
from hybridagent.api.costs import usd_per_mtok
from hybridagent.failures import as_failure
from hybridagent.providers.errors import CircuitOpenError, ProviderError, ProviderUnreachableError
from hybridagent.providers.guarded import guarded_of
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.routing.catalog import Capabilities
from hybridagent.routing.names import ModelRef, UnknownModelError, is_default
from hybridagent.routing.policy import Candidate
from hybridagent.routing.preferences import RoutingSettings

UNKNOWN_CONTEXT = 4096  # Ollama's default context, for a model it cannot describe yet


def _first_sentence(err: Exception) -> str:
    return str(err).split(". ")[0].rstrip(".")


class ModelActivities:
    def __init__(
        self,
        provider: HybridModelProvider,
        routing: RoutingSettings | None = None,
        *,
        cloud_model: str | None = None,
        embedded_context: int = 4096,
    ) -> None:
        self._provider = provider
        self._routing = routing or RoutingSettings()
        self._cloud_model = cloud_model
        self._embedded_context = embedded_context

    def configured_models(self) -> tuple[list[str], list[str]]:
        """(local, cloud) model names in preference order."""
        default = self._provider.default_model
        default_ref = self._provider.resolve(default) if default else None
        local = list(self._routing.local_models) or (
            [default_ref.name] if default_ref and default_ref.is_local else []
        )
        cloud = list(self._routing.cloud_models) or [
            name
            for name in (self._cloud_model, default_ref.name if default_ref else None)
            if name and not self._provider.resolve(name).is_local
        ]
        return local, list(dict.fromkeys(cloud))

    async def _capabilities(self, ref: ModelRef) -> Capabilities:
        """From the backend's spec (providers/registry.py); `candidate` got its model
        first, so the backend exists."""
        spec = self._provider.registry.spec(ref.prefix)
        backend = self._provider.backend(ref.prefix)
        assert spec is not None and backend is not None, ref.name
        return await spec.capabilities(backend, ref.model, served_context=self._embedded_context)

    async def candidate(self, name: str) -> Candidate:
        """The model with its capabilities; raises UnknownModelError or ProviderError when
        it cannot be used (no key, backend down, model missing)."""
        ref = self._provider.resolve(name)
        model = self._provider.get_model(ref.name)
        guarded = guarded_of(model)
        if guarded is not None and guarded.circuits is not None:
            wait = guarded.circuits.blocked(guarded.circuit_key)
            if wait is not None:
                raise CircuitOpenError(
                    f"circuit open after repeated failures, retried in {wait:.0f} s"
                )
        caps = await self._capabilities(ref)
        return Candidate(
            ref.name,
            ref.is_local,
            caps.context_window,
            tools=caps.tools,
            structured_output=caps.structured_output,
            vision=caps.vision,
            usd_per_mtok=self._price(ref),
        )

    def _price(self, ref: ModelRef) -> float | None:
        """The model's price for latency_preference=cost, recorded with the setup so a
        replay compares the prices the run saw, whatever LiteLLM's map says later."""
        return usd_per_mtok(ref.name, self._provider.names)

    async def configured_candidate(self, name: str) -> Candidate:
        """A configured model, marked unavailable (with the reason) when it cannot be used:
        the router then chooses among the others."""
        try:
            return await self.candidate(name)
        except (UnknownModelError, ProviderError) as err:
            ref = self._provider.resolve(name)
            return Candidate(
                ref.name, ref.is_local, 0, available=False, unavailable_reason=_first_sentence(err)
            )

    async def requested_candidate(self, name: str | None) -> Candidate:
        """The model the run names. One the worker cannot use (no key, no such model,
        circuit open) is unavailable with its reason: the router fails a strict run with
        it, or replaces the model and says so in the run's notice (workflows/call_router.py). A
        backend that does not answer may still be starting: the model-call activity finds
        out, retried by its retry policy and visible in the history. A name no backend
        can mean (unknown prefix or local alias) fails the run."""
        ref = self._provider.resolve(name)
        try:
            return await self.candidate(ref.name)
        except ProviderUnreachableError:
            return Candidate(
                ref.name,
                ref.is_local,
                context_window=UNKNOWN_CONTEXT,
                usd_per_mtok=self._price(ref),
            )
        except ProviderError as err:
            return Candidate(
                ref.name, ref.is_local, 0, available=False, unavailable_reason=_first_sentence(err)
            )

    @activity.defn(name=ROUTING_SETUP)
    async def routing_setup(self, request: RoutingSetupRequest) -> RoutingSetup:
        """Candidates with their capabilities and availability, thresholds, extra terms
        and the agent's configured preferences. Idempotent: reads configuration and asks
        Ollama's /api/show."""
        requested: Candidate | None = None
        try:
            if not is_default(request.requested):
                requested = await self.requested_candidate(request.requested)
            local, cloud = self.configured_models()
            if not (requested or local or cloud):
                self._provider.resolve(None)  # raises: no model at all, and why
        except (UnknownModelError, ProviderError) as err:
            raise as_failure(err) from err
        chained = [name for chain in self._routing.fallbacks.values() for name in chain]
        others = [
            n
            for n in dict.fromkeys(local + cloud + chained)
            if not requested or n != requested.name
        ]
        routing = self._routing
        return RoutingSetup(
            candidates=[
                *([requested] if requested else []),
                *[await self.configured_candidate(name) for name in others],
            ],
            requested=requested.name if requested else None,
            requested_is_local=requested.local if requested else False,
            **routing.thresholds().model_dump(),
            agent_preferences=routing.agents.get(request.agent),
            terms=routing.terms,
            patterns=routing.patterns,
            privacy=routing.privacy,
            fallbacks=routing.fallbacks,
            response_cache=self._provider.cache is not None,
        )
