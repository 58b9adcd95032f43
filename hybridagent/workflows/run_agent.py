"""The one way our workflows run an agent: fetch the worker's routing setup, route
every model call, run the agent with the plugin, and turn failures into one-sentence,
non-retryable errors.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    TimeoutError,
    is_cancelled_exception,
)
from temporalio.openai_agents import AgentsWorkflowError

with workflow.unsafe.imports_passed_through():
    from agents import (
        Agent,
        AgentsException,
        ModelSettings,
        Runner,
        TResponseInputItem,
    )
    from agents.result import RunResultBase
    from agents.run import get_default_agent_runner

    from hybridagent.activity_io import (
        ROUTING_SETUP,
        SCAN_PRIVACY,
        PrescannedInput,
        PrivacyScanRequest,
        PrivacyScanResult,
        RoutingSetup,
        RoutingSetupRequest,
    )
    from hybridagent.agents.build import build_agent
    from hybridagent.agents.spec import AgentSpec, UnknownAgentError
    from hybridagent.agents.storage_tools import ToolUser
    from hybridagent.failures import (
        ACTIVITY_TIMEOUT,
        LOCAL_MODEL_REQUIRED,
        NO_MODEL_FOR_CALL,
        as_failure,
        failure_cause,
    )
    from hybridagent.routing.preferences import RoutingPreferences
    from hybridagent.workflows.call_router import CallRouter
    from hybridagent.workflows.io import AgentRunOutput, TokenUsage
    from hybridagent.workflows.routed_stub import with_routed_models

SETUP_TIMEOUT = timedelta(seconds=30)
SCAN_TIMEOUT = timedelta(seconds=30)

T = TypeVar("T", bound=BaseModel)


async def local_activity(
    name: str, request: BaseModel, result_type: type[T], timeout: timedelta
) -> T:
    """One of the worker's quick local activities of a run (start, setup, scan, agent
    resolution): read-only, so a few attempts are safe; their failures are final."""
    result: T = await workflow.execute_local_activity(
        name,
        request,
        result_type=result_type,
        start_to_close_timeout=timeout,
        retry_policy=RetryPolicy(maximum_attempts=3),
    )
    return result


def user_facing(err: FailureError) -> ApplicationError:
    """The failure under the Temporal wrappers (failure_cause), final: the sentence the
    user needs."""
    found = failure_cause(err)
    if isinstance(found, TimeoutError):
        return ApplicationError(
            f"A model or tool call timed out ({found.type.name if found.type else 'timeout'}) "
            "on every attempt the retry policy allowed.",
            type=ACTIVITY_TIMEOUT,
            non_retryable=True,
        )
    if found is None:
        return as_failure(err)
    return ApplicationError(found.message, type=found.type, non_retryable=True)


async def make_router(
    spec: AgentSpec,
    *,
    model: str | None,
    preferences: RoutingPreferences | None = None,
    local_only: bool = False,
    strict: bool = False,
) -> CallRouter:
    """Ask the worker for the run's routing setup (recorded in history) and build the
    router. Preferences, most specific first: the request's, the spec's, the
    configuration's for this agent; terms and patterns of all of them add up.
    `strict`: a requested model that cannot take a call fails the run instead of being
    replaced with a notice (call_router.py)."""
    try:
        request = RoutingSetupRequest(requested=model or spec.model, agent=spec.name)
        setup = await local_activity(ROUTING_SETUP, request, RoutingSetup, SETUP_TIMEOUT)
    except ActivityError as err:
        raise user_facing(err) from None
    return router_for(setup, spec, preferences=preferences, local_only=local_only, strict=strict)


def router_for(
    setup: RoutingSetup,
    spec: AgentSpec,
    *,
    preferences: RoutingPreferences | None = None,
    local_only: bool = False,
    strict: bool = False,
    prescan: PrescannedInput | None = None,
) -> CallRouter:
    """The run's router from its routing setup (see make_router)."""
    if local_only and setup.requested and not setup.requested_is_local:
        raise ApplicationError(
            f"This workflow runs on local models only, and {setup.requested} is a cloud model.",
            type=LOCAL_MODEL_REQUIRED,
            non_retryable=True,
        )
    merged = setup.preferences_for(preferences, spec.routing)
    if local_only:
        merged = merged.model_copy(update={"force_provider": "local"})
    return CallRouter(merged, setup, scan_privacy, strict=strict, prescan=prescan)


async def scan_privacy(request: PrivacyScanRequest) -> PrivacyScanResult:
    """The privacy verdict on new input parts, recorded in the history (a marker)."""
    return await local_activity(SCAN_PRIVACY, request, PrivacyScanResult, SCAN_TIMEOUT)


