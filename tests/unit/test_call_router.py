"""CallRouter, the per-call seam between the Agents SDK run and the policy: what it
reads from a call's input, what it asks the privacy scan, how it pins a run."""

from __future__ import annotations

from typing import Any

from hybridagent.activities.privacy import PrivacyActivities
from hybridagent.activity_io import PrivacyScanRequest, PrivacyScanResult, RoutingSetup
from hybridagent.routing.policy import Candidate
from hybridagent.routing.preferences import PrivacySettings, RoutingPreferences
from hybridagent.workflows.call_router import CallRouter, NoFallback, Route, RoutedCall

LOCAL = Candidate("local/smollm2", local=True, context_window=4096)
CLOUD = Candidate("openai/gpt-4o", local=False, context_window=128_000, vision=True)
CONFIDENTIAL = "Keep this confidential: the launch moves to May."


def call(system_prompt: str | None, items: list[Any], tools: int = 0) -> RoutedCall:
    """A call of the general agent, as the routed stub hands it to the router."""
    return RoutedCall("general", system_prompt, items, tools=tools)


class Scanner:
    """The scan_privacy activity called in process, recording what it was asked."""

    def __init__(self) -> None:
        self.activities = PrivacyActivities()
        self.requests: list[PrivacyScanRequest] = []

    async def __call__(self, request: PrivacyScanRequest) -> PrivacyScanResult:
        self.requests.append(request)
        return await self.activities.scan_privacy(request)


def router(scanner: Scanner | None = None, **setup: Any) -> CallRouter:
    config = RoutingSetup(candidates=[LOCAL, CLOUD], complexity_threshold=0.0, **setup)
    return CallRouter(RoutingPreferences(), config, scanner or Scanner())


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


# No term the rules know (they now read "autism" beside a named person): only the learned
# stage sees it.
DISCLOSURE = "my son is bullied at Hillcrest Primary and stopped eating, write to his teacher"


async def test_learned_stage_pins_a_disclosure_with_no_format() -> None:
    route = router()
    first = await route.route(call("Be brief.", user(DISCLOSURE)))
    assert first.model == "local/smollm2" and first.decision.local_only
    [kind] = route.trail[0].finding_types
    assert kind.startswith("learned_")
    assert first.summary.startswith(
        f"general · local/smollm2 · local only: sensitive input ({kind})"
    )
    later = await route.route(call("Be brief.", user("Thanks, what else?")))
    assert later.model == "local/smollm2" and "run is privacy-pinned" in later.decision.reasons


async def test_user_words_are_prose_the_rest_is_read_by_the_rules() -> None:
    scanner = Scanner()
    route = router(scanner)
    tool_result = {"type": "function_call_output", "call_id": "c1", "output": DISCLOSURE}
    decision = await route.route(call("Be brief.", [*user("Summarise it."), tool_result]))
    assert decision.model == "openai/gpt-4o"  # a tool result's prose is not the user's
    parts = scanner.requests[0].parts
    assert [p.prose for p in parts] == [False, True, False]
    assert parts[1].text == "Summarise it."


async def test_the_privacy_configuration_reaches_the_scan() -> None:
    scanner = Scanner()
    off = router(scanner, privacy=PrivacySettings(learned=False))
    assert (await off.route(call(None, user(DISCLOSURE)))).model == "openai/gpt-4o"
    assert scanner.requests[0].privacy.learned is False


async def test_image_input_needs_a_model_with_vision() -> None:
    image = [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is in this picture?"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
            ],
        }
    ]
    route = router(requested="local/smollm2")
    decision = await route.route(call(None, image))
    assert decision.model == "openai/gpt-4o"
    assert decision.decision.rejected == {"local/smollm2": "cannot read images"}
    assert "requested model local/smollm2 rejected: cannot read images" in (
        decision.decision.reasons
    )


async def test_trail_records_complexity_factors_and_tokens() -> None:
    route = router()
    route.answered("openai/gpt-4o", 120)  # an earlier call of the run used 120 tokens
    await route.route(call("Explain why, step by step.", user("Compare designs.")))
    [record] = route.trail
    assert record.complexity_factors["reasoning"] == 1.0
    assert record.tokens_used == 120 and record.input_tokens > 0


async def test_later_calls_scan_only_new_items_and_still_catch_them() -> None:
    route = router()
    history = user("Plan the migration step by step.") + [
        {"role": "assistant", "content": "First, list the services."}
    ]
    assert not (await route.route(call(None, history))).decision.local_only
    seen = len(route._scanned)
    tool_result = {"type": "function_call_output", "output": "owner: ana.kowalski@northwind.io"}
    decision = await route.route(call(None, [*history, tool_result]))
    assert decision.decision.local_only and route.trail[-1].finding_types == ["email"]
    assert len(route._scanned) == seen + 1  # only the tool result was new


SMALL = Candidate("ollama/small", local=True, context_window=2048)
BIG_LOCAL = Candidate("ollama/big", local=True, context_window=32_000)


