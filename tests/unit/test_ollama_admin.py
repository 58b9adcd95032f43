"""OllamaBackend's model management (`/api/ps`, `/api/pull`, loading a model) against a
loopback Ollama that answers in the shapes of Ollama's API document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from hybridagent.activities.health import provider_of
from hybridagent.activity_io import full_name
from hybridagent.config import Settings
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.embedded import EmbeddedBackend
from hybridagent.providers.errors import ProviderUnreachableError
from hybridagent.providers.guarded import guarded_of
from hybridagent.providers.litellm import LitellmBackend
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.providers.ollama_admin import ModelNotInRegistryError
from hybridagent.providers.openai import OpenAIBackend
from hybridagent.routing.names import UnknownModelError
from hybridagent.workflows.pull_model import pull_workflow_id
from tests.conftest import CLOSED_PORT
from tests.fixtures.ollama_admin_server import PULL, FakeOllamaAdmin


@pytest.fixture
async def backend_for() -> AsyncIterator[list[OllamaBackend]]:
    made: list[OllamaBackend] = []
    yield made
    for backend in made:
        await backend.aclose()


def make(made: list[OllamaBackend], host: str) -> OllamaBackend:
    backend = OllamaBackend(host)
    made.append(backend)
    return backend


async def test_loaded_models_reads_api_ps(backend_for: list[OllamaBackend]) -> None:
    with FakeOllamaAdmin(installed=("llama3.2:3b",), loaded=("llama3.2:3b",)) as fake:
        loaded = await make(backend_for, fake.host).loaded_models()
    assert [m.name for m in loaded] == ["llama3.2:3b"]
    assert loaded[0].size == 5137025024 and loaded[0].size_vram == 5137025024
    assert loaded[0].expires_at == datetime.fromisoformat("2024-06-04T14:38:31.83753-07:00")


async def test_pull_streams_progress_until_success(backend_for: list[OllamaBackend]) -> None:
    with FakeOllamaAdmin(registry=("smollm:135m",)) as fake:
        backend = make(backend_for, fake.host)
        lines = [p async for p in backend.pull("smollm:135m")]
        listed = await backend.list_models()
    assert lines[0].status == "pulling manifest"
    first_layer = PULL["layers"][0]
    downloads = [p for p in lines if p.digest == first_layer["digest"]]
    assert downloads[0].completed is None  # "the completed key may not be included"
    assert [p.completed for p in downloads[1:]] == [
        first_layer["total"] * i // 10 for i in range(1, 11)
    ]
    assert {p.total for p in downloads} == {first_layer["total"]}
    assert [p.status for p in lines[-4:]] == [
        "verifying sha256 digest",
        "writing manifest",
        "removing any unused layers",
        "success",
    ]
    assert listed.models == ["ollama/smollm:135m"]
    assert fake.requests_to("/api/pull")[0].body == {
        "model": "smollm:135m",
        "insecure": False,
        "stream": True,
    }


async def test_pull_of_a_name_the_registry_lacks_is_one_sentence(
    backend_for: list[OllamaBackend],
) -> None:
    with FakeOllamaAdmin() as fake:
        backend = make(backend_for, fake.host)
        with pytest.raises(ModelNotInRegistryError) as raised:
            [p async for p in backend.pull("lama3.2")]
    assert str(raised.value) == (
        "Ollama cannot pull 'lama3.2': pull model manifest: file does not exist "
        "(check the name on ollama.com)."
    )


async def test_prewarm_loads_with_keep_alive_and_no_prompt(
    backend_for: list[OllamaBackend],
) -> None:
    with FakeOllamaAdmin(installed=("llama3.2:3b",)) as fake:
        backend = make(backend_for, fake.host)
        await backend.prewarm("llama3.2:3b", "10m")
        await backend.prewarm("llama3.2:3b", "3600")
        loaded = await backend.loaded_models()
    bodies = [r.body for r in fake.requests_to("/api/generate")]
    assert bodies == [
        {"model": "llama3.2:3b", "stream": False, "keep_alive": "10m"},
        {"model": "llama3.2:3b", "stream": False, "keep_alive": 3600.0},  # seconds
    ]
    assert [m.name for m in loaded] == ["llama3.2:3b"]


async def test_prewarm_of_a_missing_model(backend_for: list[OllamaBackend]) -> None:
    with FakeOllamaAdmin() as fake:
        backend = make(backend_for, fake.host)
        with pytest.raises(UnknownModelError, match="has no model 'qwen3:4b'"):
            await backend.prewarm("qwen3:4b", "5m")


async def test_unreachable_ollama_is_typed(backend_for: list[OllamaBackend]) -> None:
    backend = make(backend_for, f"http://127.0.0.1:{CLOSED_PORT}")
    with pytest.raises(ProviderUnreachableError, match="not reachable"):
        await backend.loaded_models()
    with pytest.raises(ProviderUnreachableError, match="not reachable"):
        [p async for p in backend.pull("llama3.2")]
    with pytest.raises(ProviderUnreachableError, match="not reachable"):
        await backend.prewarm("llama3.2", "5m")


def test_model_names_and_pull_workflow_ids() -> None:
    assert full_name("ollama/llama3.2") == "llama3.2:latest"
    assert full_name("llama3.2:3b") == "llama3.2:3b"
    assert full_name("library/llama3.2") == "library/llama3.2:latest"
    assert full_name("host:5000/me/model") == "host:5000/me/model:latest"
    # "llama3.2" and "llama3.2:latest" are one model: one pull
    assert pull_workflow_id("llama3.2") == pull_workflow_id("ollama/llama3.2:latest")
    assert pull_workflow_id("me/model:q4") == "pull-ollama-me~model:q4"


async def test_every_backends_circuit_key_names_its_provider() -> None:
    """Health reports circuits per provider by the label each backend gives its models."""
    circuits = CircuitBreaker()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    backends = {
        "ollama": OllamaBackend("http://127.0.0.1:1", circuits=circuits),
        "local": EmbeddedBackend("http://127.0.0.1:2/v1", circuits=circuits),
        "openai": OpenAIBackend("sk-test", None, circuits=circuits),
        "litellm": LitellmBackend(settings.litellm_api_base, "sk-test", circuits=circuits),
    }
    names = {"ollama": "m", "local": "smollm2", "openai": "m", "litellm": "openai/m"}
    for prefix, backend in backends.items():
        guarded = guarded_of(backend.get_model(names[prefix]))
        assert guarded is not None
        assert provider_of(guarded.circuit_key) == prefix, guarded.circuit_key
        await backend.aclose()
    native = OllamaBackend("http://127.0.0.1:1", circuits=circuits, api_mode="native")
    guarded = guarded_of(native.get_model("m"))
    assert guarded is not None and provider_of(guarded.circuit_key) == "ollama"
    await native.aclose()
