"""Schema-constrained tool-call emulation, with a scripted inner model that records what
it was asked. The real embedded model runs it in tests/integration.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import FunctionTool, ModelResponse, ModelSettings, ModelTracing
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage

from hybridagent.providers.errors import (
    FALLBACK_ACTION,
    NON_RETRYABLE_ERROR_TYPES,
    InvalidToolCallError,
)
from hybridagent.providers.tool_emulation import (
    ToolEmulatingModel,
    as_plain_messages,
    llama_cpp_constraint,
    ollama_format_constraint,
    openai_json_schema_constraint,
)
from hybridagent.testing.scripted_model import ScriptedModel, text_response


class Recording(ScriptedModel):
    def __init__(self, replies: list[str]) -> None:
        super().__init__(lambda n: text_response(replies[n - 1]))
        self.asked: list[dict[str, Any]] = []

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        instructions, messages, settings, tools, output_schema, handoffs = args[:6]
        self.asked.append(
            {
                "instructions": instructions,
                "messages": messages,
                "settings": settings,
                "tools": tools,
                "output_schema": output_schema,
            }
        )
        return await super().get_response(*args, **kwargs)


async def _noop(ctx: Any, args: str) -> str:
    return ""


WEATHER = FunctionTool(
    name="get_weather",
    description="Get the weather for a city.",
    params_json_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
    on_invoke_tool=_noop,
)


async def call(
    model: ToolEmulatingModel, input: Any, settings: ModelSettings | None = None
) -> ModelResponse:
    return await model.get_response(
        "Be a haiku.",
        input,
        settings or ModelSettings(),
        [WEATHER],
        None,
        [],
        ModelTracing.DISABLED,
        previous_response_id=None,
        conversation_id=None,
        prompt=None,
    )


async def test_tool_choice_becomes_a_real_tool_call() -> None:
    inner = Recording(['{"action": "get_weather", "arguments": {"city": "Tokyo"}}'])
    response = await call(ToolEmulatingModel(inner), "Weather in Tokyo?")
    [item] = response.output
    assert isinstance(item, ResponseFunctionToolCall)
    assert item.name == "get_weather" and json.loads(item.arguments) == {"city": "Tokyo"}
    assert item.call_id.startswith("call_")
    asked = inner.asked[0]
    assert asked["tools"] == [] and asked["output_schema"] is None
    schema = asked["settings"].extra_body["response_format"]["schema"]
    assert asked["settings"].extra_body["response_format"]["type"] == "json_object"
    assert schema["properties"]["action"]["enum"] == ["get_weather", "final_answer"]
    assert schema["properties"]["arguments"] == WEATHER.params_json_schema
    assert asked["settings"].temperature == 0.0
    assert "get_weather: Get the weather for a city." in asked["instructions"]


async def test_agent_temperature_is_respected() -> None:
    inner = Recording(['{"action": "final_answer", "answer": "ok"}'])
    await call(ToolEmulatingModel(inner), "hi", ModelSettings(temperature=0.7))
    assert inner.asked[0]["settings"].temperature == 0.7


async def test_final_answer_becomes_a_message() -> None:
    inner = Recording(['{"action": "final_answer", "answer": "Sunny skies"}'])
    [item] = (await call(ToolEmulatingModel(inner), "hi")).output
    assert isinstance(item, ResponseOutputMessage) and item.content[0].text == "Sunny skies"


HISTORY: list[Any] = [
    {"role": "user", "content": "Weather in Tokyo?"},
    {
        "type": "function_call",
        "call_id": "c1",
        "name": "get_weather",
        "arguments": '{"city": "Tokyo"}',
    },
    {"type": "function_call_output", "call_id": "c1", "output": "Sunny in Tokyo."},
]


def test_history_is_rewritten_as_plain_messages() -> None:
    messages, called = as_plain_messages(HISTORY)
    assert messages == [
        {"role": "user", "content": "Weather in Tokyo?"},
        {
            "role": "assistant",
            "content": '{"action": "get_weather", "arguments": {"city": "Tokyo"}}',
        },
        {"role": "user", "content": "Result of get_weather: Sunny in Tokyo."},
    ]
    assert called == {'get_weather{"city": "Tokyo"}'}


async def test_repeated_call_is_replaced_by_an_answer() -> None:
    inner = Recording(
        [
            '{"action": "get_weather", "arguments": {"city": "Tokyo"}}',
            '{"action": "final_answer", "answer": "Sunny in Tokyo"}',
        ]
    )
    response = await call(ToolEmulatingModel(inner), HISTORY)
    [item] = response.output
    assert isinstance(item, ResponseOutputMessage) and item.content[0].text == "Sunny in Tokyo"
    second = inner.asked[1]["settings"].extra_body["response_format"]["schema"]
    assert second["properties"]["action"]["enum"] == ["final_answer"]
    assert response.usage.requests == 2  # both calls are accounted for


async def test_new_call_with_other_arguments_is_allowed() -> None:
    inner = Recording(['{"action": "get_weather", "arguments": {"city": "Paris"}}'])
    [item] = (await call(ToolEmulatingModel(inner), HISTORY)).output
    assert isinstance(item, ResponseFunctionToolCall) and len(inner.asked) == 1


async def test_empty_answer_is_asked_again() -> None:
    inner = Recording(
        ['{"action": "final_answer"}', '{"action": "final_answer", "answer": "Hello"}']
    )
    [item] = (await call(ToolEmulatingModel(inner), "hi")).output
    assert isinstance(item, ResponseOutputMessage) and item.content[0].text == "Hello"


async def test_without_tools_the_call_passes_through() -> None:
    inner = Recording(["plain text"])
    model = ToolEmulatingModel(inner)
    response = await model.get_response(
        None,
        "hi",
        ModelSettings(),
        [],
        None,
        [],
        ModelTracing.DISABLED,
        previous_response_id=None,
        conversation_id=None,
        prompt=None,
    )
    assert response.output[0].content[0].text == "plain text"
    assert inner.asked[0]["settings"].extra_body is None


FORECAST = FunctionTool(
    name="get_forecast",
    description="Get the forecast for a city some days ahead.",
    params_json_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city", "days"],
        "additionalProperties": False,
    },
    on_invoke_tool=_noop,
)


async def call_with(model: ToolEmulatingModel, tools: list[FunctionTool]) -> ModelResponse:
    return await model.get_response(
        None, "Forecast?", ModelSettings(), list(tools), None, [], ModelTracing.DISABLED,
        previous_response_id=None, conversation_id=None, prompt=None,
    )  # fmt: skip


async def test_obviously_wrong_arguments_are_repaired_without_asking_again() -> None:
    inner = Recording(
        ['{"action": "get_forecast", "arguments": {"city": "Oslo", "days": "3", "unit": "C"}}']
    )
    [item] = (await call_with(ToolEmulatingModel(inner), [WEATHER, FORECAST])).output
    assert isinstance(item, ResponseFunctionToolCall) and item.name == "get_forecast"
    assert json.loads(item.arguments) == {"city": "Oslo", "days": 3}
    assert len(inner.asked) == 1


async def test_invalid_arguments_are_asked_for_again_with_the_error() -> None:
    # With two tools, the grammar lets the model send one tool's arguments to the other.
    inner = Recording(
        [
            '{"action": "get_forecast", "arguments": {"city": "Oslo"}}',
            '{"action": "get_forecast", "arguments": {"city": "Oslo", "days": 2}}',
        ]
    )
    response = await call_with(ToolEmulatingModel(inner), [WEATHER, FORECAST])
    [item] = response.output
    assert isinstance(item, ResponseFunctionToolCall)
    assert json.loads(item.arguments) == {"city": "Oslo", "days": 2}
    feedback = inner.asked[1]["messages"][-1]["content"]
    assert feedback == "Those arguments are invalid: 'days' is a required property."
    assert inner.asked[1]["messages"][-2]["role"] == "assistant"
    assert response.usage.requests == 2


async def test_invalid_arguments_twice_fail_the_call_for_the_next_model() -> None:
    bad = '{"action": "get_forecast", "arguments": {"city": "Oslo", "days": 0}}'
    inner = Recording([bad, bad])
    with pytest.raises(InvalidToolCallError, match=r"get_forecast with invalid arguments twice"):
        await call_with(ToolEmulatingModel(inner), [WEATHER, FORECAST])
    assert FALLBACK_ACTION["InvalidToolCallError"] == "next"
    assert "InvalidToolCallError" in NON_RETRYABLE_ERROR_TYPES


def _llama_cpp_schema(settings: ModelSettings) -> Any:
    sent = settings.extra_body["response_format"]
    assert sent["type"] == "json_object"
    return sent["schema"]


def _openai_schema(settings: ModelSettings) -> Any:
    sent = settings.extra_body["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "step"
    return sent["json_schema"]["schema"]


def _ollama_schema(settings: ModelSettings) -> Any:
    assert settings.extra_body is None
    return settings.extra_args["format"]


@pytest.mark.parametrize(
    ("constraint", "schema_sent"),
    [
        (llama_cpp_constraint, _llama_cpp_schema),
        (openai_json_schema_constraint, _openai_schema),
        (ollama_format_constraint, _ollama_schema),
    ],
)
async def test_each_backend_gets_the_schema_its_own_way(constraint: Any, schema_sent: Any) -> None:
    inner = Recording(['{"action": "final_answer", "answer": "ok"}'])
    await call(ToolEmulatingModel(inner, constraint), "hi")
    schema = schema_sent(inner.asked[0]["settings"])
    assert schema["properties"]["action"]["enum"] == ["get_weather", "final_answer"]
