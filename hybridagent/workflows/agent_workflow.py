"""AgentWorkflow: run one agent (built-in or user-defined by name, or an inline spec) on
one prompt."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.contrib.workflow_streams import WorkflowStream
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from agents import TResponseInputItem

    from hybridagent.activity_io import (
        RESOLVE_AGENT,
        START_RUN,
        ResolveAgentRequest,
        StartedRun,
        StartRunRequest,
    )
    from hybridagent.agents.catalog import BUILTIN_AGENTS, DEFAULT_AGENT
    from hybridagent.agents.spec import AgentSpec, ResolvedAgent, with_handoffs
    from hybridagent.workflows.call_router import CallRouter, prompt_parts
    from hybridagent.workflows.io import (
        AgentRunInput,
        AgentRunOutput,
        RawInput,
        RoutingRecord,
        parse_input,
    )
    from hybridagent.workflows.run_agent import (
        SETUP_TIMEOUT,
        can_stream,
        local_activity,
        make_router,
        router_for,
        run_agent,
        user_facing,
    )

RESOLVE_TIMEOUT = timedelta(seconds=10)
# Runs started since this patch begin with one local activity (start_run) instead of
# resolve_agent (for user agents), routing_setup and the first scan_privacy; histories
# recorded before it replay the way they ran.
ONE_START_ACTIVITY = "start-run-in-one-local-activity"


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
        resolve = ResolveAgentRequest(agent=request.agent, spec=request.spec)
        resolved = await local_activity(RESOLVE_AGENT, resolve, ResolvedAgent, RESOLVE_TIMEOUT)
    except FailureError as err:
        raise user_facing(err) from None
    return resolved


async def start_agent_run(
    request: AgentRunInput, prompt: str | list[TResponseInputItem]
) -> tuple[ResolvedAgent, CallRouter]:
    """The request's agent and the router of its run, whose first call is `prompt`."""
    builtin = resolve_builtin(request)
    if not workflow.patched(ONE_START_ACTIVITY):
        resolved = builtin or await resolve_agent_for(request)
        router = await make_router(
            resolved.spec, model=request.model, preferences=request.routing,
            strict=request.strict,
        )  # fmt: skip
        return resolved, router
    items: list[TResponseInputItem] = (
        [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
    )
    start = StartRunRequest(
        spec=builtin.spec if builtin else None,
        resolve=None if builtin else ResolveAgentRequest(agent=request.agent, spec=request.spec),
        model=request.model,
        preferences=request.routing,
        prompt=prompt_parts(items),
    )
    try:
        started = await local_activity(START_RUN, start, StartedRun, SETUP_TIMEOUT)
    except FailureError as err:
        raise user_facing(err) from None
    agent = started.agent or builtin
    assert agent is not None  # the worker resolved it when the workflow could not
    router = router_for(
        started.setup, agent.spec, preferences=request.routing, strict=request.strict,
        prescan=started.prescan,
    )  # fmt: skip
    return agent, router


@workflow.defn
class AgentWorkflow:
    def __init__(self) -> None:
        self._router: CallRouter | None = None
        # With `stream` in the input, the model's events while it streams (the chat
        # sessions' topic), for the runs API's SSE. Registers handlers only: no commands.
        self._stream = WorkflowStream()

    @workflow.query
    def routing_trail(self) -> list[RoutingRecord]:
        """Every routed model call so far: model, reasons, rejected candidates."""
        return list(self._router.trail) if self._router else []

    @workflow.run
    async def run(self, input: RawInput = None) -> AgentRunOutput:
        request = parse_input(AgentRunInput, input, "AgentWorkflow")
        resolved, self._router = await start_agent_run(request, request.prompt)
        spec = resolved.spec
        try:
            return await run_agent(
                spec,
                request.prompt,
                self._router,
                max_turns=request.max_turns,
                handoffs=resolved.handoffs,
                user=request.user,
                stream=request.stream and can_stream(),
            )
        finally:
            # A subscriber's long poll is an Update: release it, so the run can end.
            self._stream.detach_pollers()
