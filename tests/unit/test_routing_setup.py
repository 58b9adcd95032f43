"""The routing configuration (hybridagent.toml + environment), preference merging,
model capabilities (Ollama's /api/show, the catalog) and the `routing_setup` activity
that hands all of it to a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from hybridagent.activities.models import ModelActivities
from hybridagent.activity_io import RoutingSetupRequest
from hybridagent.config import ConfigError, Settings, load_settings
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.embedded import EmbeddedBackend
from hybridagent.providers.errors import ProviderUnreachableError
from hybridagent.providers.guarded import guarded_of
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.providers.openai import OpenAIBackend
from hybridagent.routing.catalog import UNKNOWN_CLOUD, cloud_capabilities
from hybridagent.routing.names import UnknownModelError
from hybridagent.routing.preferences import RoutingPreferences, RoutingSettings, merge
from tests.fixtures.ollama_api import OllamaFixtureServer

CONFIG = """
task_queue = "from-file"
cloud_model = "openai/gpt-4o"

[routing]
local_models = ["ollama/llama3.2:3b", "local/smollm2"]
cloud_models = ["openai/gpt-4o-mini"]
complexity_threshold = 0.7
terms = ["Project Falcon"]
patterns = ['ACME-\\d{6}']

[routing.agents.research]
privacy_level = "high"
latency_preference = "quality"
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "hybridagent.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("HYBRIDAGENT_CONFIG", str(path))
    return path


def test_config_file_sets_routing_and_other_settings(config_file: Path) -> None:
    settings = load_settings()
    assert settings.task_queue == "from-file" and settings.cloud_model == "openai/gpt-4o"
    routing = settings.routing
    assert routing.local_models == ["ollama/llama3.2:3b", "local/smollm2"]
    assert routing.complexity_threshold == 0.7 and routing.budget_reserve == 0.1
    assert routing.terms == ["Project Falcon"] and routing.patterns == [r"ACME-\d{6}"]
    assert routing.agents["research"].privacy_level == "high"
    assert routing.agents["research"].model_fields_set == {"privacy_level", "latency_preference"}


def test_environment_overrides_the_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDAGENT_TASK_QUEUE", "from-env")
    monkeypatch.setenv("HYBRIDAGENT_ROUTING__COMPLEXITY_THRESHOLD", "0.3")
    monkeypatch.setenv(
        "HYBRIDAGENT_ROUTING__CLOUD_MODELS", '["litellm/anthropic/claude-3-5-haiku"]'
    )
    settings = load_settings()
    assert settings.task_queue == "from-env"
    assert settings.routing.complexity_threshold == 0.3
    assert settings.routing.cloud_models == ["litellm/anthropic/claude-3-5-haiku"]
    assert settings.routing.local_models == ["ollama/llama3.2:3b", "local/smollm2"]  # file kept


