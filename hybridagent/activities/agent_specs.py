"""Resolving an agent for a workflow: the worker reads user agent files, the workflow
gets the specs as this activity's result, recorded in its history, so replay never
reads a file and a later edit does not change a running agent.
"""

from __future__ import annotations

from pathlib import Path

from temporalio import activity

from hybridagent.activity_io import RESOLVE_AGENT, ResolveAgentRequest
from hybridagent.agents.catalog import DEFAULT_AGENT
from hybridagent.agents.files import AgentStore
from hybridagent.agents.spec import (
    InvalidAgentSpecError,
    ResolvedAgent,
    UnknownAgentError,
)
from hybridagent.failures import as_failure


class AgentSpecActivities:
    def __init__(self, agents_dir: Path) -> None:
        self.store = AgentStore(agents_dir)

    @activity.defn(name=RESOLVE_AGENT)
    async def resolve_agent(self, request: ResolveAgentRequest) -> ResolvedAgent:
        """Read-only, so retries are harmless; a missing or bad file is non-retryable."""
        try:
            spec = request.spec or self.store.load(request.agent or DEFAULT_AGENT)
            return self.store.resolve(spec)
        except (UnknownAgentError, InvalidAgentSpecError) as err:
            raise as_failure(err) from None
