"""The backend registry (providers/registry.py): the built-in specs agree with the
built-in names, a registered spec is parsed, built, asked for capabilities, listed and
closed like the built-in ones, and registration is undone cleanly."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from hybridagent.activities.models import ModelActivities, RoutingSetupRequest
from hybridagent.config import Settings
from hybridagent.providers.base import Backend, ModelBackend, ModelListing
from hybridagent.providers.embedded import EmbeddedBackend
from hybridagent.providers.factory import build_provider_stack
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.providers.openai import OpenAIBackend
from hybridagent.providers.registry import (
    BUILTIN,
    BackendSpec,
    BuildContext,
    BuiltBackend,
    Registry,
)
from hybridagent.routing.catalog import Capabilities
from hybridagent.routing.names import BUILTIN_NAMES, NameRule, UnknownModelError
from hybridagent.testing.scripted_model import ScriptedModel
from hybridagent.worker_health import WorkerHealth


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("Connection refused", request=request)


def settings(tmp_path: Path, **values: object) -> Settings:
    base: dict[str, object] = {"embedded": "off", "state_dir": tmp_path}
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


class Log:
    """What the specs below were asked to do, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def spec(
        self,
        prefix: str,
        *,
        local: bool = False,
        offers: str | None = None,
        fails: bool = False,
        close_fails: bool = False,
    ) -> BackendSpec:
        async def build(ctx: BuildContext) -> BuiltBackend:
            self.events.append(f"build {prefix} (offered before: {ctx.default_model})")
            if fails:
                raise RuntimeError(f"{prefix} cannot start")

            async def close() -> None:
                self.events.append(f"close {prefix}")
                if close_fails:
                    raise RuntimeError(f"{prefix} cannot close")

            backend = ModelBackend(prefix, lambda m: ScriptedModel(), models=["m"])
            return BuiltBackend(backend, close, default_model=offers)

        async def capabilities(
            backend: Backend, model: str, *, served_context: int
        ) -> Capabilities:
            self.events.append(f"capabilities {prefix}/{model} ({served_context})")
            return Capabilities(context_window=served_context * 2, tools=False, vision=True)

        return BackendSpec(NameRule(prefix, local=local), prefix.title(), build, capabilities)


def test_the_builtin_specs_have_the_builtin_names() -> None:
    assert BUILTIN.names == BUILTIN_NAMES
    assert [s.prefix for s in BUILTIN] == ["ollama", "local", "openai", "litellm"]
    assert [s.local for s in BUILTIN] == [True, True, False, False]


def test_a_registered_prefix_is_parsed_local_or_not_and_named_in_errors() -> None:
    registry = BUILTIN.copy()
    with registry.registered(Log().spec("fake", local=True)):
        ref = registry.names.parse("fake/echo")
        assert (ref.name, ref.is_local) == ("fake/echo", True)
        with pytest.raises(UnknownModelError) as caught:
            registry.names.parse("bedrock/x")
        assert str(caught.value).endswith(
            "valid prefixes are ollama, local, openai, litellm, fake."
        )
    with pytest.raises(UnknownModelError):
        registry.names.parse("fake/echo")
    assert BUILTIN.spec("fake") is None  # the copy was registered, not BUILTIN


@pytest.mark.parametrize("prefix", ["ollama", "auto", "a/b", ""])
def test_a_prefix_that_is_taken_or_cannot_be_parsed_is_refused(prefix: str) -> None:
    registry = BUILTIN.copy()
    with pytest.raises(ValueError, match="prefix"):
        registry.register(Log().spec(prefix))
    assert registry.names == BUILTIN_NAMES


def test_unregister_removes_only_its_own_spec_and_a_copy_is_a_snapshot() -> None:
    registry = Registry()
    unregister = registry.register(Log().spec("one"))
    snapshot = registry.copy()
    unregister()
    again = registry.register(Log().spec("one"))
    unregister()  # a second call leaves the spec registered since alone
    assert registry.names.prefixes == ("one",)
    again()
    assert registry.names.prefixes == ()
    assert snapshot.names.prefixes == ("one",)


def test_circuits_are_filed_by_the_labels_of_the_specs() -> None:
    registry = BUILTIN.copy()
    registry.register(Log().spec("fake"))
    assert registry.provider_of("Fake in-process") == "fake"
    assert registry.provider_of("LiteLLM (anthropic) provider defaults") == "litellm"
    assert registry.provider_of("The embedded model server http://127.0.0.1:1/v1/") == "local"
    assert registry.provider_of("Fakery in-process") == "other"  # a label, not a prefix of one
    assert BUILTIN.provider_of("Fake in-process") == "other"


