"""The plugin's model-call stub, routed: it decides, calls and falls back.

Before each call the stub hands the router the call's input (`RoutedCall`) and gets a
`Route`: the model, the activity's summary, whether to fail fast, whether the worker
may answer from its cache. When the call fails for good (the retry policy has given up,
or the failure is one no retry fixes) with a failure another model may not have, the
router picks the next model for the same call and the stub calls again. Every attempt,
failed or not, is its own activity in the workflow history, with the decision in its
summary, and the fallback is in the routing trail; the run never sees the failure.
The privacy rule holds for fallbacks too: the router only offers models the policy
allows, so a privacy-pinned call never falls back to the cloud.

Subclasses `_TemporalModelStub` (private in temporalio-openai-agents 1.1.0): the plugin
leaves agents whose model already is such a stub alone. The activity calls themselves go
through a plain stub the routed one points at each route's model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agents import Agent, ModelResponse, ModelSettings
from agents.items import TResponseStreamEvent
from agents.run import get_default_agent_runner
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError
from temporalio.openai_agents._openai_runner import TemporalOpenAIRunner
from temporalio.openai_agents._temporal_model_stub import _TemporalModelStub

from hybridagent.failures import ACTIVITY_TIMEOUT, failure_cause
from hybridagent.providers.errors import FALLBACK_ACTION
from hybridagent.providers.notes import EMULATED_STREAM_MODEL, Note, notes_of
from hybridagent.providers.response_cache import CACHE_MARKER
from hybridagent.providers.wrapper import CallModel, ModelCall
from hybridagent.workflows.call_router import CallRouter, NoFallback, Route, RoutedCall

# A failed regular activity raises ActivityError with the failure as its cause; a failed
# local activity raises the failure itself (ApplicationError, or TimeoutError).
MODEL_CALL_FAILURES = (ActivityError, ApplicationError, TimeoutError)

# Retried on the same model only when no other model could take the call.
FAIL_FAST_WHEN_ALTERNATIVE = ("ProviderUnreachableError",)


def classify(err: BaseException) -> tuple[str, str]:
    """(failure type, action) for a failed model-call activity: see FALLBACK_ACTION."""
    cause = failure_cause(err)
    if isinstance(cause, ApplicationError):
        kind = cause.type or "ApplicationError"
        return kind, FALLBACK_ACTION.get(kind, "fail")
    if isinstance(cause, TimeoutError):
        return ACTIVITY_TIMEOUT, FALLBACK_ACTION[ACTIVITY_TIMEOUT]
    return type(err).__name__, "fail"


def failure_detail(err: BaseException) -> str:
    """The failed call's own sentence (for the run's notice), without the wrappers."""
    cause = failure_cause(err)
    if isinstance(cause, TimeoutError):
        return "no answer within the call's timeout"
    return str(err) if cause is None else cause.message


class RoutedModelStub(CallModel, _TemporalModelStub):
    def __init__(self, agent: Agent[Any], router: CallRouter) -> None:
        runner = get_default_agent_runner()
        if not isinstance(runner, TemporalOpenAIRunner):
            raise RuntimeError("RoutedModelStub runs in workflows of a worker with the plugin.")
        name = agent.model if isinstance(agent.model, str) else None
        _TemporalModelStub.__init__(self, name, model_params=runner.model_params, agent=agent)
        self.router = router
        self._retry = runner.model_params.retry_policy or RetryPolicy()
        # Makes the activity calls; pointed at each route's model before its call.
        self._activity = _TemporalModelStub(name, model_params=runner.model_params, agent=agent)

    async def respond(self, call: ModelCall) -> ModelResponse:
        route = await self.router.route(self._routed(call))
        while True:
            try:
                response = await self._call_for(route, call).answer_from(self._activity)
            except MODEL_CALL_FAILURES as err:
                route = self._fall_back(route, err)
                continue
            self.router.answered(route.model, response.usage.total_tokens, notes_of(response))
            return response

    async def stream(self, call: ModelCall) -> AsyncIterator[TResponseStreamEvent]:
        """The streaming activity returns its events only once the call has finished,
        so a failed call falls back exactly as in `respond` before the run sees any of
        its events (a stream subscriber outside may have seen some). Streamed calls are
        never answered from the cache."""
        route = await self.router.route(self._routed(call))
        while True:
            self._point_at(route)
            try:
                events = [event async for event in call.stream_from(self._activity)]
            except MODEL_CALL_FAILURES as err:
                route = self._fall_back(route, err)
                continue
            self.router.answered(route.model, streamed_tokens(events), streamed_notes(events))
            for event in events:
                yield event
            return

    def _routed(self, call: ModelCall) -> RoutedCall:
        items = call.input
        return RoutedCall(
            agent=self._agent_name,
            system_prompt=call.system_instructions,
            items=[{"role": "user", "content": items}] if isinstance(items, str) else items,
            tools=len(call.tools) + len(call.handoffs),
            needs_schema=call.output_schema is not None,
        )

    @property
    def _agent_name(self) -> str:
        assert self.agent is not None
        return self.agent.name

    def _point_at(self, route: Route) -> None:
        """The activity stub calls `route.model`, with the decision as its summary."""
        retry = self._retry
        if route.fail_fast:
            # Another model can take the call: a backend that refuses connections is
            # not worth the retry backoff — fall back at once.
            retry = dataclasses.replace(
                retry,
                non_retryable_error_types=[
                    *(retry.non_retryable_error_types or []),
                    *FAIL_FAST_WHEN_ALTERNATIVE,
                ],
            )
        self.model_name = self._activity.model_name = route.model
        self._activity.model_params = dataclasses.replace(
            self.model_params, summary_override=route.summary, retry_policy=retry
        )

    def _call_for(self, route: Route, call: ModelCall) -> ModelCall:
        """`call`, made on `route`: its settings marked cacheable when the route allows."""
        self._point_at(route)
        if not route.cacheable:
            return call
        settings: ModelSettings = call.model_settings
        extra = {**(settings.extra_args or {}), CACHE_MARKER: True}
        marked = dataclasses.replace(settings, extra_args=extra)
        return dataclasses.replace(call, model_settings=marked)

    def _fall_back(self, route: Route, err: BaseException) -> Route:
        """The router's next route for the call that failed with `err`, or re-raise."""
        failure, action = classify(err)
        if action == "fail":
            raise err
        following = self.router.fallback(
            self._agent_name,
            route.model,
            failure,
            larger=action == "larger",
            detail=failure_detail(err),
        )
        if isinstance(following, NoFallback):
            # Nothing allowed is left: the run fails with the model's own error;
            # the trail says which models were rejected and why.
            raise err
        return following


def streamed_tokens(events: Sequence[TResponseStreamEvent]) -> int:
    """The total tokens a streamed call reports in its completed event (as the SDK
    counts them for the run's usage)."""
    for event in reversed(events):
        if event.type == "response.completed":
            usage = event.response.usage
            return usage.total_tokens if usage else 0
    return 0


def streamed_notes(events: Sequence[TResponseStreamEvent]) -> list[Note]:
    """A streamed call is never cached; its tool calls were emulated when the stream was
    built from the whole emulated answer."""
    for event in reversed(events):
        if event.type == "response.completed":
            return ["tool_emulation"] if event.response.model == EMULATED_STREAM_MODEL else []
    return []


def with_routed_models(agent: Agent[Any], router: CallRouter) -> Agent[Any]:
    """`agent` with its model (and its handoff agents' models) replaced by routed stubs."""
    original = dataclasses.replace(agent)
    routed = dataclasses.replace(agent, model=RoutedModelStub(original, router))
    routed.handoffs = [
        with_routed_models(h, router) if isinstance(h, Agent) else h for h in agent.handoffs
    ]
    return routed
