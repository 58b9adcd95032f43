"""No silent substitution (issue 12, item 6): a model the run names that cannot take a
call fails a strict run with the reason, or is replaced and the run says so in a notice.
The whole path on real servers is in tests/integration/test_substitution.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from hybridagent.activity_io import RoutingSetup
from hybridagent.providers.errors import MissingApiKeyError
from hybridagent.providers.litellm import LitellmBackend, missing_key
from hybridagent.routing.policy import Candidate
from hybridagent.routing.preferences import RoutingPreferences
from hybridagent.workflows.call_router import CallRouter, NoFallback, Route
from tests.unit.test_call_router import LOCAL, Scanner, call, user

OLLAMA = Candidate("ollama/llama3.2:3b", local=True, context_window=4096)
NO_KEY = Candidate(
    "litellm/anthropic/claude-3-5-haiku-latest",
    local=False,
    context_window=0,
    available=False,
    unavailable_reason="no ANTHROPIC_API_KEY is set on the worker",
)
CLOUD = Candidate("openai/gpt-4o", local=False, context_window=128_000)


def named(requested: Candidate, *, strict: bool = False, **prefs: Any) -> CallRouter:
    setup = RoutingSetup(candidates=[requested, LOCAL], requested=requested.name)
    return CallRouter(RoutingPreferences(**prefs), setup, Scanner(), strict=strict)


async def test_a_named_model_without_a_key_is_replaced_with_a_notice() -> None:
    route = named(NO_KEY)
    decision = await route.route(call(None, user("Say hi.")))
    assert decision.model == "local/smollm2"
    assert route.notices(["local/smollm2"]) == [
        "litellm/anthropic/claude-3-5-haiku-latest could not be used (no ANTHROPIC_API_KEY is "
        "set on the worker); answered by local/smollm2"
    ]
    await route.route(call(None, user("Again.")))
    assert len(route.notices(["local/smollm2"])) == 1  # said once per run


async def test_a_strict_run_fails_with_the_reason_before_any_call() -> None:
    route = named(NO_KEY, strict=True)
    with pytest.raises(ApplicationError) as caught:
        await route.route(call(None, user("Say hi.")))
    assert caught.value.type == "RequestedModelUnavailable" and caught.value.non_retryable
    assert caught.value.message == (
        "litellm/anthropic/claude-3-5-haiku-latest cannot take this call (no ANTHROPIC_API_KEY "
        "is set on the worker); the run is strict, so no other model answered."
    )
    assert route.models_used == [] and route.tokens_used == 0  # no model was called


async def test_a_named_model_that_fails_is_replaced_with_its_own_reason() -> None:
    route = named(OLLAMA)
    assert (await route.route(call(None, user("Say hi.")))).model == OLLAMA.name
    assert route.notices([OLLAMA.name]) == []  # it answered: nothing to say
    why = "Ollama is not reachable at http://127.0.0.1:9 (APIConnectionError)."
    decision = route.fallback(
        "general", OLLAMA.name, "ProviderUnreachableError", larger=False, detail=why
    )
    assert isinstance(decision, Route) and decision.model == "local/smollm2"
    await route.route(call(None, user("Again.")))  # the failed model is not noted twice
    assert route.notices(["local/smollm2"]) == [
        "ollama/llama3.2:3b could not be used (Ollama is not reachable at http://127.0.0.1:9 "
        "(APIConnectionError)); answered by local/smollm2"
    ]


async def test_a_strict_run_does_not_fall_back_from_the_named_model() -> None:
    route = named(OLLAMA, strict=True)
    first = await route.route(call(None, user("Say hi.")))
    # No other model may answer: an unreachable backend is retried, not skipped.
    assert first.model == OLLAMA.name and not first.fail_fast
    decision = route.fallback("general", OLLAMA.name, "ProviderUnreachableError", larger=False)
    assert isinstance(decision, NoFallback)  # the stub re-raises the model's own error


async def test_a_call_the_policy_keeps_off_the_named_model_is_said_too() -> None:
    setup = RoutingSetup(candidates=[CLOUD, LOCAL], requested=CLOUD.name)
    route = CallRouter(RoutingPreferences(), setup, Scanner())
    assert (await route.route(call(None, user("Say hi.")))).model == CLOUD.name
    secret = user("My SSN is 512-48-7730, which form?")
    assert (await route.route(call(None, secret))).model == "local/smollm2"
    assert route.notices([CLOUD.name, "local/smollm2"]) == [
        "openai/gpt-4o could not take every call (cloud model, call must stay local); "
        "answered by local/smollm2"
    ]
    strict = CallRouter(RoutingPreferences(), setup, Scanner(), strict=True)
    with pytest.raises(ApplicationError, match="cloud model, call must stay local"):
        await strict.route(call(None, secret))


async def test_no_named_model_means_no_notice_and_nothing_strict() -> None:
    setup = RoutingSetup(candidates=[NO_KEY, LOCAL])
    route = CallRouter(RoutingPreferences(), setup, Scanner(), strict=True)
    assert (await route.route(call(None, user("Say hi.")))).model == "local/smollm2"
    assert route.notices(["local/smollm2"]) == []


def test_litellm_without_a_key_says_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    backend = LitellmBackend()
    with pytest.raises(MissingApiKeyError, match="^no ANTHROPIC_API_KEY is set on the worker$"):
        backend.get_model("anthropic/claude-3-5-haiku-latest")
    gemini = missing_key("gemini/gemini-1.5-flash", None, None)
    assert gemini is not None and gemini.startswith("no key for gemini is set on the worker (")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    assert backend.get_model("anthropic/claude-3-5-haiku-latest") is not None
    # A key given to hybridagent (LITELLM_API_KEY) serves every provider.
    assert missing_key("gemini/gemini-1.5-flash", "sk-test", None) is None


async def test_litellm_listing_is_not_reachable_without_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hybridagent.providers.litellm import PROVIDER_KEYS

    for names in PROVIDER_KEYS.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    listing = await LitellmBackend().list_models()
    assert not listing.reachable and listing.detail.startswith("no provider key set")
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
    listing = await LitellmBackend().list_models()
    assert listing.reachable and listing.detail.startswith("keys for groq")
    assert (await LitellmBackend(api_key="sk-test").list_models()).reachable
