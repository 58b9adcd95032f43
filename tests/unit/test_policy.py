"""The routing policy as a table: every combination of preference x sensitivity x
availability x capability, checked against the rules the policy must keep."""

from __future__ import annotations

import itertools

import pytest

from hybridagent.routing.complexity import complexity
from hybridagent.routing.policy import CallFacts, Candidate, Preferences, decide
from hybridagent.routing.thresholds import RoutingThresholds

LOCAL = Candidate(
    "local/smollm2", local=True, context_window=4096, tools=True, structured_output=True
)
LOCAL_PLAIN = Candidate(
    "ollama/tiny", local=True, context_window=2048, tools=False, structured_output=False
)
CLOUD = Candidate("openai/gpt-4o-mini", local=False, context_window=128_000, vision=True)

FORCE = ("none", "local", "cloud")
PRIVACY = ("standard", "high", "max")
LATENCY = ("speed", "balanced", "quality", "cost")
SENSITIVITY = ("none", "sensitive", "pinned")
AVAILABILITY = ("all", "local down", "cloud down", "all down")
NEEDS = ("text", "tools", "schema", "long", "vision")
COMPLEXITY = (0.1, 0.9)
REQUESTED = (None, LOCAL_PLAIN.name, CLOUD.name)


def candidates(availability: str) -> tuple[Candidate, ...]:
    local_up = availability in ("all", "cloud down")
    cloud_up = availability in ("all", "local down")
    return (
        Candidate(**{**LOCAL.__dict__, "available": local_up}),
        Candidate(**{**LOCAL_PLAIN.__dict__, "available": local_up}),
        Candidate(**{**CLOUD.__dict__, "available": cloud_up}),
    )


def facts(sensitivity: str, needs: str, score: float) -> CallFacts:
    return CallFacts(
        input_tokens=3000 if needs == "long" else 200,
        needs_tools=needs == "tools",
        needs_schema=needs == "schema",
        needs_vision=needs == "vision",
        sensitive_types=("email",) if sensitivity == "sensitive" else (),
        pinned=sensitivity == "pinned",
        complexity=score,
    )


TABLE = list(
    itertools.product(
        FORCE, PRIVACY, LATENCY, SENSITIVITY, AVAILABILITY, NEEDS, COMPLEXITY, REQUESTED
    )
)


@pytest.mark.parametrize(
    ("force", "privacy", "latency", "sensitivity", "availability", "needs", "score", "requested"),
    TABLE,
)
def test_policy_table(
    force: str,
    privacy: str,
    latency: str,
    sensitivity: str,
    availability: str,
    needs: str,
    score: float,
    requested: str | None,
) -> None:
    pool = candidates(availability)
    call = facts(sensitivity, needs, score)
    prefs = Preferences(
        force_provider=force,  # type: ignore[arg-type]
        privacy_level=privacy,  # type: ignore[arg-type]
        latency_preference=latency,  # type: ignore[arg-type]
        model=requested,
    )
    decision = decide(call, prefs, pool)
    chosen = next((c for c in pool if c.name == decision.model), None)
    must_stay_local = sensitivity != "none" or privacy == "max"

    # Privacy: never a cloud model for a sensitive, pinned or max-privacy call.
    assert decision.local_only == must_stay_local
    if must_stay_local:
        assert chosen is None or chosen.local
    # Decided models are available and can honour the call.
    if chosen is not None:
        assert chosen.available
        assert call.input_tokens <= chosen.context_window
        assert chosen.tools or not call.needs_tools
        assert chosen.structured_output or not call.needs_schema
        assert chosen.vision or not call.needs_vision
        assert decision.error is None
    else:
        assert decision.error and decision.error.startswith("No ")
    # force_provider is obeyed unless privacy forbids it.
    if force == "local" and chosen is not None:
        assert chosen.local
    if force == "cloud" and not must_stay_local:
        assert chosen is None or not chosen.local
    if force == "cloud" and must_stay_local:
        assert "force_provider=cloud refused: the call must stay local" in decision.reasons
    # A requested model is chosen whenever the rules allow it, and only then.
    if requested is not None:
        assert (decision.model == requested) == (requested not in decision.rejected)
    # Complexity: on standard privacy with both tiers up and no force or named model, hard
    # calls go to the cloud and easy ones stay local.
    if (
        force == "none"
        and privacy == "standard"
        and not must_stay_local
        and availability == "all"
        and requested is None
        and needs != "vision"
    ):
        threshold = {"speed": 0.65, "balanced": 0.5, "quality": 0.35, "cost": 0.8}[latency]
        assert chosen is not None
        assert chosen.local == (score < threshold)
    # A model is never chosen while a better-tier capable one is rejected for no reason.
    for name, why in decision.rejected.items():
        assert name != decision.model and why


def test_budget_nearly_spent_moves_down_to_local() -> None:
    call = CallFacts(input_tokens=100, complexity=0.9, tokens_used=950)
    decision = decide(call, Preferences(token_budget=1000), (LOCAL, CLOUD))
    assert decision.model == "local/smollm2"
    assert "token budget nearly spent (950/1000)" in decision.reasons
    assert (
        decide(
            CallFacts(100, complexity=0.9, tokens_used=100),
            Preferences(token_budget=1000),
            (LOCAL, CLOUD),
        ).model
        == CLOUD.name
    )


