"""The one way our workflows run an agent: resolve the model on the worker (or route
every call when a router is given), run the agent with the plugin, and turn failures
into one-sentence, non-retryable errors.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from agents import Agent, AgentsException, RunContextWrapper, RunHooks, Runner

    from hybridagent.activities.models import ModelActivities, ResolvedModel
    from hybridagent.agents.build import build_agent
    from hybridagent.agents.spec import AgentSpec, UnknownAgentError
    from hybridagent.workflows.io import AgentRunOutput, RoutingPreferences, TokenUsage
    from hybridagent.workflows.routing_hooks import CallRouter

RESOLVE_TIMEOUT = timedelta(seconds=30)


class _RunHooks(RunHooks[Any]):
    """Routes each model call when a router is given; collects the models used."""

    def __init__(self, router: CallRouter | None) -> None:
        self.router = router
        self.models: list[str] = []

    async def on_llm_start(
        self,
        context: RunContextWrapper[Any],
        agent: Agent[Any],
        system_prompt: str | None,
        input_items: list[Any],
    ) -> None:
        if self.router is not None:
            self.router.route(agent, system_prompt, input_items, context.usage.total_tokens)

    async def on_llm_end(
        self, context: RunContextWrapper[Any], agent: Agent[Any], response: Any
    ) -> None:
        # Inside the plugin the agent's model is a stub that carries the name.
        model = agent.model
        name = model if isinstance(model, str) else str(getattr(model, "model_name", model))
        if name not in self.models:
            self.models.append(name)


async def resolve_model(requested: str | None) -> ResolvedModel:
    try:
        return await workflow.execute_local_activity_method(
            ModelActivities.resolve_model,
            requested,
            start_to_close_timeout=RESOLVE_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
    except ActivityError as err:
        raise user_facing(err) from None


def user_facing(err: FailureError) -> ApplicationError:
    """The first ApplicationError under the Temporal wrappers: the sentence the user needs.

    Deeper causes are transport details (httpx's ConnectError under our
    ProviderUnreachableError), kept in the history but not shown.
    """
    cause: BaseException | None = err
    found: ApplicationError | None = None
    while cause is not None:
        if isinstance(cause, ApplicationError):
            found = cause
            break
        if isinstance(cause, TimeoutError):
            return ApplicationError(
                f"A model or tool call timed out ({cause.type.name if cause.type else 'timeout'}) "
                "on every attempt the retry policy allowed.",
                type="ActivityTimeout",
                non_retryable=True,
            )
        cause = cause.__cause__
    if found is None:
        return ApplicationError(str(err), type=type(err).__name__, non_retryable=True)
    return ApplicationError(found.message, type=found.type, non_retryable=True)


async def make_router(preferences: RoutingPreferences) -> CallRouter:
    """Fetch the worker's candidate models (recorded in history) and build the router."""
    candidates = await workflow.execute_local_activity_method(
        ModelActivities.routing_candidates,
        start_to_close_timeout=RESOLVE_TIMEOUT,
        retry_policy=RetryPolicy(maximum_attempts=3),
    )
    return CallRouter(preferences, candidates)


async def run_agent(
    spec: AgentSpec,
    prompt: str,
    *,
    model: str | None,
    max_turns: int = 10,
    local_only: bool = False,
    router: CallRouter | None = None,
) -> AgentRunOutput:
    if router is not None and router.candidates:
        # Each call's model is chosen by the router; this is only the starting name.
        first = router.candidates[0]
        resolved = ResolvedModel(name=first.name, is_local=first.local)
    else:
        resolved = await resolve_model(model or spec.model)
    if local_only and not resolved.is_local:
        raise ApplicationError(
            f"This workflow runs on local models only, and {resolved.name} is a cloud model.",
            type="LocalModelRequired",
            non_retryable=True,
        )
    try:
        agent = build_agent(spec, resolved.name)
    except UnknownAgentError as err:
        raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from None
    hooks = _RunHooks(router)
    try:
        result = await Runner.run(agent, prompt, max_turns=max_turns, hooks=hooks)
    except FailureError as err:
        raise user_facing(err) from None
    except AgentsException as err:
        raise ApplicationError(str(err), type=type(err).__name__, non_retryable=True) from None
    usage = result.context_wrapper.usage
    output = result.final_output
    return AgentRunOutput(
        final_output=output if isinstance(output, str) else str(output),
        agent=spec.name,
        models_used=hooks.models or [resolved.name],
        usage=TokenUsage(
            requests=usage.requests,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
        ),
    )
