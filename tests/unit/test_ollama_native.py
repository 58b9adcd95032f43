"""What only native mode (/api/chat) does: request bodies exactly as docs/api.md's chat
examples, `num_ctx` sized to the conversation, keep_alive, think, and its failures."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import ollama
import pytest
from agents import (
    AgentOutputSchemaBase,
    FileSearchTool,
    FunctionTool,
    ModelResponse,
    ModelSettings,
    ModelTracing,
    UserError,
)
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
)

from hybridagent.providers.errors import (
    BadRequestError,
    ContextTooLongError,
    InvalidApiKeyError,
    MalformedResponseError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    ProviderUnreachableError,
    RateLimitedError,
)
from hybridagent.providers.guarded import GuardedModel
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.providers.ollama_native import OllamaNativeModel
from hybridagent.providers.ollama_request import context_size, to_messages, to_tools
from tests.fixtures.ollama_api import fixture
from tests.fixtures.ollama_server import FakeOllama, thinks


@pytest.fixture(scope="module")
def running_ollama() -> Iterator[FakeOllama]:
    models = {"llama3.2:3b": "show_llama3.2.json", "llama3.2": "show_llama3.2.json"}
    with FakeOllama(models=models) as fake:
        yield fake


@pytest.fixture
def fake(running_ollama: FakeOllama) -> FakeOllama:
    running_ollama.reset()
    return running_ollama


@pytest.fixture
async def backend(fake: FakeOllama) -> AsyncIterator[OllamaBackend]:
    ollama = OllamaBackend(fake.host, api_mode="native")
    yield ollama
    await ollama.aclose()


class DocumentedSchema(AgentOutputSchemaBase):
    """The output schema of docs/api.md's 'Chat request (Structured outputs)'."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema

    def is_plain_text(self) -> bool:
        return False

    def name(self) -> str:
        return "documented"

    def json_schema(self) -> dict[str, Any]:
        return self.schema

    def is_strict_json_schema(self) -> bool:
        return False

    def validate_json(self, json_str: str) -> Any:
        return json.loads(json_str)


def tool_from(documented: dict[str, Any]) -> FunctionTool:
    function = documented["function"]

    async def invoke(context: Any, arguments: str) -> str:
        return ""

    return FunctionTool(
        name=function["name"],
        description=function["description"],
        params_json_schema=function["parameters"],
        on_invoke_tool=invoke,
        strict_json_schema=False,  # keep the documented schema as it is
    )


async def ask(model: Any, *args: Any) -> ModelResponse:
    response: ModelResponse = await model.get_response(
        *args, ModelTracing.DISABLED, previous_response_id=None, conversation_id=None, prompt=None
    )
    return response


async def drain(model: Any, *args: Any) -> None:
    events = model.stream_response(
        *args, ModelTracing.DISABLED, previous_response_id=None, conversation_id=None, prompt=None
    )
    async for _ in events:
        pass


def text_of(message: ResponseOutputMessage) -> str:
    return "".join(p.text for p in message.content if isinstance(p, ResponseOutputText))


def as_input_items(request: dict[str, Any]) -> list[Any]:
    """The documented conversation as the Agents SDK hands it to a model."""
    items: list[Any] = []
    for message in request["messages"]:
        for number, call in enumerate(message.get("tool_calls", [])):
            function = call["function"]
            items.append(
                {
                    "type": "function_call",
                    "call_id": f"call_{number}",
                    "name": function["name"],
                    "arguments": json.dumps(function["arguments"]),
                }
            )
        if message["role"] == "tool":
            items.append(
                {"type": "function_call_output", "call_id": "call_0", "output": message["content"]}
            )
        elif not message.get("tool_calls"):
            items.append({"role": message["role"], "content": message["content"]})
    return items


@pytest.mark.parametrize(
    "name",
    [
        "chat_text.json",
        "chat_tool_call.json",
        "chat_tool_result.json",
        "chat_structured.json",
        "chat_stream.json",
        "chat_stream_tools.json",
        "chat_thinking.json",
    ],
)
async def test_request_bodies_are_the_documented_ones(fake: FakeOllama, name: str) -> None:
    documented = fixture(name)["request"]
    model = GuardedModel(
        OllamaNativeModel(ollama.AsyncClient(host=fake.host), documented["model"]),
        backend="Ollama",
        endpoint=fake.host,
        model=documented["model"],
    )
    settings = ModelSettings(
        temperature=documented.get("options", {}).get("temperature"),
        extra_args={"think": documented["think"]} if "think" in documented else None,
    )
    tools = [tool_from(tool) for tool in documented.get("tools", [])]
    schema = DocumentedSchema(documented["format"]) if "format" in documented else None
    args = (None, as_input_items(documented), settings, tools, schema, [])
    if documented.get("stream", True):
        await drain(model, *args)
    else:
        await ask(model, *args)
    [sent] = fake.chats()
    # What the documented request leaves to Ollama's defaults, we always send.
    assert sent.pop("keep_alive") == "5m"
    assert sent["options"].pop("num_ctx") == 4096
    if not sent["options"]:
        del sent["options"]
    assert sent == documented | {"stream": documented.get("stream", True)}


