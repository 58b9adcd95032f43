"""AgentWorkflow: run one agent (built-in by name, or an inline spec) on one prompt."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from hybridagent.agents.catalog import get_agent_spec
    from hybridagent.agents.spec import UnknownAgentError
    from hybridagent.workflows.io import AgentRunInput, AgentRunOutput, parse_input
    from hybridagent.workflows.run_agent import run_agent


@workflow.defn
class AgentWorkflow:
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
        return await run_agent(
            spec, request.prompt, model=request.model, max_turns=request.max_turns
        )
