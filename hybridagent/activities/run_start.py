"""A run's start as one local activity: the agent resolved (when a user file is needed),
the routing setup for its model and the privacy verdict on its prompt, in one marker of
the history instead of three local activities one after the other."""

from __future__ import annotations

from temporalio import activity

from hybridagent.activities.agent_specs import AgentSpecActivities
from hybridagent.activities.models import ModelActivities
from hybridagent.activities.privacy import PrivacyActivities
from hybridagent.activity_io import (
    START_RUN,
    InputPart,
    PrescannedInput,
    PrivacyScanRequest,
    RoutingSetupRequest,
    StartedRun,
    StartRunRequest,
    scan_digest,
)


class RunStartActivities:
    def __init__(
        self, agents: AgentSpecActivities, models: ModelActivities, privacy: PrivacyActivities
    ) -> None:
        self._agents = agents
        self._models = models
        self._privacy = privacy

    @activity.defn(name=START_RUN)
    async def start_run(self, request: StartRunRequest) -> StartedRun:
        """Idempotent, as its three parts are. Fails as they do: an unknown agent or
        model with its one sentence, non-retryable."""
        resolved = await self._agents.resolve_agent(request.resolve) if request.resolve else None
        spec = resolved.spec if resolved else request.spec
        if spec is None:
            raise ValueError("start_run needs the agent's spec or an agent to resolve")
        setup = await self._models.routing_setup(
            RoutingSetupRequest(requested=request.model or spec.model, agent=spec.name)
        )
        prescan = None
        if request.prompt:
            preferences = setup.preferences_for(request.preferences, spec.routing)
            scan = PrivacyScanRequest(
                parts=[InputPart(text=spec.instructions), *request.prompt],
                terms=preferences.terms,
                patterns=preferences.patterns,
                privacy=setup.privacy,
            )
            prescan = PrescannedInput(
                digest=scan_digest(scan), result=await self._privacy.scan_privacy(scan)
            )
        return StartedRun(agent=resolved, setup=setup, prescan=prescan)