def test_tool_schemas_reach_ollama_whole() -> None:
    """Unlike `AsyncClient.chat`, whose Tool model would drop `anyOf` and nested objects."""
    schema = {
        "type": "object",
        "properties": {
            "unit": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "where": {"type": "object", "properties": {"lat": {"type": "number"}}},
        },
        "required": ["unit", "where"],
        "additionalProperties": False,
    }
    tool = tool_from({"function": {"name": "w", "description": "d", "parameters": schema}})
    assert to_tools([tool], [])[0]["function"]["parameters"] == schema


@pytest.mark.parametrize(
    ("chars", "reply", "floor", "ceiling", "expected"),
    [
        (300, 1024, 4096, None, 4096),  # a short call gets what Ollama serves anyway
        (300, 1024, 8192, None, 8192),
        (3 * 3500, 1024, 4096, None, 8192),  # 3500 + 1024 tokens do not fit 4096
        (3 * 60_000, 1024, 4096, None, 65536),
        (3 * 60_000, 1024, 4096, 32768, 32768),  # never past the trained context
        (300, 8192, 4096, None, 16384),  # max_tokens is room the reply needs
    ],
)
def test_context_size(
    chars: int, reply: int, floor: int, ceiling: int | None, expected: int
) -> None:
    assert context_size(chars, reply, floor=floor, ceiling=ceiling) == expected


async def test_num_ctx_grows_with_the_conversation(
    backend: OllamaBackend, fake: FakeOllama
) -> None:
    model = backend.get_model("llama3.2:3b")
    turns = [{"role": "user", "content": "word " * 6000}, {"role": "assistant", "content": "ok"}]
    for history in ([], turns, turns * 4, turns * 100):
        await ask(
            model,
            "Be brief.",
            [*history, {"role": "user", "content": "hi"}],
            ModelSettings(),
            [],
            None,
            [],
        )
    sizes = [body["options"]["num_ctx"] for body in fake.chats()]
    # 4096 served; 30k chars ~ 10k tokens; 120k chars; 3M chars capped at the 131072
    # tokens llama3.2:3b was trained for (its /api/show fixture, asked once).
    assert sizes == [4096, 16384, 65536, 131072]
    assert [r.path for r in fake.requests].count("/api/show") == 1


async def test_max_context_caps_num_ctx(fake: FakeOllama) -> None:
    model = OllamaNativeModel(ollama.AsyncClient(host=fake.host), "m", max_context=8192)
    await ask(model, None, "word " * 60_000, ModelSettings(), [], None, [])
    assert fake.chats()[0]["options"]["num_ctx"] == 8192
    assert "/api/show" not in [r.path for r in fake.requests]


async def test_settings_map_to_options(fake: FakeOllama) -> None:
    model = OllamaNativeModel(ollama.AsyncClient(host=fake.host), "m", served_context=8192)
    settings = ModelSettings(
        temperature=0.2, top_p=0.9, max_tokens=300, extra_args={"options": {"seed": 7}}
    )
    await ask(model, None, "hi", settings, [], None, [])
    assert fake.chats()[0]["options"] == {
        "temperature": 0.2,
        "top_p": 0.9,
        "num_predict": 300,
        "num_ctx": 8192,
        "seed": 7,
    }


@pytest.mark.parametrize(
    ("keep_alive", "sent"), [("5m", "5m"), ("1h30m", "1h30m"), ("-1", -1), ("0", 0)]
)
async def test_keep_alive_is_sent(fake: FakeOllama, keep_alive: str, sent: Any) -> None:
    backend = OllamaBackend(fake.host, api_mode="native", keep_alive=keep_alive)
    await ask(backend.get_model("llama3.2:3b"), None, "hi", ModelSettings(), [], None, [])
    assert fake.chats()[0]["keep_alive"] == sent
    await backend.aclose()


