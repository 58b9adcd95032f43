"""One adapter test suite for both Ollama modes (OLLAMA_API_MODE=openai|native), against
the loopback Ollama of tests/fixtures/ollama_server.py: parity between /v1 and /api/chat.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from agents import (
    Agent,
    AgentOutputSchema,
    ModelResponse,
    ModelSettings,
    ModelTracing,
    RunConfig,
    Runner,
    Tool,
    function_tool,
)
from agents.items import TResponseStreamEvent
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseTextDeltaEvent,
)
from pydantic import BaseModel

from hybridagent.providers.embedded import free_loopback_port
from hybridagent.providers.errors import (
    MalformedResponseError,
    ModelNotFoundError,
    ProviderError,
    ProviderServerError,
    ProviderUnreachableError,
)
from hybridagent.providers.ollama import OllamaBackend
from tests.fixtures.ollama_server import FakeOllama, answers_json, calls_then_says

MODEL = "llama3.2:3b"
CHAT_PATH = {"openai": "/v1/chat/completions", "native": "/api/chat"}


@pytest.fixture(scope="module")
def running_ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


@pytest.fixture
def fake(running_ollama: FakeOllama) -> FakeOllama:
    running_ollama.reset()
    return running_ollama


@pytest.fixture(params=["openai", "native"])
async def backend(request: pytest.FixtureRequest, fake: FakeOllama) -> AsyncIterator[OllamaBackend]:
    ollama = OllamaBackend(fake.host, api_mode=request.param)
    yield ollama
    await ollama.aclose()


@function_tool
def get_weather(city: str) -> str:
    """Get the weather in a given city."""
    return f"11 degrees celsius in {city}"


class Weather(BaseModel):
    city: str
    degrees: int


def call_args(
    input: str | list[Any] = "why is the sky blue?",
    *,
    tools: list[Tool] | None = None,
    output_schema: AgentOutputSchema | None = None,
) -> tuple[Any, ...]:
    return ("Be brief.", input, ModelSettings(), tools or [], output_schema, [])


async def ask(backend: OllamaBackend, *args: Any) -> ModelResponse:
    return await backend.get_model(MODEL).get_response(
        *args, ModelTracing.DISABLED, previous_response_id=None, conversation_id=None, prompt=None
    )


async def stream(backend: OllamaBackend, *args: Any) -> list[TResponseStreamEvent]:
    model = backend.get_model(MODEL)
    events = model.stream_response(
        *args, ModelTracing.DISABLED, previous_response_id=None, conversation_id=None, prompt=None
    )
    return [event async for event in events]


def text_of(output: list[Any]) -> str:
    return "".join(
        part.text
        for item in output
        if isinstance(item, ResponseOutputMessage)
        for part in item.content
        if hasattr(part, "text")
    )


def calls_of(output: list[Any]) -> list[ResponseFunctionToolCall]:
    return [item for item in output if isinstance(item, ResponseFunctionToolCall)]


async def test_text_answer_with_usage(backend: OllamaBackend, fake: FakeOllama) -> None:
    response = await ask(backend, *call_args())
    assert text_of(response.output) == "Hello! How are you today?"
    # chat_text.json's prompt_eval_count / eval_count; /v1 reports them as usage.
    assert (response.usage.input_tokens, response.usage.output_tokens) == (26, 298)
    assert [r.path for r in fake.requests if "chat" in r.path] == [CHAT_PATH[backend.api_mode]]
    assert fake.chats()[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "why is the sky blue?"},
    ]


async def test_tool_call_round_trip(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.script = calls_then_says("get_weather", {"city": "Tokyo"}, "11 degrees in Tokyo.")
    first = await ask(backend, *call_args("Weather in Tokyo?", tools=[get_weather]))
    [call] = calls_of(first.output)
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Tokyo"}
    sent_tool = fake.chats()[0]["tools"][0]
    assert sent_tool["type"] == "function"
    assert sent_tool["function"]["name"] == "get_weather"
    assert sent_tool["function"]["parameters"]["properties"]["city"]["type"] == "string"

    history = [
        {"role": "user", "content": "Weather in Tokyo?"},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "11 °C"},
    ]
    second = await ask(backend, *call_args(history, tools=[get_weather]))
    assert text_of(second.output) == "11 degrees in Tokyo." and not calls_of(second.output)
    assistant, result = fake.chats()[1]["messages"][-2:]
    [sent_call] = assistant["tool_calls"]
    assert result["role"] == "tool" and result["content"] == "11 °C"
    if backend.api_mode == "native":  # docs/api.md: arguments an object, result by tool_name
        assert sent_call["function"]["arguments"] == {"city": "Tokyo"}
        assert result["tool_name"] == "get_weather"
    else:  # OpenAI: arguments a JSON string, result by the call's id
        assert json.loads(sent_call["function"]["arguments"]) == {"city": "Tokyo"}
        assert result["tool_call_id"] == sent_call["id"] == call.call_id


async def test_structured_output_sends_the_schema(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.script = answers_json({"city": "Tokyo", "degrees": 11})
    schema = AgentOutputSchema(Weather)
    response = await ask(backend, *call_args(output_schema=schema))
    assert schema.validate_json(text_of(response.output)) == Weather(city="Tokyo", degrees=11)
    body = fake.chats()[0]
    if backend.api_mode == "native":
        assert body["format"] == schema.json_schema()
    else:
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["schema"] == schema.json_schema()


async def test_streaming_deltas_then_the_whole_answer(
    backend: OllamaBackend, fake: FakeOllama
) -> None:
    events = await stream(backend, *call_args())
    deltas = [e.delta for e in events if isinstance(e, ResponseTextDeltaEvent)]
    assert len(deltas) > 1 and "".join(deltas) == "Hello! How are you today?"
    assert isinstance(events[-1], ResponseCompletedEvent)
    assert text_of(events[-1].response.output) == "Hello! How are you today?"
    assert fake.chats()[0]["stream"] is True


async def test_streamed_tool_call(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.script = calls_then_says("get_weather", {"city": "Tokyo"}, "unused")
    events = await stream(backend, *call_args(tools=[get_weather]))
    assert isinstance(events[-1], ResponseCompletedEvent)
    [call] = calls_of(events[-1].response.output)
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Tokyo"}


@pytest.mark.parametrize("streamed", [False, True], ids=["get", "stream"])
@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ("not_found", ModelNotFoundError, "has no model 'llama3.2:3b'"),
        ("server_error", ProviderServerError, r"failed \(HTTP 500\)"),
        ("cut", MalformedResponseError, "cut its response off half-way"),
    ],
)
async def test_failures_are_typed_alike(
    backend: OllamaBackend,
    fake: FakeOllama,
    fault: Any,
    error: type[ProviderError],
    message: str,
    streamed: bool,
) -> None:
    fake.fault = fault
    with pytest.raises(error, match=message):
        if streamed:
            await stream(backend, *call_args())
        else:
            await ask(backend, *call_args())


@pytest.mark.parametrize("mode", ["openai", "native"])
@pytest.mark.parametrize("streamed", [False, True], ids=["get", "stream"])
async def test_refused_port_is_unreachable(mode: Any, streamed: bool) -> None:
    backend = OllamaBackend(f"http://127.0.0.1:{free_loopback_port()}", api_mode=mode)
    with pytest.raises(ProviderUnreachableError, match="^Ollama is not reachable at"):
        if streamed:
            await stream(backend, *call_args())
        else:
            await ask(backend, *call_args())
    await backend.aclose()


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "run_streamed"])
async def test_agent_runs_a_tool_end_to_end(
    backend: OllamaBackend, fake: FakeOllama, streamed: bool
) -> None:
    cities: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Get the weather in a given city."""
        cities.append(city)
        return "11 degrees celsius"

    fake.script = calls_then_says("get_weather", {"city": "Toronto"}, "It is 11°C in Toronto.")
    agent = Agent(
        name="weather",
        instructions="Answer with the weather tool.",
        model=backend.get_model(MODEL),
        tools=[get_weather],
    )
    config = RunConfig(tracing_disabled=True)
    if streamed:
        run = Runner.run_streamed(agent, "Weather in Toronto?", run_config=config)
        async for _ in run.stream_events():
            pass
        final = run.final_output
    else:
        final = (await Runner.run(agent, "Weather in Toronto?", run_config=config)).final_output
    assert final == "It is 11°C in Toronto."
    assert cities == ["Toronto"]
    first, second = fake.chats()
    assert first.get("stream", False) is streamed
    assert [m["content"] for m in second["messages"] if m["role"] == "tool"] == [
        "11 degrees celsius"
    ]
