"""The routing policy: for one model call, which configured model may and should take it.

Pure and deterministic (no I/O, no clocks), so it can run in workflow code and its
decisions replay identically. The privacy rule comes first and nothing overrides it: a
call whose input is sensitive, or any call of a run that has seen sensitive content
(pinned), or any call at privacy_level=max, goes to a local model or nowhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hybridagent.routing.thresholds import ForceProvider, PreferenceFields, RoutingThresholds


class Preferences(PreferenceFields):
    """The run's preferences (routing/thresholds.py) and the model it named."""

    # A model the request or agent named: chosen whenever the rules allow it.
    model: str | None = None


@dataclass(frozen=True)
class Candidate:
    """A configured model and what it can honour (tools natively or by emulation)."""

    name: str
    local: bool
    context_window: int
    tools: bool = True
    structured_output: bool = True
    vision: bool = False
    available: bool = True
    unavailable_reason: str = "unavailable"
    # USD per million tokens, 3 prompt : 1 completion, from LiteLLM's price map (0 for a
    # local model); None when unknown: a model the map lacks, or a setup recorded before
    # candidates carried prices. Only latency_preference=cost reads it.
    usd_per_mtok: float | None = None


@dataclass(frozen=True)
class CallFacts:
    input_tokens: int
    needs_tools: bool = False
    needs_schema: bool = False
    needs_vision: bool = False
    sensitive_types: tuple[str, ...] = ()
    pinned: bool = False
    complexity: float = 0.0
    tokens_used: int = 0


DEFAULT_THRESHOLDS = RoutingThresholds()


@dataclass(frozen=True)
class Decision:
    model: str | None
    local_only: bool
    reasons: tuple[str, ...]
    rejected: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def _rejection(
    candidate: Candidate, facts: CallFacts, local_only: bool, force: ForceProvider
) -> str | None:
    if local_only and not candidate.local:
        return "cloud model, call must stay local"
    if force == "local" and not candidate.local:
        return "cloud model, force_provider=local"
    if force == "cloud" and candidate.local and not local_only:
        return "local model, force_provider=cloud"
    if not candidate.available:
        return candidate.unavailable_reason
    if facts.input_tokens > candidate.context_window:
        return f"input of {facts.input_tokens} tokens exceeds context of {candidate.context_window}"
    if facts.needs_tools and not candidate.tools:
        return "cannot call tools"
    if facts.needs_schema and not candidate.structured_output:
        return "no structured output"
    if facts.needs_vision and not candidate.vision:
        return "cannot read images"
    return None


def decide(
    facts: CallFacts,
    preferences: Preferences,
    candidates: tuple[Candidate, ...],
    config: RoutingThresholds = DEFAULT_THRESHOLDS,
) -> Decision:
    reasons: list[str] = []
    local_only = False
    if facts.sensitive_types:
        local_only = True
        reasons.append(f"sensitive input ({', '.join(sorted(set(facts.sensitive_types)))})")
    if facts.pinned:
        local_only = True
        reasons.append("run is privacy-pinned")
    if preferences.privacy_level == "max":
        local_only = True
        reasons.append("privacy_level=max")
    force = preferences.force_provider
    if force == "cloud" and local_only:
        reasons.append("force_provider=cloud refused: the call must stay local")
    elif force != "none":
        reasons.append(f"force_provider={force}")

    rejected: dict[str, str] = {}
    allowed: list[Candidate] = []
    for candidate in candidates:
        why = _rejection(candidate, facts, local_only, force)
        if why is None:
            allowed.append(candidate)
        else:
            rejected[candidate.name] = why
    if not allowed:
        scope = "local model" if local_only or force == "local" else "model"
        return Decision(
            None,
            local_only,
            tuple(reasons),
            rejected,
            error=f"No {scope} can take this call: "
            + "; ".join(f"{name}: {why}" for name, why in rejected.items())
            + ".",
        )

    requested = preferences.model
    if requested is not None:
        named = next((c for c in allowed if c.name == requested), None)
        if named is not None:
            reasons.append(f"requested model {requested}")
            return Decision(named.name, local_only, tuple(reasons), rejected)
        reasons.append(
            f"requested model {requested} rejected: {rejected.get(requested, 'not configured')}"
        )

    want_cloud = not local_only and _wants_cloud(facts, preferences, config, reasons)
    preferred = [c for c in allowed if (not c.local) == want_cloud]
    pool = preferred or allowed
    cost_first = preferences.latency_preference == "cost"
    choice = _cheapest(pool) if cost_first else pool[0]
    if not preferred:
        tier = "cloud" if want_cloud else "local"
        reasons.append(f"no capable {tier} model, so {choice.name}")
    if cost_first and not choice.local:
        reasons.append(
            f"priority=cost: cheapest capable cloud model {choice.name} ({_price(choice)})"
        )
    return Decision(choice.name, local_only, tuple(reasons), rejected)


def _cheapest(pool: list[Candidate]) -> Candidate:
    """The first of the cheapest in `pool` (one tier): local models cost nothing, an
    unknown price counts as dearer than any known one, ties keep the configured order."""
    return min(
        pool,
        key=lambda c: (
            0.0 if c.local else c.usd_per_mtok if c.usd_per_mtok is not None else math.inf
        ),
    )


def _price(candidate: Candidate) -> str:
    known = candidate.usd_per_mtok
    return "price unknown" if known is None else f"${known:.2f} per million tokens"


def _wants_cloud(
    facts: CallFacts, preferences: Preferences, config: RoutingThresholds, reasons: list[str]
) -> bool:
    if preferences.force_provider == "cloud":
        return True
    if preferences.force_provider == "local":
        return False
    budget = preferences.token_budget
    if budget is not None and facts.tokens_used >= (1 - config.budget_reserve) * budget:
        reasons.append(f"token budget nearly spent ({facts.tokens_used}/{budget})")
        return False
    if preferences.privacy_level == "high":
        reasons.append("privacy_level=high prefers local")
        return False
    threshold = config.complexity_threshold_for(
        preferences.latency_preference, preferences.complexity_threshold
    )
    hard = facts.complexity >= threshold
    reasons.append(
        f"complexity {facts.complexity:.2f} {'>=' if hard else '<'} threshold {threshold:.2f}"
    )
    return hard