async def test_the_stack_builds_every_spec_in_order_and_closes_them_in_reverse(
    tmp_path: Path,
) -> None:
    log = Log()
    registry = Registry([log.spec("a"), log.spec("b", offers="b/m"), log.spec("c", offers="c/m")])
    stack = await build_provider_stack(settings(tmp_path), registry=registry)
    assert log.events == [
        "build a (offered before: None)",
        "build b (offered before: None)",
        "build c (offered before: b/m)",
    ]
    assert stack.provider.default_model == "b/m"  # auto: the first offer
    assert stack.provider.resolve("c/x").name == "c/x"
    await stack.aclose()
    assert log.events[3:] == ["close c", "close b", "close a"]


async def test_a_close_that_fails_does_not_keep_the_others_open(tmp_path: Path) -> None:
    log = Log()
    registry = Registry([log.spec("a"), log.spec("b", close_fails=True), log.spec("c")])
    stack = await build_provider_stack(settings(tmp_path), registry=registry)
    with pytest.raises(RuntimeError, match="b cannot close"):
        await stack.aclose()
    assert log.events[3:] == ["close c", "close b", "close a"]


async def test_a_build_that_fails_closes_what_was_built_before_it(tmp_path: Path) -> None:
    log = Log()
    registry = Registry([log.spec("a"), log.spec("b"), log.spec("c", fails=True)])
    with pytest.raises(RuntimeError, match="c cannot start"):
        await build_provider_stack(settings(tmp_path), registry=registry)
    assert log.events[3:] == ["close b", "close a"]


async def test_the_builtin_stack_with_ollama_down(tmp_path: Path) -> None:
    stack = await build_provider_stack(
        settings(tmp_path, ollama_host="http://ollama:11434", openai_api_key="sk-x"),
        transport=httpx.MockTransport(refuse),
    )
    try:
        assert list(stack.built) == ["ollama", "local", "openai", "litellm"]
        assert not stack.ollama_reachable and stack.supervisor is None
        assert stack.provider.default_model is None  # no Ollama, no embedded model
        assert isinstance(stack.provider.backend("ollama"), OllamaBackend)
        assert isinstance(stack.provider.backend("openai"), OpenAIBackend)
        embedded = stack.provider.backend("local")
        assert isinstance(embedded, EmbeddedBackend) and not embedded.available
    finally:
        await stack.aclose()


async def test_the_routing_setup_asks_the_spec_for_capabilities() -> None:
    log = Log()
    registry = BUILTIN.copy()
    registry.register(log.spec("fake", local=True))
    backends = {"fake": ModelBackend("fake", lambda m: ScriptedModel())}
    provider = HybridModelProvider(backends, None, registry=registry)
    activities = ModelActivities(provider, embedded_context=1000)
    setup = await ActivityEnvironment().run(
        activities.routing_setup, RoutingSetupRequest(requested="fake/echo")
    )
    [candidate] = setup.candidates
    assert (candidate.name, candidate.local, candidate.context_window) == ("fake/echo", True, 2000)
    assert (candidate.tools, candidate.vision) == (False, True)
    assert log.events == ["capabilities fake/echo (1000)"]


async def test_a_spec_without_a_listing_is_built_listed_and_closed(tmp_path: Path) -> None:
    log = Log()
    spec = log.spec("fake")
    assert await spec.listing(settings(tmp_path)) == ModelListing(
        "fake", "in-process", True, ["fake/m"]
    )
    assert log.events == ["build fake (offered before: None)", "close fake"]


async def test_a_row_the_worker_reports_is_listed_as_it_says(tmp_path: Path) -> None:
    log = Log()
    row = ModelListing("fake", "on the worker", False, detail="unplugged")
    health = WorkerHealth(
        identity="w", pid=1, hostname="h", task_queue="q", default_model=None, ollama=None,
        backends=[row],
    )  # fmt: skip
    assert health.backend_row("fake") == row and health.backend_row("openai") is None
    assert WorkerHealth.model_validate_json(health.model_dump_json()) == health
    assert await log.spec("fake").listing(settings(tmp_path), health) == row
    assert log.events == []  # nothing built