def test_a_runs_own_complexity_threshold_replaces_the_configured_one() -> None:
    call = CallFacts(input_tokens=100, complexity=0.3)
    assert decide(call, Preferences(), (LOCAL, CLOUD)).model == LOCAL.name  # 0.3 < 0.5
    own = decide(call, Preferences(complexity_threshold=0.2), (LOCAL, CLOUD))
    assert own.model == CLOUD.name
    assert "complexity 0.30 >= threshold 0.20" in own.reasons
    # The latency shift still applies to it: speed raises it by 0.15.
    fast = Preferences(complexity_threshold=0.2, latency_preference="speed")
    assert decide(call, fast, (LOCAL, CLOUD)).model == LOCAL.name
    # A sensitive call stays local whatever the threshold.
    private = CallFacts(100, complexity=0.9, sensitive_types=("email",))
    assert (
        decide(private, Preferences(complexity_threshold=0.0), (LOCAL, CLOUD)).model == LOCAL.name
    )


def test_sensitive_call_with_local_down_fails_clearly_instead_of_going_to_cloud() -> None:
    down = Candidate(**{**LOCAL.__dict__, "available": False})
    decision = decide(CallFacts(100, sensitive_types=("us_ssn",)), Preferences(), (down, CLOUD))
    assert decision.model is None
    assert decision.error == (
        "No local model can take this call: local/smollm2: unavailable; "
        "openai/gpt-4o-mini: cloud model, call must stay local."
    )
    assert decision.reasons == ("sensitive input (us_ssn)",)


def test_decisions_are_deterministic() -> None:
    call = CallFacts(500, needs_tools=True, complexity=0.7)
    assert decide(call, Preferences(), (LOCAL, CLOUD)) == decide(
        call, Preferences(), (LOCAL, CLOUD)
    )


def test_complexity_factors() -> None:
    easy = complexity("What is the capital of Australia?")
    hard = complexity(
        "Explain step by step why this recursive function is slow, compare two designs and "
        "analyze the trade-offs:\n```python\ndef fib(n):\n    return fib(n - 1) + fib(n - 2)\n```",
        turns=6,
        tools=2,
    )
    assert 0 <= easy.score < 0.1 < 0.5 < hard.score <= 1
    assert hard.factors["reasoning"] == 1.0 and hard.factors["code"] == 1.0
    assert set(hard.factors) == {"length", "reasoning", "code", "maths", "turns", "tools"}


# Configured dearest first, as a list written for quality would be.
DEAR = Candidate("openai/gpt-4o", local=False, context_window=128_000, usd_per_mtok=4.375)
CHEAP = Candidate("openai/gpt-4o-mini", local=False, context_window=128_000, usd_per_mtok=0.2625)
UNPRICED = Candidate("openai/stub-model", local=False, context_window=128_000)
COST = Preferences(latency_preference="cost")


def test_cost_picks_the_cheapest_capable_cloud_model_where_balanced_takes_the_first() -> None:
    hard = CallFacts(input_tokens=100, complexity=0.95)
    pool = (LOCAL, DEAR, CHEAP)
    assert decide(hard, Preferences(), pool).model == DEAR.name
    cheap = decide(hard, COST, pool)
    assert cheap.model == CHEAP.name
    assert cheap.reasons == (
        "complexity 0.95 >= threshold 0.80",
        "priority=cost: cheapest capable cloud model openai/gpt-4o-mini ($0.26 per million tokens)",
    )
    # Capability still comes first: the cheap one cannot call tools, so the dear one.
    no_tools = Candidate(**{**CHEAP.__dict__, "tools": False})
    tools = CallFacts(input_tokens=100, needs_tools=True, complexity=0.95)
    assert decide(tools, COST, (LOCAL, DEAR, no_tools)).model == DEAR.name


def test_cost_raises_the_threshold_by_its_own_shift() -> None:
    middling = CallFacts(input_tokens=100, complexity=0.7)
    pool = (LOCAL, CHEAP)
    assert decide(middling, Preferences(), pool).model == CHEAP.name  # 0.7 >= 0.5
    assert decide(middling, Preferences(latency_preference="speed"), pool).model == CHEAP.name
    kept = decide(middling, COST, pool)
    assert kept.model == LOCAL.name
    assert kept.reasons == ("complexity 0.70 < threshold 0.80",)
    # cost_shift is its own knob, apart from latency_shift.
    unshifted = RoutingThresholds(cost_shift=0.0, latency_shift=0.5)
    assert decide(middling, COST, pool, unshifted).model == CHEAP.name
    assert RoutingThresholds(cost_shift=0.1).complexity_threshold_for("cost") == 0.6


def test_cost_counts_an_unknown_price_dearer_than_any_known_one() -> None:
    hard = CallFacts(input_tokens=100, complexity=0.95)
    assert decide(hard, COST, (UNPRICED, DEAR)).model == DEAR.name
    alone = decide(hard, COST, (LOCAL, UNPRICED))
    assert alone.model == UNPRICED.name
    assert alone.reasons[-1] == (
        "priority=cost: cheapest capable cloud model openai/stub-model (price unknown)"
    )


def test_cost_takes_the_cheapest_cloud_model_when_no_local_one_can_take_the_call() -> None:
    easy_tools = CallFacts(input_tokens=100, needs_tools=True, complexity=0.1)
    decision = decide(easy_tools, COST, (LOCAL_PLAIN, DEAR, CHEAP))
    assert decision.model == CHEAP.name
    assert "no capable local model, so openai/gpt-4o-mini" in decision.reasons


def test_cost_leaves_a_named_model_and_privacy_alone() -> None:
    hard = CallFacts(input_tokens=100, complexity=0.95)
    named = Preferences(latency_preference="cost", model=DEAR.name)
    assert decide(hard, named, (LOCAL, DEAR, CHEAP)).model == DEAR.name
    private = CallFacts(input_tokens=100, complexity=0.95, sensitive_types=("email",))
    assert decide(private, COST, (LOCAL, DEAR, CHEAP)).model == LOCAL.name
