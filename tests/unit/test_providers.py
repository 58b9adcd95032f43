"""Backends and the hybrid provider against httpx.MockTransport."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from agents import ModelSettings, ModelTracing

from hybridagent.providers.embedded import EmbeddedBackend, bundled_weights
from hybridagent.providers.errors import (
    EmbeddedModelUnavailableError,
    InvalidApiKeyError,
    MissingApiKeyError,
    NoLocalModelError,
    ProviderUnreachableError,
)
from hybridagent.providers.factory import choose_default_model
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.providers.openai import OpenAIBackend
from hybridagent.routing.names import UnknownModelError
from hybridagent.testing.stub_server import completion


class Recorder:
    """A MockTransport handler that records requests and answers like Ollama/OpenAI."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/api/tags":
            return httpx.Response(
                200, json={"models": [{"model": "llama3.2:3b", "name": "llama3.2:3b"}]}
            )
        if self.status != 200:
            return httpx.Response(self.status, json={"error": {"message": "nope"}})
        body = json.loads(request.content)
        return httpx.Response(
            200, json=completion(body["model"], {"role": "assistant", "content": "hi"})
        )


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("Connection refused", request=request)


async def ask(model: Any) -> Any:
    return await model.get_response(
        "Be brief.",
        "Hello",
        ModelSettings(),
        [],
        None,
        [],
        ModelTracing.DISABLED,
        previous_response_id=None,
        conversation_id=None,
        prompt=None,
    )


async def test_ollama_calls_openai_compatible_endpoint() -> None:
    recorder = Recorder()
    backend = OllamaBackend("http://ollama:11434", transport=httpx.MockTransport(recorder))
    response = await ask(backend.get_model("llama3.2:3b"))
    assert response.output[0].content[0].text == "hi"
    request = recorder.requests[0]
    assert str(request.url) == "http://ollama:11434/v1/chat/completions"
    assert json.loads(request.content)["model"] == "llama3.2:3b"
    await backend.aclose()


async def test_ollama_health_and_listing_use_native_api() -> None:
    recorder = Recorder()
    backend = OllamaBackend("http://ollama:11434", transport=httpx.MockTransport(recorder))
    assert await backend.is_reachable()
    listing = await backend.list_models()
    assert listing.reachable and listing.models == ["ollama/llama3.2:3b"]
    assert {r.url.path for r in recorder.requests} == {"/api/tags"}


async def test_ollama_down_is_a_clear_retryable_error() -> None:
    backend = OllamaBackend("http://ollama:11434", transport=httpx.MockTransport(refuse))
    assert not await backend.is_reachable()
    assert not (await backend.list_models()).reachable
    with pytest.raises(
        ProviderUnreachableError, match=r"^Ollama is not reachable at http://ollama:11434/v1/"
    ):
        await ask(backend.get_model("llama3.2:3b"))


async def test_ollama_missing_model_is_unknown_model() -> None:
    backend = OllamaBackend(
        "http://ollama:11434", transport=httpx.MockTransport(Recorder(status=404))
    )
    with pytest.raises(UnknownModelError, match="has no model 'nope:1b'"):
        await ask(backend.get_model("nope:1b"))


async def test_openai_without_key_fails_before_any_request() -> None:
    recorder = Recorder()
    backend = OpenAIBackend(None, transport=httpx.MockTransport(recorder))
    with pytest.raises(MissingApiKeyError, match="^no OPENAI_API_KEY is set on the worker$"):
        backend.get_model("gpt-4o-mini")
    assert recorder.requests == []


async def test_openai_sends_key_and_maps_401() -> None:
    ok = Recorder()
    backend = OpenAIBackend("sk-good", transport=httpx.MockTransport(ok))
    await ask(backend.get_model("gpt-4o-mini"))
    assert ok.requests[0].headers["authorization"] == "Bearer sk-good"
    assert str(ok.requests[0].url) == "https://api.openai.com/v1/chat/completions"
    rejected = OpenAIBackend("sk-bad", transport=httpx.MockTransport(Recorder(status=401)))
    with pytest.raises(InvalidApiKeyError, match=r"OpenAI rejected the API key .* \(HTTP 401\)"):
        await ask(rejected.get_model("gpt-4o-mini"))


async def test_embedded_backend_names_its_alias_and_its_absence() -> None:
    with pytest.raises(UnknownModelError, match="the embedded model is local/smollm2"):
        EmbeddedBackend("http://127.0.0.1:1/v1").get_model("phi3")
    with pytest.raises(EmbeddedModelUnavailableError, match="not running on this worker"):
        EmbeddedBackend(None).get_model("smollm2")


def test_bundled_weights_come_from_the_wheel() -> None:
    weights = bundled_weights()
    assert weights.suffix == ".gguf" and "site-packages" in str(weights)
    assert weights.stat().st_size > 50_000_000


def hybrid(default: str | None = "ollama/llama3.2:3b") -> tuple[HybridModelProvider, Recorder]:
    recorder = Recorder()
    transport = httpx.MockTransport(recorder)
    backends: dict[str, Any] = {
        "ollama": OllamaBackend("http://ollama:11434", transport=transport),
        "openai": OpenAIBackend("sk-x", transport=transport),
    }
    return HybridModelProvider(backends, default), recorder


@pytest.mark.parametrize(
    ("name", "url", "model"),
    [
        (None, "http://ollama:11434/v1/chat/completions", "llama3.2:3b"),
        ("auto", "http://ollama:11434/v1/chat/completions", "llama3.2:3b"),
        ("qwen3:4b", "http://ollama:11434/v1/chat/completions", "qwen3:4b"),
        ("openai/gpt-4o", "https://api.openai.com/v1/chat/completions", "gpt-4o"),
    ],
)
async def test_hybrid_routes_by_prefix(name: str | None, url: str, model: str) -> None:
    provider, recorder = hybrid()
    await ask(provider.get_model(name))
    assert str(recorder.requests[0].url) == url
    assert json.loads(recorder.requests[0].content)["model"] == model


def test_hybrid_errors() -> None:
    provider, _ = hybrid(default=None)
    with pytest.raises(NoLocalModelError, match="No default model is available"):
        provider.get_model(None)
    with pytest.raises(UnknownModelError, match="valid prefixes"):
        provider.get_model("bedrock/x")
    with pytest.raises(NoLocalModelError, match="'local' is not configured"):
        provider.get_model("local/smollm2")


def test_hybrid_reuses_one_model_object_per_name() -> None:
    provider, _ = hybrid()
    assert provider.get_model("ollama/a") is provider.get_model("ollama/a")


@pytest.mark.parametrize(
    ("configured", "ollama", "embedded", "expected"),
    [
        ("auto", True, True, "ollama/llama3.2:3b"),
        ("auto", False, True, "local/smollm2"),
        ("auto", False, False, None),
        ("openai/gpt-4o-mini", True, True, "openai/gpt-4o-mini"),
    ],
)
def test_default_model_choice(
    configured: str, ollama: bool, embedded: bool, expected: str | None
) -> None:
    # The first backend's offer: Ollama's model when Ollama answers, else the embedded one.
    offered = "ollama/llama3.2:3b" if ollama else "local/smollm2" if embedded else None
    assert choose_default_model(configured, offered) == expected
