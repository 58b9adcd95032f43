"""WrapperModel forwards both model calls and close unchanged; a layer overrides only what it
changes; the guard is found through the typed base; every backend wraps in one order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from agents import Model, ModelResponse, ModelSettings, ModelTracing
from agents.items import TResponseStreamEvent

from hybridagent.providers.embedded import EmbeddedBackend, EmbeddedModelServer
from hybridagent.providers.embedded_supervisor import EmbeddedSupervisor, SupervisedModel
from hybridagent.providers.guarded import GuardedModel, guarded_of
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.providers.litellm import LitellmBackend
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.providers.openai import OpenAIBackend
from hybridagent.providers.response_cache import CacheLayer
from hybridagent.providers.stream_events import as_stream
from hybridagent.providers.tool_emulation import ToolEmulatingModel, llama_cpp_constraint
from hybridagent.providers.tool_support import ToolsWhereSupported
from hybridagent.providers.wrapper import ModelCall, WrapperModel, layer_of
from hybridagent.routing.catalog import Capabilities
from hybridagent.testing.scripted_model import ScriptedModel, text_response

SETTINGS = ModelSettings(temperature=0.3)
TOOLS: list[Any] = []
HANDOFFS: list[Any] = []
PROMPT: Any = {"id": "pmpt_1"}
POSITIONAL = ("Be brief.", "hi", SETTINGS, TOOLS, None, HANDOFFS, ModelTracing.DISABLED)
KEYWORDS = {"previous_response_id": "resp_1", "conversation_id": "conv_1", "prompt": PROMPT}


class Recording(Model):
    """Records the arguments of every call as it received them."""

    def __init__(self) -> None:
        self.received: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.closed = False

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        self.received.append(("get_response", args, kwargs))
        return text_response("recorded")

    async def stream_response(
        self, *args: Any, **kwargs: Any
    ) -> AsyncIterator[TResponseStreamEvent]:
        self.received.append(("stream_response", args, kwargs))
        async for event in as_stream(text_response("recorded"), "recording"):
            yield event

    async def close(self) -> None:
        self.closed = True


def assert_unchanged(received: tuple[str, tuple[Any, ...], dict[str, Any]], method: str) -> None:
    name, args, kwargs = received
    assert name == method
    assert len(args) == len(POSITIONAL)
    assert all(got is sent for got, sent in zip(args, POSITIONAL, strict=True)), args
    assert kwargs == KEYWORDS and kwargs["prompt"] is PROMPT


async def streamed(model: Model, **keywords: Any) -> list[str]:
    events = model.stream_response(*POSITIONAL, **keywords)
    return [event.type async for event in events]


async def test_both_calls_and_close_reach_the_inner_model_unchanged() -> None:
    inner = Recording()
    model = WrapperModel(inner)
    response = await model.get_response(*POSITIONAL, **KEYWORDS)
    assert response.output == text_response("recorded").output
    assert await streamed(model, **KEYWORDS) == await streamed(Recording(), **KEYWORDS)
    assert_unchanged(inner.received[0], "get_response")
    assert_unchanged(inner.received[1], "stream_response")
    await model.close()
    assert inner.closed


async def test_calls_made_by_keyword_as_the_plugin_makes_them_are_forwarded_alike() -> None:
    inner = Recording()
    names = ["system_instructions", "input", "model_settings", "tools", "output_schema"]
    by_name = dict(zip([*names, "handoffs", "tracing"], POSITIONAL, strict=True))
    await WrapperModel(inner).get_response(**by_name, **KEYWORDS)
    await streamed(WrapperModel(inner), **KEYWORDS)
    assert_unchanged(inner.received[0], "get_response")
    assert_unchanged(inner.received[1], "stream_response")


async def test_keyword_arguments_left_out_reach_the_inner_model_as_none() -> None:
    inner = Recording()
    await WrapperModel(inner).get_response(*POSITIONAL)
    assert inner.received[0][2] == {
        "previous_response_id": None,
        "conversation_id": None,
        "prompt": None,
    }


class Answering(WrapperModel):
    """Overrides the plain call only."""

    async def respond(self, call: ModelCall) -> ModelResponse:
        return text_response(f"answered {call.input!r} itself")


class Streaming(WrapperModel):
    """Overrides the stream only."""

    async def stream(self, call: ModelCall) -> AsyncIterator[TResponseStreamEvent]:
        async for event in call.stream_from(self.inner):
            if event.type == "response.completed":
                yield event


async def test_a_layer_overriding_one_call_still_forwards_the_other_unchanged() -> None:
    inner = Recording()
    answering = Answering(inner)
    response = await answering.get_response(*POSITIONAL, **KEYWORDS)
    assert response.output == text_response("answered 'hi' itself").output
    assert inner.received == []  # the override answered: the inner model was not asked
    assert (await streamed(answering, **KEYWORDS))[-1] == "response.completed"
    [received] = inner.received
    assert_unchanged(received, "stream_response")

    inner = Recording()
    streaming = Streaming(inner)
    assert await streamed(streaming, **KEYWORDS) == ["response.completed"]
    await streaming.get_response(*POSITIONAL, **KEYWORDS)
    assert_unchanged(inner.received[0], "stream_response")
    assert_unchanged(inner.received[1], "get_response")


def guard(inner: Model | None = None) -> GuardedModel:
    return GuardedModel(inner or ScriptedModel(), backend="b", endpoint="e", model="m")


async def no_tools() -> Capabilities:
    return Capabilities(context_window=4096)


def test_the_guard_is_found_through_every_layer_of_the_base() -> None:
    guarded = guard()
    supervised = SupervisedModel(guarded, EmbeddedSupervisor(EmbeddedModelServer()))
    emulated = ToolEmulatingModel(supervised)
    where_supported = ToolsWhereSupported(emulated, no_tools, llama_cpp_constraint)
    cached = CacheLayer(where_supported, "local/m", None)
    for model in (guarded, supervised, emulated, where_supported, cached):
        assert guarded_of(model) is guarded
    assert layer_of(cached, ToolEmulatingModel) is emulated
    assert layer_of(cached, SupervisedModel) is supervised


class NotALayer(ScriptedModel):
    """Holds a model in an `inner` attribute but is no WrapperModel."""

    def __init__(self, inner: Model) -> None:
        super().__init__()
        self.inner = inner


def test_the_guard_is_not_looked_for_behind_models_that_are_no_layer() -> None:
    assert guarded_of(ScriptedModel()) is None
    assert guarded_of(NotALayer(guard())) is None
    assert guarded_of(CacheLayer(NotALayer(guard()), "local/m", None)) is None
    # The outermost guard when a guard wraps another.
    outer = guard(guard())
    assert guarded_of(CacheLayer(outer, "local/m", None)) is outer


def layers(model: Model) -> list[str]:
    names = [type(model).__name__]
    while isinstance(model, WrapperModel):
        model = model.inner
        names.append(type(model).__name__)
    return names


async def test_every_backend_wraps_its_adapter_in_the_one_documented_order() -> None:
    backends = {
        "ollama": OllamaBackend("http://127.0.0.1:1"),
        "local": EmbeddedBackend("http://127.0.0.1:2/v1"),
        "openai": OpenAIBackend("sk-test"),
        "litellm": LitellmBackend(None, "sk-test"),
    }
    provider = HybridModelProvider(backends, None)
    native = OllamaBackend("http://127.0.0.1:1", api_mode="native")
    supervised = EmbeddedBackend(
        "http://127.0.0.1:2/v1", supervisor=EmbeddedSupervisor(EmbeddedModelServer())
    )
    chat = "OpenAIChatCompletionsModel"
    try:
        assert layers(provider.get_model("ollama/m")) == [
            "CacheLayer", "ToolsWhereSupported", "GuardedModel", chat,
        ]  # fmt: skip
        where_supported = layer_of(provider.get_model("ollama/m"), ToolsWhereSupported)
        assert where_supported is not None
        assert layers(where_supported.emulated) == ["ToolEmulatingModel", "GuardedModel", chat]
        assert layers(native.get_model("m")) == [
            "ToolsWhereSupported", "GuardedModel", "OllamaNativeModel",
        ]  # fmt: skip
        assert layers(provider.get_model("local/smollm2")) == [
            "CacheLayer", "ToolEmulatingModel", "GuardedModel", chat,
        ]  # fmt: skip
        assert layers(supervised.get_model("smollm2")) == [
            "ToolEmulatingModel", "SupervisedModel", "GuardedModel", chat,
        ]  # fmt: skip
        assert layers(provider.get_model("openai/m")) == ["CacheLayer", "GuardedModel", chat]
        assert layers(provider.get_model("litellm/openai/m")) == [
            "CacheLayer", "GuardedModel", "LitellmModel",
        ]  # fmt: skip
    finally:
        await provider.aclose()
        await native.aclose()
        await supervised.aclose()
