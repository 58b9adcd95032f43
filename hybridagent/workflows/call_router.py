"""Per-call routing inside a workflow: the routed model stub (routed_stub.py) hands the
router each call it is about to make (a `RoutedCall`: the call's whole input and what the
agent needs); the router scans it, decides with the pure policy, records the decision,
and answers with a `Route` the stub calls with. When the call fails, the stub asks for
the next `Route` (`fallback`).

Deterministic: the privacy verdict comes from a local activity whose answer the history
records (activities/privacy.py), and the policy is pure, so a replay makes the same
decisions. Once any call's input was sensitive the run stays pinned to local models.

A model the run names (`--model`, the agent's spec) answers every call it can. When it
cannot (no key, not reachable, no such model, the policy keeps it off a call), a strict
run fails with the reason, and any other run goes on with the policy's next choice and
says so in a notice (`notices`), which the run's output carries (docs/fallback.md).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from agents import TResponseInputItem
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from hybridagent.activity_io import (
    InputPart,
    PrescannedInput,
    PrivacyScanRequest,
    PrivacyScanResult,
    RoutingSetup,
    part_key,
    scan_digest,
)
from hybridagent.failures import NO_MODEL_FOR_CALL, REQUESTED_MODEL_UNAVAILABLE
from hybridagent.routing.categories import category_of
from hybridagent.routing.complexity import complexity
from hybridagent.routing.policy import (
    CallFacts,
    Candidate,
    Decision,
    Preferences,
    decide,
)
from hybridagent.routing.preferences import RoutingPreferences
from hybridagent.workflows.io import RoutingRecord

# The router's token estimate: characters of the call's input (as JSON) per token.
CHARS_PER_TOKEN = 4

# Scans new input parts: the `scan_privacy` local activity in a workflow.
Scanner = Callable[[PrivacyScanRequest], Awaitable[PrivacyScanResult]]


@dataclass(frozen=True)
class RoutedCall:
    """One model call as the stub is about to make it: what the router reads."""

    agent: str
    system_prompt: str | None
    items: Sequence[TResponseInputItem]
    tools: int = 0  # tools and handoffs the model may call
    needs_schema: bool = False  # the answer must follow an output schema


@dataclass(frozen=True)
class Route:
    """Where one call goes, and how the stub makes it."""

    model: str
    summary: str  # the model activity's summary in the Web UI: the decision, in a line
    fail_fast: bool  # another model could take the call: no retry backoff on a refusal
    cacheable: bool  # nothing private in the call: the worker may answer from its cache
    decision: Decision
    # What the usage ledger records of the call (usage/facts.py): never text.
    fallback_from: str | None = None
    pinned: bool = False  # kept on local models by privacy (this call or an earlier one)
    categories: tuple[str, ...] = ()  # privacy categories found in this call


@dataclass(frozen=True)
class NoFallback:
    """No model may take the call after a failure: `decision` says why (its error)."""

    decision: Decision


def _user_text(content: object) -> str | None:
    """The words of a user message (its text parts), which the learned stage reads."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict)]
        return "\n".join(t for t in texts if isinstance(t, str))
    return None


def _as_dict(item: object) -> dict[str, object]:
    if isinstance(item, dict):
        return item
    dump = getattr(item, "model_dump", None)
    return dump() if callable(dump) else {}


def prompt_parts(items: Sequence[TResponseInputItem]) -> list[InputPart]:
    """The parts a first call with input `items` holds after its instructions: what a
    run's start scans ahead (activities/run_start.py)."""
    return _input_parts(None, items)[0][1:]


def _input_parts(
    system_prompt: str | None, items: Sequence[TResponseInputItem]
) -> tuple[list[InputPart], int, bool]:
    """The call's whole input as parts (instructions, then each message, tool call and
    tool result), the number of conversation turns, and whether it holds an image. A
    user message's words are a prose part of their own; everything else the rules read
    as JSON."""
    parts = [InputPart(text=system_prompt or "")]
    turns = 0
    image = False
    for item in items:
        data = _as_dict(item)
        if data.get("role") in ("user", "assistant"):
            turns += 1
        content = data.get("content")
        if isinstance(content, list):
            image = image or any(
                isinstance(part, dict) and part.get("type") == "input_image" for part in content
            )
        words = _user_text(content) if data.get("role") == "user" else None
        if words is not None:
            parts.append(InputPart(text=words, prose=True))
        else:
            parts.append(InputPart(text=json.dumps(data, ensure_ascii=False, default=str)))
    return parts, turns, image


