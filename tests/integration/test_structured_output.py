"""Structured output on the real embedded SmolLM2: the schema-constrained answer must be
a validated object of the agent's `output_type`, with and without tools."""

from __future__ import annotations

from agents import Agent, RunConfig, Runner, function_tool
from pydantic import BaseModel

from hybridagent.providers.embedded import EmbeddedBackend

NO_TRACING = RunConfig(tracing_disabled=True)


class CityWeather(BaseModel):
    city: str
    sunny: bool


@function_tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"It is sunny in {city}."


async def test_embedded_model_fills_the_output_type(embedded_url: str) -> None:
    model = EmbeddedBackend(embedded_url).get_model("smollm2")
    agent = Agent(
        name="weather", instructions="Fill in the weather report.", model=model,
        output_type=CityWeather,
    )  # fmt: skip
    result = await Runner.run(agent, "Paris is sunny today.", run_config=NO_TRACING)
    assert isinstance(result.final_output, CityWeather)
    assert result.final_output.city.strip()


async def test_embedded_model_calls_a_tool_then_fills_the_output_type(embedded_url: str) -> None:
    model = EmbeddedBackend(embedded_url).get_model("smollm2")
    agent = Agent(
        name="weather", instructions="Use the tool, then report the weather.", model=model,
        tools=[get_weather], output_type=CityWeather,
    )  # fmt: skip
    result = await Runner.run(
        agent, "What's the weather in Tokyo?", max_turns=4, run_config=NO_TRACING
    )
    assert isinstance(result.final_output, CityWeather)
    calls = [i for i in result.new_items if i.type == "tool_call_item"]
    outputs = [i for i in result.new_items if i.type == "tool_call_output_item"]
    assert calls and outputs and "sunny in" in str(outputs[0].output).lower()
