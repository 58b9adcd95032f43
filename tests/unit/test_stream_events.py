"""A finished ModelResponse replayed as stream events is enough for a streamed run."""

from __future__ import annotations

from agents import Agent, RunConfig, Runner

from hybridagent.testing.scripted_model import ScriptedModel, text_response


async def test_a_streamed_run_on_a_model_that_answers_whole() -> None:
    model = ScriptedModel(lambda n: text_response("whole answer", input_tokens=7))
    result = Runner.run_streamed(
        Agent(name="a", model=model), "hi", run_config=RunConfig(tracing_disabled=True)
    )
    kinds = [event.type async for event in result.stream_events()]
    assert result.final_output == "whole answer"
    assert result.context_wrapper.usage.input_tokens == 7
    assert "raw_response_event" in kinds