def fallback_router(
    fallbacks: dict[str, list[str]] | None = None, preferences: RoutingPreferences | None = None
) -> CallRouter:
    setup = RoutingSetup(candidates=[SMALL, LOCAL, BIG_LOCAL, CLOUD], fallbacks=fallbacks or {})
    return CallRouter(preferences or RoutingPreferences(), setup, Scanner())


def rerouted(outcome: Route | NoFallback) -> Route:
    assert isinstance(outcome, Route), outcome
    return outcome


async def test_fallback_without_chain_is_the_policys_next_choice() -> None:
    route = fallback_router()
    assert (await route.route(call(None, user("Say hi.")))).model == "ollama/small"
    decision = rerouted(
        route.fallback("general", "ollama/small", "ProviderUnreachableError", larger=False)
    )
    assert decision.model == "local/smollm2"
    reasons = decision.decision.reasons
    assert reasons[0] == "fallback: ollama/small failed (ProviderUnreachableError)"
    assert decision.decision.rejected["ollama/small"] == "failed: ProviderUnreachableError"
    record = route.trail[-1]
    assert (record.call, record.fallback_from, record.failure) == (
        1, "ollama/small", "ProviderUnreachableError"
    )  # fmt: skip
    # The failed model is not chosen again in this run.
    assert (await route.route(call(None, user("Again.")))).model == "local/smollm2"


async def test_fallback_follows_the_configured_chain() -> None:
    route = fallback_router({"ollama/small": ["openai/gpt-4o", "ollama/big"]})
    await route.route(call(None, user("Say hi.")))
    first = rerouted(route.fallback("general", "ollama/small", "ModelNotFoundError", larger=False))
    assert first.model == "openai/gpt-4o"
    second = rerouted(route.fallback("general", first.model, "ProviderServerError", larger=False))
    assert second.model == "ollama/big"  # next in the chain of the call's primary
    last = route.fallback("general", second.model, "ProviderServerError", larger=False)
    assert isinstance(last, NoFallback) and last.decision.error is not None
    assert "no model of its fallback chain can take the call" in last.decision.error


async def test_fallback_of_a_pinned_call_never_goes_to_the_cloud() -> None:
    route = fallback_router({"ollama/small": ["openai/gpt-4o"]})
    await route.route(call(None, user("My SSN is 512-48-7730.")))
    refused = route.fallback("general", "ollama/small", "ProviderUnreachableError", larger=False)
    assert isinstance(refused, NoFallback)
    assert refused.decision.rejected["openai/gpt-4o"] == "cloud model, call must stay local"
    unchained = fallback_router()
    model = (await unchained.route(call(None, user("My SSN is 512-48-7730.")))).model
    for _ in range(2):
        local = rerouted(unchained.fallback("general", model, "ProviderServerError", larger=False))
        assert local.model in ("local/smollm2", "ollama/big") and local.decision.local_only
        model = local.model
    assert isinstance(unchained.fallback("general", model, "X", larger=False), NoFallback)


async def test_context_too_long_falls_back_to_a_larger_context() -> None:
    route = fallback_router(preferences=RoutingPreferences(force_provider="local"))
    await route.route(call(None, user("Summarise this.")))
    decision = rerouted(
        route.fallback("general", "ollama/small", "ContextTooLongError", larger=True)
    )
    # local/smollm2 (4096) would fit the estimate, but not more than the failed 2048
    # window is known to fit: any larger window is a candidate, the smallest first.
    assert decision.model == "local/smollm2"
    bigger = rerouted(route.fallback("general", decision.model, "ContextTooLongError", larger=True))
    assert bigger.model == "ollama/big"
    assert bigger.decision.rejected["local/smollm2"] == "failed: ContextTooLongError"


async def test_refused_connections_fail_over_at_once_only_when_another_model_can_take_it() -> None:
    route = fallback_router()
    assert (await route.route(call(None, user("Say hi.")))).fail_fast
    alone = CallRouter(RoutingPreferences(), RoutingSetup(candidates=[LOCAL]), Scanner())
    assert not (await alone.route(call(None, user("Say hi.")))).fail_fast


async def test_largest_context_is_the_largest_model_that_may_take_the_run() -> None:
    route = router()
    assert route.largest_context(local_only=False) == CLOUD.context_window
    assert route.largest_context(local_only=True) == LOCAL.context_window
    await route.route(call(None, user("My SSN is 512-48-7730.")))  # pins the run
    assert route.largest_context(local_only=False) == LOCAL.context_window
    route.failed[LOCAL.name] = "ProviderUnreachableError"
    assert route.largest_context(local_only=False) == 0  # nothing local left


def test_largest_context_follows_privacy_max_and_force_local() -> None:
    for prefs in (
        RoutingPreferences(privacy_level="max"),
        RoutingPreferences(force_provider="local"),
    ):
        config = RoutingSetup(candidates=[LOCAL, CLOUD])
        route = CallRouter(prefs, config, Scanner())
        assert route.largest_context(local_only=False) == LOCAL.context_window
