"""The plugin's model-call stub with durable fallback.

A model call is an activity; when it fails for good (the retry policy has given up, or
the failure is one no retry fixes) with a failure another model may not have, the
router picks the next model for the same call and the stub calls again. Every attempt,
failed or not, is its own activity in the workflow history, with the decision in its
summary, and the fallback is in the routing trail; the run never sees the failure.
The privacy rule holds for fallbacks too: the router only offers models the policy
allows, so a privacy-pinned call never falls back to the cloud.

Builds on `_TemporalModelStub` (private in temporalio-openai-agents 1.1.0): the plugin
leaves agents whose model already is such a stub alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from agents import Agent, ModelResponse, ModelSettings
from agents.run import get_default_agent_runner
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError
from temporalio.openai_agents._openai_runner import TemporalOpenAIRunner
from temporalio.openai_agents._temporal_model_stub import _TemporalModelStub

from hybridagent.failures import ACTIVITY_TIMEOUT, failure_cause
from hybridagent.providers.errors import FALLBACK_ACTION
from hybridagent.providers.response_cache import CACHE_MARKER
from hybridagent.workflows.routing_hooks import CallRouter

# A failed regular activity raises ActivityError with the failure as its cause; a failed
# local activity raises the failure itself (ApplicationError, or TimeoutError).
MODEL_CALL_FAILURES = (ActivityError, ApplicationError, TimeoutError)


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


class RoutedModelStub(_TemporalModelStub):
    def __init__(self, agent: Agent[Any], router: CallRouter) -> None:
        runner = get_default_agent_runner()
        if not isinstance(runner, TemporalOpenAIRunner):
            raise RuntimeError("RoutedModelStub runs in workflows of a worker with the plugin.")
        name = agent.model if isinstance(agent.model, str) else None
        super().__init__(name, model_params=runner.model_params, agent=agent)
        self.router = router
        self.cacheable = False  # set by the router for each call

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        while True:
            try:
                marked_args, marked_kwargs = _marked(args, kwargs, self.cacheable)
                return await super().get_response(*marked_args, **marked_kwargs)
            except MODEL_CALL_FAILURES as err:
                self._fall_back(err)

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """The streaming activity returns its events only once the call has finished,
        so a failed call falls back exactly as in `get_response` before the run sees
        any of its events (a stream subscriber outside may have seen some)."""
        while True:
            try:
                events = [event async for event in super().stream_response(*args, **kwargs)]
            except MODEL_CALL_FAILURES as err:
                self._fall_back(err)
                continue
            for event in events:
                yield event
            return

    def _fall_back(self, err: BaseException) -> None:
        """Switch this stub to the router's next model for the call, or re-raise."""
        failure, action = classify(err)
        if action == "fail":
            raise err
        assert self.agent is not None
        decision = self.router.fallback(
            self, self.agent.name, failure, larger=action == "larger", detail=failure_detail(err)
        )
        if decision.model is None:
            # Nothing allowed is left: the run fails with the model's own error;
            # the trail says which models were rejected and why.
            raise err


def _marked(
    args: tuple[Any, ...], kwargs: dict[str, Any], cacheable: bool
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """`get_response` arguments with the model settings marked cacheable; the SDK passes
    them by keyword, other callers may pass them third in line."""
    if not cacheable:
        return args, kwargs

    def mark(settings: ModelSettings) -> ModelSettings:
        extra = {**(settings.extra_args or {}), CACHE_MARKER: True}
        return dataclasses.replace(settings, extra_args=extra)

    if "model_settings" in kwargs:
        return args, {**kwargs, "model_settings": mark(kwargs["model_settings"])}
    return (*args[:2], mark(args[2]), *args[3:]), kwargs


def with_routed_models(agent: Agent[Any], router: CallRouter) -> Agent[Any]:
    """`agent` with its model (and its handoff agents' models) replaced by routed stubs."""
    original = dataclasses.replace(agent)
    routed = dataclasses.replace(agent, model=RoutedModelStub(original, router))
    routed.handoffs = [
        with_routed_models(h, router) if isinstance(h, Agent) else h for h in agent.handoffs
    ]
    return routed