def test_no_file_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYBRIDAGENT_CONFIG", raising=False)
    assert load_settings().routing == RoutingSettings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[routing\n", r"is not valid TOML"),
        ("[routing]\ncomplexity_threshold = 2", r"threshold .*less than or equal to 1"),
        ('[routing]\nlocal_models = ["openai/gpt-4o"]', r"gpt-4o is listed in local_models but"),
        ('[routing]\ncloud_models = ["gpt-4o"]', r"has no provider prefix"),
        ('[routing]\npatterns = ["(unclosed"]', r"is not a valid regular expression"),
        ('[routing.agents.x]\nprivacy_level = "extreme"', r"routing\.agents\.x\.privacy_level"),
        ("[routing]\nthreshold = 0.3", r"routing\.threshold .*Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_bad_configuration_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    monkeypatch.setenv("HYBRIDAGENT_CONFIG", str(path))
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings()
    assert "\n" not in str(caught.value)


def test_config_variable_naming_a_missing_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDAGENT_CONFIG", "/nonexistent/hybridagent.toml")
    with pytest.raises(
        ConfigError, match="names /nonexistent/hybridagent.toml, which is not a file"
    ):
        load_settings()


def test_example_configuration_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).parents[2] / "hybridagent.example.toml"
    monkeypatch.setenv("HYBRIDAGENT_CONFIG", str(example))
    assert load_settings().routing.agents  # documents per-agent preferences too


def test_merge_most_specific_first_and_terms_add_up() -> None:
    request = RoutingPreferences(latency_preference="speed", terms=["Falcon"])
    spec = RoutingPreferences(privacy_level="high", latency_preference="quality")
    configured = RoutingPreferences(force_provider="local", privacy_level="max", terms=["Orca"])
    merged = merge(request, None, spec, configured)
    assert merged.latency_preference == "speed"  # the request wins
    assert merged.privacy_level == "high"  # the spec beats the configuration
    assert merged.force_provider == "local"  # only the configuration set it
    assert merged.terms == ["Falcon", "Orca"]
    assert merge() == RoutingPreferences()


def test_cloud_catalog_longest_prefix_and_unknown_default() -> None:
    assert cloud_capabilities("gpt-4o-mini").vision
    assert cloud_capabilities("gpt-4.1-nano").context_window == 1_047_576
    assert cloud_capabilities("anthropic/claude-3-5-haiku-20241022").context_window == 200_000
    assert cloud_capabilities("some-new-model") == UNKNOWN_CLOUD


async def test_ollama_capabilities_from_api_show() -> None:
    server = OllamaFixtureServer(
        {"llama3.2:3b": "show_llama3.2.json", "llava:7b": "show_llava.json"}
    )
    backend = OllamaBackend(
        "http://ollama:11434", served_context=8192, transport=httpx.MockTransport(server)
    )
    llama = await backend.capabilities("llama3.2:3b")
    llava = await backend.capabilities("llava:7b")
    # Trained for 128k, but Ollama serves OLLAMA_CONTEXT_LENGTH tokens: the real window.
    assert (llama.context_window, llama.tools, llama.vision) == (8192, True, False)
    assert (llava.context_window, llava.tools, llava.vision) == (2048, False, True)
    with pytest.raises(UnknownModelError, match="has no model 'missing:1b'; pull it with"):
        await backend.capabilities("missing:1b")
    assert [r.url.path for r in server.requests] == ["/api/show"] * 3


async def test_ollama_capabilities_when_ollama_is_down() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    backend = OllamaBackend("http://ollama:11434", transport=httpx.MockTransport(refuse))
    with pytest.raises(
        ProviderUnreachableError, match=r"^Ollama is not reachable at http://ollama:11434 \("
    ):
        await backend.capabilities("llama3.2:3b")


def provider(
    default: str | None, server: OllamaFixtureServer, key: str | None
) -> HybridModelProvider:
    transport = httpx.MockTransport(server)
    backends: dict[str, Any] = {
        "ollama": OllamaBackend("http://ollama:11434", transport=transport),
        "local": EmbeddedBackend(None),
        "openai": OpenAIBackend(key, transport=transport),
    }
    return HybridModelProvider(backends, default)


async def setup_for(
    activities: ModelActivities, requested: str | None = None, agent: str = "general"
) -> Any:
    return await ActivityEnvironment().run(
        activities.routing_setup, RoutingSetupRequest(requested=requested, agent=agent)
    )


async def test_routing_setup_lists_configured_models_with_capabilities() -> None:
    server = OllamaFixtureServer({"llama3.2:3b": "show_llama3.2.json"})
    routing = RoutingSettings(
        local_models=["ollama/llama3.2:3b", "ollama/qwen3:4b", "local/smollm2"],
        cloud_models=["openai/gpt-4o-mini"],
        complexity_threshold=0.6,
        terms=["Falcon"],
        agents={"research": RoutingPreferences(privacy_level="high")},
    )
    activities = ModelActivities(provider("ollama/llama3.2:3b", server, "sk-x"), routing)
    setup = await setup_for(activities, agent="research")
    by_name = {c.name: c for c in setup.candidates}
    assert list(by_name) == routing.local_models + routing.cloud_models
    assert by_name["ollama/llama3.2:3b"].available and by_name["ollama/llama3.2:3b"].tools
    assert by_name["ollama/llama3.2:3b"].context_window == 4096
    assert by_name["ollama/qwen3:4b"].unavailable_reason == (
        "Ollama at http://ollama:11434 has no model 'qwen3:4b'; pull it with `ollama pull qwen3:4b`"
    )
    assert by_name["local/smollm2"].unavailable_reason.startswith(
        "The embedded model is not running on this worker"
    )
    assert by_name["openai/gpt-4o-mini"].available and by_name["openai/gpt-4o-mini"].vision
    assert setup.complexity_threshold == 0.6 and setup.terms == ["Falcon"]
    assert setup.agent_preferences == RoutingPreferences(privacy_level="high")
    assert setup.requested is None
    # /api/show answers are cached per worker process.
    await setup_for(activities)
    assert [r.url.path for r in server.requests].count("/api/show") == 3  # 2 + qwen again


async def test_routing_setup_defaults_and_requested_model() -> None:
    server = OllamaFixtureServer({"llama3.2:3b": "show_llama3.2.json"})
    activities = ModelActivities(
        provider("ollama/llama3.2:3b", server, "sk-x"), cloud_model="openai/gpt-4o-mini"
    )
    setup = await setup_for(activities, requested="openai/gpt-4o")
    assert [c.name for c in setup.candidates] == [
        "openai/gpt-4o", "ollama/llama3.2:3b", "openai/gpt-4o-mini"
    ]  # fmt: skip
    assert setup.requested == "openai/gpt-4o" and not setup.requested_is_local


async def test_routing_setup_marks_a_requested_model_it_cannot_use() -> None:
    """No key, no such model: unavailable with the reason, which the router turns into
    a notice or, for a strict run, the run's failure (tests/unit/test_substitution.py)."""
    server = OllamaFixtureServer({})
    activities = ModelActivities(provider("ollama/llama3.2:3b", server, None))
    setup = await setup_for(activities, requested="openai/gpt-4o")
    requested = setup.candidates[0]
    assert (requested.name, requested.available) == ("openai/gpt-4o", False)
    assert requested.unavailable_reason == "no OPENAI_API_KEY is set on the worker"
    assert setup.requested == "openai/gpt-4o"
    missing = (await setup_for(activities, requested="ollama/nope:1b")).candidates[0]
    assert not missing.available
    assert missing.unavailable_reason.startswith("Ollama at http://ollama:11434 has no model")
    # A name no backend can mean is a mistake: the run fails.
    with pytest.raises(ApplicationError, match="Unknown model prefix 'gemini'"):
        await setup_for(activities, requested="gemini/pro")
    with pytest.raises(ApplicationError) as alias:
        await setup_for(activities, requested="local/nope")
    assert alias.value.type == "UnknownModelError" and alias.value.non_retryable


async def test_requested_model_on_a_backend_that_is_down_is_left_to_the_model_call() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    backends: dict[str, Any] = {
        "ollama": OllamaBackend("http://ollama:11434", transport=httpx.MockTransport(refuse))
    }
    activities = ModelActivities(HybridModelProvider(backends, "ollama/llama3.2:3b"))
    setup = await setup_for(activities, requested="ollama/llama3.2:3b")
    assert setup.requested == "ollama/llama3.2:3b"
    # Requested: kept available, so the model call retries it durably and reports why.
    assert setup.candidates[0].available
    assert [c.name for c in setup.candidates] == ["ollama/llama3.2:3b"]


async def test_requested_model_with_an_open_circuit_is_unavailable() -> None:
    circuits = CircuitBreaker(failure_threshold=1, cooldown_seconds=30)
    embedded = EmbeddedBackend("http://127.0.0.1:9/v1", circuits=circuits)
    provider = HybridModelProvider(
        {"local": embedded, "openai": OpenAIBackend("sk-test", "http://127.0.0.1:9/v1")},
        "local/smollm2",
    )
    activities = ModelActivities(provider, cloud_model="openai/gpt-4o-mini")
    setup = await setup_for(activities, requested="local/smollm2")
    assert setup.candidates[0].available  # closed: the model call finds out
    key = guarded_of(provider.get_model("local/smollm2")).circuit_key  # type: ignore[union-attr]
    circuits.failure(key, "ProviderUnreachableError")
    setup = await setup_for(activities, requested="local/smollm2")
    requested, cloud = setup.candidates
    assert requested.name == "local/smollm2" and not requested.available
    assert requested.unavailable_reason.startswith("circuit open after repeated failures")
    assert cloud.name == "openai/gpt-4o-mini" and cloud.available


async def test_routing_setup_with_no_model_at_all() -> None:
    activities = ModelActivities(provider(None, OllamaFixtureServer({}), None))
    with pytest.raises(ApplicationError) as caught:
        await setup_for(activities)
    assert caught.value.message.startswith("No default model is available")
    assert caught.value.non_retryable


def test_settings_accept_routing_by_field_name() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        routing={
            "privacy": {"learned": False, "threshold": 0.8, "categories": {"ancillary": False}}
        },
    )
    config = settings.routing.privacy.detector_config()
    assert not config.learned and config.threshold == 0.8
    assert "ancillary" not in config.categories and "health" in config.categories


def test_unknown_privacy_category_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown privacy categories medical; the categories are"):
        Settings(_env_file=None, routing={"privacy": {"categories": {"medical": False}}})  # type: ignore[call-arg]
