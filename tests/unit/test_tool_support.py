"""Tool calls on Ollama models without the `tools` capability are emulated, in both API
modes, against the loopback Ollama; models with the capability get native tool calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from agents import FunctionTool, ModelResponse, ModelSettings, ModelTracing
from openai.types.responses import ResponseFunctionToolCall

from hybridagent.activities.models import ModelActivities
from hybridagent.providers.errors import ModelNotFoundError
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.providers.ollama import OllamaBackend
from tests.fixtures.ollama_server import FakeOllama, answers_json, calls_then_says


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
MODELS = {"llama3.2:3b": "show_llama3.2.json", "llava": "show_llava.json"}


@pytest.fixture(scope="module")
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama(models=MODELS) as fake:
        yield fake


@pytest.fixture(autouse=True)
def fresh(ollama: FakeOllama) -> None:
    ollama.reset()


async def ask(backend: OllamaBackend, model: str) -> ModelResponse:
    return await backend.get_model(model).get_response(
        None, "Weather in Tokyo?", ModelSettings(), [WEATHER], None, [], ModelTracing.DISABLED,
        previous_response_id=None, conversation_id=None, prompt=None,
    )  # fmt: skip


def schema_sent(body: dict[str, Any], mode: str) -> dict[str, Any]:
    if mode == "native":
        schema: dict[str, Any] = body["format"]
        return schema
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]["schema"]
    return schema


@pytest.mark.parametrize("mode", ["openai", "native"])
async def test_model_without_tools_gets_an_emulated_tool_call(
    ollama: FakeOllama, mode: Any
) -> None:
    ollama.script = answers_json({"action": "get_weather", "arguments": {"city": "Tokyo"}})
    response = await ask(OllamaBackend(ollama.host, api_mode=mode), "llava")
    [item] = response.output
    assert isinstance(item, ResponseFunctionToolCall) and item.name == "get_weather"
    assert json.loads(item.arguments) == {"city": "Tokyo"}
    [body] = ollama.chats()
    assert "tools" not in body  # Ollama would answer 400 "does not support tools"
    assert schema_sent(body, mode)["properties"]["action"]["enum"] == [
        "get_weather",
        "final_answer",
    ]


@pytest.mark.parametrize("mode", ["openai", "native"])
async def test_model_with_tools_gets_native_tool_calls(ollama: FakeOllama, mode: Any) -> None:
    ollama.script = calls_then_says("get_weather", {"city": "Tokyo"}, "Sunny.")
    response = await ask(OllamaBackend(ollama.host, api_mode=mode), "llama3.2:3b")
    [item] = response.output
    assert isinstance(item, ResponseFunctionToolCall) and item.name == "get_weather"
    [body] = ollama.chats()
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"]


async def test_emulation_can_be_forced_or_turned_off(ollama: FakeOllama) -> None:
    ollama.script = answers_json({"action": "get_weather", "arguments": {"city": "Oslo"}})
    await ask(OllamaBackend(ollama.host, tool_emulation="always"), "llama3.2:3b")
    await ask(OllamaBackend(ollama.host, tool_emulation="never"), "llava")
    forced, off = ollama.chats()
    assert "tools" not in forced and "response_format" in forced
    assert off["tools"] and "response_format" not in off


async def test_capabilities_are_asked_once_a_minute_per_model(ollama: FakeOllama) -> None:
    ollama.script = answers_json({"action": "final_answer", "answer": "ok"})
    backend = OllamaBackend(ollama.host)
    for _ in range(3):
        await ask(backend, "llava")
    assert [r.path for r in ollama.requests].count("/api/show") == 1


async def test_missing_model_is_typed_for_fallback(ollama: FakeOllama) -> None:
    with pytest.raises(ModelNotFoundError, match="has no model 'qwen3:4b'"):
        await ask(OllamaBackend(ollama.host), "qwen3:4b")


async def test_router_counts_emulated_tools_as_tools(ollama: FakeOllama) -> None:
    def candidate_tools(mode: Any) -> Any:
        backend = OllamaBackend(ollama.host, tool_emulation=mode)
        provider = HybridModelProvider({"ollama": backend}, "ollama/llava")
        return ModelActivities(provider).candidate("ollama/llava")

    assert (await candidate_tools("auto")).tools
    assert not (await candidate_tools("never")).tools


async def test_routing_and_model_calls_share_one_api_show_per_minute(ollama: FakeOllama) -> None:
    ollama.script = answers_json({"action": "final_answer", "answer": "ok"})
    backend = OllamaBackend(ollama.host)
    provider = HybridModelProvider({"ollama": backend}, "ollama/llava")
    await ModelActivities(provider).candidate("ollama/llava")
    await ask(backend, "llava")
    assert [r.path for r in ollama.requests].count("/api/show") == 1
