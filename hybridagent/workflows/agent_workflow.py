"""AgentWorkflow: run one agent (built-in or user-defined by name, or an inline spec) on
one prompt."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from hybridagent.activity_io import RESOLVE_AGENT, ResolveAgentRequest
    from hybridagent.agents.catalog import BUILTIN_AGENTS, DEFAULT_AGENT
    from hybridagent.agents.spec import AgentSpec, ResolvedAgent, with_handoffs
    from hybridagent.workflows.call_router import CallRouter
    from hybridagent.workflows.io import (
        AgentRunInput,
        AgentRunOutput,
        RawInput,
        RoutingRecord,
        parse_input,
    )
    from hybridagent.workflows.run_agent import make_router, run_agent, user_facing

RESOLVE_TIMEOUT = timedelta(seconds=10)


def resolve_builtin(request: AgentRunInput) -> ResolvedAgent | None:
    """The agent from the catalog (code, so deterministic) when it and every agent it
    hands off to are built-in; None when a user file is needed."""
    spec: AgentSpec | None = request.spec or BUILTIN_AGENTS.get(request.agent or DEFAULT_AGENT)
    if spec is None:
        return None
    return with_handoffs(spec, BUILTIN_AGENTS.get)


async def resolve_agent_for(request: AgentRunInput) -> ResolvedAgent:
    """The request's agent: from code when built-in, else read by the worker (user agent
    files) through a local activity, so the specs land in the history."""
    builtin = resolve_builtin(request)
    if builtin is not None:
        return builtin
    try:
        resolved: ResolvedAgent = await workflow.execute_local_activity(
            RESOLVE_AGENT,
            ResolveAgentRequest(agent=request.agent, spec=request.spec),
            result_type=ResolvedAgent,
            start_to_close_timeout=RESOLVE_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
    except FailureError as err:
        raise user_facing(err) from None
    return resolved


@workflow.defn
class AgentWorkflow:
    def __init__(self) -> None:
        self._router: CallRouter | None = None

    @workflow.query
    def routing_trail(self) -> list[RoutingRecord]:
        """Every routed model call so far: model, reasons, rejected candidates."""
        return list(self._router.trail) if self._router else []

    @workflow.run
    async def run(self, input: RawInput = None) -> AgentRunOutput:
        request = parse_input(AgentRunInput, input, "AgentWorkflow")
        resolved = await resolve_agent_for(request)
        spec = resolved.spec
        self._router = await make_router(
            spec, model=request.model, preferences=request.routing, strict=request.strict
        )
        return await run_agent(
            spec,
            request.prompt,
            self._router,
            max_turns=request.max_turns,
            handoffs=resolved.handoffs,
            user=request.user,
        )