async def test_thinking_is_asked_for_and_kept(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.script = thinks("Rayleigh, surely.", "Because of Rayleigh scattering.")
    model = backend.get_model("llama3.2:3b")
    settings = ModelSettings(extra_args={"think": "high"})
    response = await ask(model, None, "Why is the sky blue?", settings, [], None, [])
    reasoning, message = response.output
    assert isinstance(reasoning, ResponseReasoningItem) and reasoning.content
    assert reasoning.content[0].text == "Rayleigh, surely."
    assert isinstance(message, ResponseOutputMessage)
    assert fake.chats()[0]["think"] == "high"
    # The next turn hands the thinking back on the assistant message it came with.
    history = [
        {"role": "user", "content": "Why is the sky blue?"},
        *(item.model_dump(exclude_none=True) for item in response.output),
        {"role": "user", "content": "And at sunset?"},
    ]
    await ask(model, None, history, ModelSettings(), [], None, [])
    assert fake.chats()[1]["messages"][1] == {
        "role": "assistant",
        "content": "Because of Rayleigh scattering.",
        "thinking": "Rayleigh, surely.",
    }


async def test_streamed_thinking(backend: OllamaBackend, fake: FakeOllama) -> None:
    fake.script = thinks("Hmm.", "Blue light scatters most.")
    events = backend.get_model("llama3.2:3b").stream_response(
        None,
        "Why?",
        ModelSettings(),
        [],
        None,
        [],
        ModelTracing.DISABLED,
        previous_response_id=None,
        conversation_id=None,
        prompt=None,
    )
    *_, completed = [event async for event in events]
    assert isinstance(completed, ResponseCompletedEvent)
    reasoning, message = completed.response.output
    assert isinstance(reasoning, ResponseReasoningItem) and reasoning.content
    assert reasoning.content[0].text == "Hmm."
    assert isinstance(message, ResponseOutputMessage)
    assert text_of(message) == "Blue light scatters most."


@pytest.mark.parametrize(
    ("extra_body", "extra_args", "expected"),
    [
        # tool-call emulation's llama.cpp-style response_format works over /api/chat
        (
            {"response_format": {"type": "json_object", "schema": {"type": "object"}}},
            None,
            {"type": "object"},
        ),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": {"a": 1}}}},
            None,
            {"a": 1},
        ),
        ({"response_format": {"type": "json_object"}}, None, "json"),
        (None, {"format": "json"}, "json"),
    ],
)
async def test_format_without_an_output_schema(
    fake: FakeOllama, extra_body: Any, extra_args: Any, expected: Any
) -> None:
    model = OllamaNativeModel(ollama.AsyncClient(host=fake.host), "m", max_context=4096)
    settings = ModelSettings(extra_body=extra_body, extra_args=extra_args)
    await ask(model, None, "hi", settings, [], None, [])
    assert fake.chats()[0]["format"] == expected


async def test_error_line_mid_stream_is_a_server_failure(
    backend: OllamaBackend, fake: FakeOllama
) -> None:
    fake.fault = "stream_error"
    with pytest.raises(ProviderServerError, match="failed half-way through its answer"):
        await drain(backend.get_model("llama3.2:3b"), None, "hi", ModelSettings(), [], None, [])


def _ollama_error(status: int, text: str) -> ollama.ResponseError:
    return ollama.ResponseError(json.dumps({"error": text}), status)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_ollama_error(400, "input length exceeds the context length"), ContextTooLongError),
        (_ollama_error(400, 'invalid format: expected "json" or a JSON schema'), BadRequestError),
        (_ollama_error(401, "unauthorized"), InvalidApiKeyError),
        (_ollama_error(429, "too many requests"), RateLimitedError),
        (_ollama_error(502, "cloud model unreachable"), ProviderServerError),
        (httpx.ReadTimeout("timed out"), ProviderTimeoutError),
        (httpx.ConnectError("refused"), ProviderUnreachableError),
        (ConnectionError("Failed to connect to Ollama."), ProviderUnreachableError),
        (httpx.ReadError("reset"), MalformedResponseError),
        (json.JSONDecodeError("Expecting value", "{", 1), MalformedResponseError),
    ],
)
def test_native_failures_are_typed(error: Exception, expected: type[ProviderError]) -> None:
    guarded = GuardedModel(
        OllamaNativeModel(ollama.AsyncClient(), "m"),
        backend="Ollama",
        endpoint="http://ollama:11434",
        model="m",
    )
    assert type(guarded.translate(error)) is expected


def test_input_items_ollama_cannot_take_are_named() -> None:
    with pytest.raises(UserError, match="not 'input_file' parts"):
        to_messages(None, [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}])
    with pytest.raises(UserError, match="function tools only, not FileSearchTool"):
        to_tools([FileSearchTool(vector_store_ids=["v"])], [])


def test_developer_messages_and_images() -> None:
    image = {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0K", "detail": "auto"}
    messages = to_messages(
        None,
        [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "input_text", "text": "What is it?"}, image]},
        ],
    )
    assert messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is it?", "images": ["iVBORw0K"]},
    ]