def first_model(router: CallRouter) -> str:
    """The model the run's agents are built with, before their first call is routed."""
    first = router.first_model
    if first is None:
        raise ApplicationError(
            "No model is configured on this worker.", type=NO_MODEL_FOR_CALL, non_retryable=True
        )
    return first[0]


# The memo field naming the API key that started a run (the HTTP API sets it:
# api/runs_common.py's OWNER); the key owns the run, its usage and its children.
API_KEY_MEMO = "api_key"


def api_key_memo() -> dict[str, Any]:
    """The run's API key as a memo, empty when no key started it: what a session keeps
    across continue-as-new, and what a child workflow starts with, so the ledger and
    the key's budget count the child's calls as the key's and the key can read it."""
    key = workflow.memo_value(API_KEY_MEMO, None)
    return {API_KEY_MEMO: key} if isinstance(key, str) and key else {}


def caller_of(user: str) -> str:
    """Who the run's model calls are for, in the usage ledger: the API key that started
    the run (its name, in the memo the HTTP API sets), else the run's `user`."""
    key = api_key_memo().get(API_KEY_MEMO)
    return f"key:{key}" if key else f"user:{user}"


async def run_agent(
    spec: AgentSpec,
    prompt: str | list[TResponseInputItem],
    router: CallRouter,
    *,
    max_turns: int = 10,
    handoffs: list[AgentSpec] | None = None,
    user: str = "default",
    stream: bool = False,
) -> AgentRunOutput:
    """Every model call of the run is routed by `router`, through the agent's routed
    model stubs (routed_stub.py).
    `handoffs`: the specs of the agents `spec` can hand off to (ResolvedAgent).
    `stream`: model calls run as the plugin's streaming activity, which publishes the
    model's events to the workflow's stream while the call runs (see can_stream)."""
    try:
        agent = build_agent(spec, first_model(router), handoffs)
    except UnknownAgentError as err:
        raise as_failure(err) from None
    output, _ = await run_built_agent(
        agent, prompt, router, max_turns=max_turns, user=user, stream=stream
    )
    return output


async def run_built_agent(
    agent: Agent[Any],
    prompt: str | list[TResponseInputItem],
    router: CallRouter,
    *,
    max_turns: int = 10,
    user: str = "default",
    stream: bool = False,
) -> tuple[AgentRunOutput, RunResultBase]:
    """run_agent for an agent built by the caller (see build_agent); also returns the
    SDK's result, for callers that read its items."""
    first = first_model(router)
    router.caller = caller_of(user)
    agent = with_routed_models(agent, router)
    calls_before = len(router.trail)
    try:
        result: RunResultBase
        if stream:
            # Streamed chat completions report token usage only when asked to.
            agent.model_settings = agent.model_settings.resolve(ModelSettings(include_usage=True))
            streamed = Runner.run_streamed(
                agent, prompt, max_turns=max_turns, context=ToolUser(user)
            )
            async for _ in streamed.stream_events():
                pass  # subscribers read the model's events from the workflow's stream
            result = streamed
        else:
            result = await Runner.run(agent, prompt, max_turns=max_turns, context=ToolUser(user))
    except FailureError as err:
        if is_cancelled_exception(err):
            raise  # the run was cancelled: it ends cancelled, not failed
        raise user_facing(err) from None
    except AgentsWorkflowError as err:
        # The plugin's wrapper around a failed tool activity: tell its own sentence.
        if isinstance(err.__cause__, FailureError):
            if is_cancelled_exception(err.__cause__):
                raise err.__cause__ from None
            raise user_facing(err.__cause__) from None
        raise
    except AgentsException as err:
        raise as_failure(err) from None
    usage = result.context_wrapper.usage
    output = result.final_output
    structured = output if isinstance(output, dict) else None
    models_used = router.models_used or [first]
    output_record = AgentRunOutput(
        final_output=(
            output
            if isinstance(output, str)
            else json.dumps(output, ensure_ascii=False)
            if structured is not None
            else str(output)
        ),  # fmt: skip
        structured_output=structured,
        agent=result.last_agent.name,
        models_used=models_used,
        notices=router.notices(models_used),
        usage=TokenUsage(
            requests=usage.requests,
            calls=len(router.trail) - calls_before,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
        ),
    )
    return output_record, result


def can_stream() -> bool:
    """Whether this worker's plugin runs streamed model calls: they need a stream topic
    and regular activities (a local activity can neither heartbeat nor signal)."""
    runner = get_default_agent_runner()
    params = getattr(runner, "model_params", None)
    return bool(params and params.streaming_topic and not params.use_local_activity)