class CallRouter:
    def __init__(
        self,
        preferences: RoutingPreferences,
        setup: RoutingSetup,
        scanner: Scanner,
        *,
        strict: bool = False,
        prescan: PrescannedInput | None = None,
    ) -> None:
        self.preferences = preferences
        self.requested = setup.requested
        self.strict = strict
        # Why the requested model did not answer calls of this run, for the notice.
        self.missed: list[str] = []
        self.policy_preferences = Preferences(
            **preferences.preference_values(), model=setup.requested
        )
        self.config = setup.thresholds()
        self.candidates = tuple(setup.candidates)
        self.fallbacks = setup.fallbacks
        self.response_cache = setup.response_cache
        # Models whose calls failed in this run (and how): not chosen again in this run.
        self.failed: dict[str, str] = {}
        # Tokens the run's answered calls used (the budget reads it), and their models.
        self.tokens_used = 0
        self.models_used: list[str] = []
        # What the worker did to answered calls that a client should know: "cache",
        # "tool_emulation" (from the answers, so in the history).
        self.worker_notes: list[str] = []
        self._last_facts: CallFacts | None = None
        self._primary: str | None = None
        self.scanner = scanner
        self.privacy = setup.privacy
        self.pinned = False
        self.trail: list[RoutingRecord] = []
        # Finding types per input part already scanned (by digest): a run's next call
        # repeats the previous input and adds a few items; only those are scanned.
        self._scanned: dict[bytes, tuple[str, ...]] = {}
        # Who the run's calls are for, in the usage ledger: `key:<API key name>` or
        # `user:<the run's user>` (set by run_agent.run_built_agent from the memo).
        self.caller = "unknown"
        # The first call's verdict as the run's start scanned it, used when that call's
        # scan is the one it made (same parts, terms, patterns): no second local activity.
        self._prescan = prescan

    async def sensitive_types(self, text: str) -> list[str]:
        """What the run's detectors (with its terms and patterns) find in `text`, a
        person's words."""
        return await self._sensitive_types([InputPart(text=text, prose=True)])

    async def _sensitive_types(self, parts: list[InputPart]) -> list[str]:
        """Finding types of the whole input. The parts not seen before are scanned
        together in one local activity (a finding crossing two parts counts for both),
        and each part's types are remembered for the run's later calls."""
        keys = [part_key(p) for p in parts]
        new = {key: part for key, part in zip(keys, parts, strict=True) if key not in self._scanned}
        if new:
            request = PrivacyScanRequest(
                parts=list(new.values()),
                terms=self.preferences.terms,
                patterns=self.preferences.patterns,
                privacy=self.privacy,
            )
            prescan, self._prescan = self._prescan, None
            if prescan is not None and prescan.digest == scan_digest(request):
                result = prescan.result
            else:
                result = await self.scanner(request)
            for key, types in zip(new, result.types, strict=True):
                self._scanned[key] = tuple(types)
        return sorted({kind for key in keys for kind in self._scanned[key]})

    @property
    def first_model(self) -> tuple[str, bool] | None:
        """The model an agent starts with before its first call is routed."""
        chosen = next(
            (c for c in self.candidates if c.name == self.policy_preferences.model),
            self.candidates[0] if self.candidates else None,
        )
        return (chosen.name, chosen.local) if chosen else None

    async def route(self, call: RoutedCall) -> Route:
        """Where `call` goes. Raises a non-retryable ApplicationError when no model may
        take it, or when a strict run's requested model cannot."""
        parts, turns, image = _input_parts(call.system_prompt, call.items)
        text = "\n".join(part.text for part in parts)
        types = await self._sensitive_types(parts)
        score = complexity(text, turns=max(turns, 1), tools=call.tools)
        facts = CallFacts(
            input_tokens=len(text) // CHARS_PER_TOKEN,
            needs_tools=call.tools > 0,
            needs_schema=call.needs_schema,
            needs_vision=image,
            sensitive_types=tuple(types),
            pinned=self.pinned,
            complexity=score.score,
            tokens_used=self.tokens_used,
        )
        decision = decide(facts, self.policy_preferences, self._live_candidates(), self.config)
        self.pinned = self.pinned or bool(types)
        self._last_facts, self._primary = facts, decision.model
        self._record(call.agent, decision, facts, factors=score.factors)
        self._requested_passed_over(decision)
        return self._route(call.agent, decision, facts)

    def answered(self, model: str, total_tokens: int, notes: Sequence[str] = ()) -> None:
        """`model` answered a call of the run, using `total_tokens`; `notes`: what the
        worker's model layers did to the call (providers/notes.py)."""
        self.tokens_used += total_tokens
        if model not in self.models_used:
            self.models_used.append(model)
        self.worker_notes += [note for note in notes if note not in self.worker_notes]

    def _requested_passed_over(self, decision: Decision) -> None:
        """The requested model is not the one for this call: fail a strict run, else
        remember why for the notice (a model that failed earlier is noted already)."""
        requested = self.requested
        if requested is None or decision.model == requested or requested in self.failed:
            return
        why = decision.rejected.get(requested, "not configured on this worker")
        if self.strict:
            raise ApplicationError(
                f"{requested} cannot take this call ({why}); the run is strict, so no other "
                "model answered.",
                type=REQUESTED_MODEL_UNAVAILABLE,
                non_retryable=True,
            )
        self._miss(why)

    def _miss(self, why: str) -> None:
        why = why.strip().rstrip(".")
        if why not in self.missed:
            self.missed.append(why)

    def notices(self, models_used: list[str]) -> list[str]:
        """One line when the requested model did not answer every call: which model
        did, and why (`notice: …` in `hybridagent run` and `chat`)."""
        if self.requested is None or not self.missed:
            return []
        others = [m for m in models_used if m != self.requested]
        verb = "could not take every call" if self.requested in models_used else "could not be used"
        answered = ", ".join(others) or "no other model"
        return [f"{self.requested} {verb} ({'; '.join(self.missed)}); answered by {answered}"]

    def largest_context(self, *, local_only: bool) -> int:
        """The largest context window (tokens) of a model still able to take this run's
        calls: local models only when `local_only`, or when the run's preferences keep
        every call local. 0 when there is none."""
        prefs = self.policy_preferences
        local_only = local_only or self.pinned or prefs.privacy_level == "max"
        local_only = local_only or prefs.force_provider == "local"
        return max(
            (
                c.context_window
                for c in self._live_candidates()
                if c.available and (c.local or not local_only)
            ),
            default=0,
        )

    def _live_candidates(self) -> tuple[Candidate, ...]:
        return tuple(
            dataclasses.replace(
                c, available=False, unavailable_reason=f"failed: {self.failed[c.name]}"
            )
            if c.name in self.failed
            else c
            for c in self.candidates
        )

    def _choose(
        self, facts: CallFacts, candidates: tuple[Candidate, ...], chain: list[str] | None
    ) -> Decision:
        """The policy's choice for a call the primary model cannot take: the first model
        of the primary's fallback `chain` that the policy allows (a decision without a
        model when none is), or without a chain its own pick among `candidates`."""
        unnamed = self.policy_preferences.model_copy(update={"model": None})
        if not chain:
            return decide(facts, unnamed, candidates, self.config)
        for name in chain:
            named = unnamed.model_copy(update={"model": name})
            attempt = decide(facts, named, candidates, self.config)
            if attempt.model == name:
                return attempt
        return Decision(None, attempt.local_only, attempt.reasons, attempt.rejected)

    def fallback(
        self, agent: str, failed_model: str, failure: str, *, larger: bool, detail: str = ""
    ) -> Route | NoFallback:
        """After the call to `failed_model` failed with `failure` (`detail`: its
        sentence), the route of the next model for the same call: the next one in the
        primary's fallback chain that the policy allows, or without a chain the policy's
        choice among the models not yet failed. NoFallback when no model is allowed, or
        when a strict run's requested model failed: the caller re-raises the failure
        itself, the clearer error. `larger`: the input did not fit, so only models with a larger
        context qualify."""
        if failed_model == self.requested:
            if self.strict:
                return NoFallback(
                    Decision(None, False, ("strict run: only the requested model answers",))
                )
            self._miss(detail or failure)
        self.failed[failed_model] = failure
        facts = self._last_facts or CallFacts(input_tokens=0)
        if larger:
            window = next((c.context_window for c in self.candidates if c.name == failed_model), 0)
            facts = dataclasses.replace(facts, input_tokens=max(facts.input_tokens, window + 1))
        chain = self.fallbacks.get(self._primary or failed_model)
        decision = self._choose(facts, self._live_candidates(), chain)
        if decision.model is None and chain:
            decision = dataclasses.replace(
                decision,
                error=f"{failed_model} failed ({failure}) and no model of its fallback "
                "chain can take the call: "
                + "; ".join(f"{n}: {decision.rejected.get(n, 'not configured')}" for n in chain)
                + ".",
            )
        elif decision.model is None:
            decision = dataclasses.replace(
                decision, error=f"{failed_model} failed ({failure}); {decision.error}"
            )
        decision = dataclasses.replace(
            decision, reasons=(f"fallback: {failed_model} failed ({failure})", *decision.reasons)
        )
        self._record(agent, decision, facts, fallback_from=failed_model, failure=failure)
        if decision.model is None:
            return NoFallback(decision)
        return self._route(agent, decision, facts, fallback_from=failed_model)

    def _record(
        self,
        agent: str,
        decision: Decision,
        facts: CallFacts,
        *,
        factors: dict[str, float] | None = None,
        fallback_from: str | None = None,
        failure: str | None = None,
    ) -> None:
        """The decision into the run's trail: a new call, or a fallback of the last one;
        and into the worker's log (INFO, not on replay): its one-line summary, which names
        models and reasons, never the call's text."""
        if workflow.in_workflow():
            workflow.logger.info("routing: %s", summary(agent, decision))
        last = self.trail[-1].call if self.trail else 0
        self.trail.append(
            RoutingRecord(
                call=max(last, 1) if fallback_from else last + 1,
                agent=agent,
                model=decision.model,
                local_only=decision.local_only,
                reasons=list(decision.reasons),
                rejected=decision.rejected,
                finding_types=list(facts.sensitive_types),
                complexity=facts.complexity,
                complexity_factors=factors or {},
                input_tokens=facts.input_tokens,
                tokens_used=facts.tokens_used,
                fallback_from=fallback_from,
                failure=failure,
                cloud_configured=self._cloud_configured(),
            )
        )

    def _cloud_configured(self) -> bool:
        """Whether any cloud model could take a call of this run at all."""
        return any(not c.local for c in self.candidates)

    def _has_alternative(self, facts: CallFacts, chosen: str) -> bool:
        """Would another model take this call if `chosen` failed?"""
        if self.strict and chosen == self.requested:
            return False
        others = tuple(
            dataclasses.replace(c, available=False) if c.name == chosen else c
            for c in self._live_candidates()
        )
        chain = self.fallbacks.get(self._primary or chosen)
        return self._choose(facts, others, chain).model is not None

    def _route(
        self, agent: str, decision: Decision, facts: CallFacts, fallback_from: str | None = None
    ) -> Route:
        if decision.model is None:
            raise ApplicationError(
                decision.error or "No model can take this call.",
                type=NO_MODEL_FOR_CALL,
                non_retryable=True,
            )
        return Route(
            model=decision.model,
            summary=summary(agent, decision),
            fail_fast=self._has_alternative(facts, decision.model),
            # Nothing private in the call and the run is not pinned: the worker may
            # answer it from its response cache, if it keeps one.
            cacheable=self.response_cache and not (facts.sensitive_types or facts.pinned),
            decision=decision,
            fallback_from=fallback_from,
            pinned=bool(facts.sensitive_types or facts.pinned),
            categories=tuple(sorted({category_of(t) for t in facts.sensitive_types})),
        )


def summary(agent: str, decision: Decision) -> str:
    scope = "local only" if decision.local_only else "routed"
    text = f"{agent} · {decision.model} · {scope}: {'; '.join(decision.reasons)}"
    return text if len(text) <= 200 else text[:197] + "..."
