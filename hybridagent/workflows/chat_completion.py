"""ChatCompletionWorkflow: one OpenAI-style chat completion as a durable workflow, so a
call through the HTTP API is routed, privacy-pinned, cached and falls back like every
other run (`hybridagent serve`, docs/api.md).

The client's tools are the client's: the model may call them, and its calls come back as
the completion's `tool_calls` for the client to run, as OpenAI's API does. The workflow
never runs them (they stop the run at the first call).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.contrib.workflow_streams import WorkflowStream
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from agents import Agent, FunctionTool, ModelSettings, RunContextWrapper
    from pydantic import ValidationError

    from hybridagent.agents.build import build_agent
    from hybridagent.agents.spec import DEFAULT_INSTRUCTIONS, AgentSpec
    from hybridagent.failures import INVALID_WORKFLOW_INPUT
    from hybridagent.routing.names import UnknownModelError, parse_model_name
    from hybridagent.workflows.agent_workflow import start_agent_run
    from hybridagent.workflows.call_router import CallRouter
    from hybridagent.workflows.completion_io import (
        CallRoute,
        ClientTool,
        CompletionError,
        CompletionInput,
        CompletionOutput,
        Notice,
        Route,
        completion_notices,
        from_output_items,
        output_text,
        to_input_items,
    )
    from hybridagent.workflows.io import AgentRunInput, RawInput, RoutingRecord, parse_input
    from hybridagent.workflows.run_agent import can_stream, first_model, run_built_agent

COMPLETION_AGENT = "completion"

# Every HTTP completion is one short run of this workflow, and the sandbox's fixed cost
# per run (re-executing this module and its restricted imports, then entering the
# sandbox on every activation and payload) was ~3-4 ms of a ~30 ms run on the dev server
# (docs/benchmarks.md, issue 14). The code it runs is AgentWorkflow's (start_agent_run,
# run_built_agent, the router), which stays sandboxed, so the sandbox still checks it;
# what runs only here is this module's conversions. The replay tests guard both.
SANDBOXED = False


async def _not_run(context: RunContextWrapper[Any], arguments: str) -> str:
    """A client tool's body: never asked for its result, as the run stops at the call."""
    return ""


def _client_tool(tool: ClientTool) -> FunctionTool:
    return FunctionTool(
        name=tool.function.name,
        description=tool.function.description,
        params_json_schema=tool.function.parameters,
        on_invoke_tool=_not_run,
        strict_json_schema=False,
    )


def _tool_choice(choice: str | dict[str, Any] | None) -> str | None:
    """OpenAI's `tool_choice` as the Agents SDK's: a mode, or the one tool's name."""
    if choice is None or isinstance(choice, str):
        return choice
    function = choice.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str):
        raise CompletionError('tool_choice must be a mode or {"type": "function", ...}.')
    return name


def _route_of(router: CallRouter, model: str) -> Route:
    local = next((c.local for c in router.candidates if c.name == model), False)
    return "local" if local else "cloud"


def _requested_route(router: CallRouter, model: str) -> Route:
    """Where the requested model would have run: a model this worker does not offer is
    told by its name's prefix."""
    if any(c.name == model for c in router.candidates):
        return _route_of(router, model)
    try:
        return "local" if parse_model_name(model).is_local else "cloud"
    except UnknownModelError:
        return "cloud"


def _bad_request(err: Exception) -> ApplicationError:
    message = str(err)
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        message = f"The response_format schema is not usable: {first['msg']}."
    return ApplicationError(message, type=INVALID_WORKFLOW_INPUT, non_retryable=True)


def _agent(request: CompletionInput, spec: AgentSpec, router: CallRouter) -> Agent[Any]:
    agent = build_agent(spec, first_model(router))
    settings = ModelSettings(
        temperature=request.temperature,
        top_p=request.top_p,
        max_tokens=request.max_tokens,
        tool_choice=_tool_choice(request.tool_choice),
    )
    if not request.tools:
        return agent.clone(model_settings=settings)
    return agent.clone(
        tools=[_client_tool(tool) for tool in request.tools],
        tool_use_behavior="stop_on_first_tool",
        model_settings=settings,
    )


@workflow.defn(sandboxed=SANDBOXED)
class ChatCompletionWorkflow:
    def __init__(self) -> None:
        self._router: CallRouter | None = None
        # The model's events while it streams (the chat sessions' topic), for SSE.
        self._stream = WorkflowStream()

    @workflow.query
    def routing_trail(self) -> list[RoutingRecord]:
        return list(self._router.trail) if self._router else []

    @workflow.query
    def current_route(self) -> CallRoute | None:
        """Where the latest model call went: what a streamed answer's headers say."""
        if self._router is None or not self._router.trail:
            return None
        record = self._router.trail[-1]
        if record.model is None:
            return None
        notices = [n.code for n in self._notices(record.model, self._router.notices([]))]
        route = _route_of(self._router, record.model)
        return CallRoute(model=record.model, route=route, notices=notices)

    def _notices(self, answered: str, replaced: list[str]) -> list[Notice]:
        router = self._router
        assert router is not None
        requested = router.requested
        return completion_notices(
            router.trail, requested=requested,
            requested_route=_requested_route(router, requested) if requested else "local",
            answered=answered, replaced=replaced, worker_notes=router.worker_notes,
        )  # fmt: skip

    @workflow.run
    async def run(self, input: RawInput = None) -> CompletionOutput:
        request = parse_input(CompletionInput, input, "ChatCompletionWorkflow", bare="messages")
        try:
            system, items = to_input_items(request.messages)
            spec = None
            if request.agent is None:
                spec = AgentSpec(
                    name=COMPLETION_AGENT,
                    instructions=system or DEFAULT_INSTRUCTIONS,
                    output_schema=request.json_schema,
                )
            _tool_choice(request.tool_choice)
        except (CompletionError, ValidationError) as err:
            raise _bad_request(err) from None
        run = AgentRunInput(
            prompt="-", agent=request.agent, spec=spec, model=request.model,
            routing=request.routing, user=request.user,
        )  # fmt: skip
        resolved, self._router = await start_agent_run(run, items)  # type: ignore[arg-type]
        stream = request.stream and can_stream()
        if request.agent is None:
            agent = _agent(request, resolved.spec, self._router)
            output, result = await run_built_agent(
                agent, items, self._router, max_turns=1, user=request.user,  # type: ignore[arg-type]
                stream=stream,
            )  # fmt: skip
        else:  # the agent with its own tools and handoffs, as an AgentWorkflow runs it
            built = build_agent(resolved.spec, first_model(self._router), resolved.handoffs)
            output, result = await run_built_agent(
                built, items, self._router, user=request.user, stream=stream,  # type: ignore[arg-type]
            )  # fmt: skip
        # A subscriber's long poll is an Update: release it, so the run can end.
        self._stream.detach_pollers()
        text, calls = from_output_items(result.raw_responses[-1].output)
        if request.agent is not None:
            calls = []  # the agent's tools ran on the worker; only its answer goes back
        model = output.models_used[-1]
        return CompletionOutput(
            content=text if calls else output_text(result.final_output),
            tool_calls=calls,
            finish_reason="tool_calls" if calls else "stop",
            model=model,
            route=_route_of(self._router, model),
            usage=output.usage,
            notices=output.notices,
            changes=self._notices(model, output.notices),
        )
