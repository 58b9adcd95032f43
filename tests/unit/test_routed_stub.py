"""RoutedModelStub applies a Route to the activity it calls: the model, the summary, the
fail-fast retry policy and the cache marker. The whole call-and-fallback path runs on
real servers in tests/integration/test_fallback*.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from agents import Agent, ModelResponse, ModelSettings, ModelTracing, Usage
from agents.run import get_default_agent_runner, set_default_agent_runner
from openai.types.responses import ResponseCompletedEvent
from temporalio.common import RetryPolicy
from temporalio.openai_agents import ModelActivityParameters
from temporalio.openai_agents._openai_runner import TemporalOpenAIRunner

from hybridagent.providers.notes import notes_of, with_note
from hybridagent.providers.response_cache import CACHE_MARKER
from hybridagent.providers.wrapper import ModelCall
from hybridagent.routing.policy import Decision
from hybridagent.workflows.call_router import CallRouter, Route
from hybridagent.workflows.routed_stub import RoutedModelStub, streamed_tokens
from tests.unit.test_call_router import router

BASE_RETRY = RetryPolicy(maximum_attempts=4, non_retryable_error_types=["BadRequestError"])


@pytest.fixture
def stub() -> Iterator[RoutedModelStub]:
    before = get_default_agent_runner()
    params = ModelActivityParameters(
        start_to_close_timeout=timedelta(seconds=5), retry_policy=BASE_RETRY
    )
    set_default_agent_runner(TemporalOpenAIRunner(params))
    try:
        yield RoutedModelStub(Agent(name="general", model="local/smollm2"), router())
    finally:
        set_default_agent_runner(before)


def route(*, fail_fast: bool, cacheable: bool) -> Route:
    decision = Decision("openai/gpt-4o", False, ("routed",))
    return Route("openai/gpt-4o", "general · openai/gpt-4o", fail_fast, cacheable, decision)


def model_call(settings: ModelSettings) -> ModelCall:
    return ModelCall(None, "Say hi.", settings, [], None, [], ModelTracing.DISABLED)


def test_a_route_points_the_activity_at_its_model_with_the_decision(
    stub: RoutedModelStub,
) -> None:
    made = stub._call_for(route(fail_fast=True, cacheable=False), model_call(ModelSettings()))
    activity = stub._activity
    assert activity.model_name == stub.model_name == "openai/gpt-4o"
    assert activity.model_params.summary_override == "general · openai/gpt-4o"
    retry = activity.model_params.retry_policy
    assert retry is not None and retry.maximum_attempts == 4
    assert retry.non_retryable_error_types == ["BadRequestError", "ProviderUnreachableError"]
    assert made.model_settings.extra_args is None  # not cacheable: no marker
    # The base parameters stay as the worker set them, for the next route.
    assert stub.model_params.retry_policy is BASE_RETRY


def test_without_an_alternative_a_refusal_is_retried_and_a_cacheable_call_is_marked(
    stub: RoutedModelStub,
) -> None:
    settings = ModelSettings(extra_args={"seed": 1})
    made = stub._call_for(route(fail_fast=False, cacheable=True), model_call(settings))
    retry = stub._activity.model_params.retry_policy
    assert retry is not None and retry.non_retryable_error_types == ["BadRequestError"]
    assert made.model_settings.extra_args == {"seed": 1, CACHE_MARKER: True}
    assert settings.extra_args == {"seed": 1}  # the run's own settings are not changed


def test_a_streamed_call_counts_the_tokens_of_its_completed_event() -> None:
    completed = ResponseCompletedEvent.model_validate(
        {
            "type": "response.completed",
            "sequence_number": 3,
            "response": {
                "id": "r1", "object": "response", "created_at": 0, "model": "m",
                "output": [], "parallel_tool_calls": False, "tool_choice": "auto",
                "tools": [], "status": "completed",
                "usage": {
                    "input_tokens": 7, "output_tokens": 5, "total_tokens": 12,
                    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                    "output_tokens_details": {"reasoning_tokens": 0},
                },
            },
        }
    )  # fmt: skip
    assert streamed_tokens([completed]) == 12
    assert streamed_tokens([]) == 0


async def test_an_answered_call_adds_to_the_runs_tokens_and_models() -> None:
    run: CallRouter = router()
    run.answered("local/smollm2", 30)
    run.answered("local/smollm2", 12)
    assert (run.tokens_used, run.models_used) == (42, ["local/smollm2"])


def test_notes_ride_on_the_response_and_add_up() -> None:
    plain = ModelResponse(output=[], usage=Usage(), response_id=None, request_id="req_1")
    assert notes_of(plain) == []
    both = with_note(with_note(plain, "tool_emulation"), "cache")
    assert notes_of(both) == ["cache", "tool_emulation"]
    assert notes_of(with_note(both, "cache")) == ["cache", "tool_emulation"]
