"""AgentWorkflow: run one agent (built-in by name, or an inline spec) on one prompt."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from hybridagent.agents.catalog import get_agent_spec
    from hybridagent.agents.spec import UnknownAgentError
    from hybridagent.workflows.io import (
        AgentRunInput,
        AgentRunOutput,
        RoutingRecord,
        parse_input,
    )
    from hybridagent.workflows.routing_hooks import CallRouter
    from hybridagent.workflows.run_agent import make_router, run_agent


@workflow.defn
class AgentWorkflow:
    def __init__(self) -> None:
        self._router: CallRouter | None = None

    @workflow.query
    def routing_trail(self) -> list[RoutingRecord]:
        """Every routed model call so far: model, reasons, rejected candidates."""
        return list(self._router.trail) if self._router else []

    @workflow.run
    async def run(self, input: AgentRunInput | str | dict[str, Any]) -> AgentRunOutput:
        request = parse_input(AgentRunInput, input, "AgentWorkflow")
        if request.spec is not None:
            spec = request.spec
        else:
            try:
                spec = get_agent_spec(request.agent)
            except UnknownAgentError as err:
                raise ApplicationError(
                    str(err), type="UnknownAgentError", non_retryable=True
                ) from None
        self._router = await make_router(spec, model=request.model, preferences=request.routing)
        return await run_agent(spec, request.prompt, self._router, max_turns=request.max_turns)
