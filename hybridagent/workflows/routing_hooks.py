"""Per-call routing inside a workflow: before every model call, scan that call's whole
input, decide with the pure policy, record the decision, and point the plugin's model
stub at the chosen model.

Deterministic (the detector and the policy are pure), so a replay makes the same
decisions. Once any call's input was sensitive the run stays pinned to local models.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from temporalio.exceptions import ApplicationError

from hybridagent.routing.complexity import complexity
from hybridagent.routing.policy import CallFacts, Candidate, Decision, Preferences, decide
from hybridagent.routing.privacy import scan
from hybridagent.workflows.io import RoutingPreferences, RoutingRecord


def _input_text(system_prompt: str | None, items: list[Any]) -> tuple[str, int]:
    """The call's whole input as text (instructions, messages, tool calls and results),
    and the number of conversation turns in it."""
    parts = [system_prompt or ""]
    turns = 0
    for item in items:
        data = item if isinstance(item, dict) else getattr(item, "model_dump", lambda: {})()
        if data.get("role") in ("user", "assistant"):
            turns += 1
        parts.append(json.dumps(data, ensure_ascii=False, default=str))
    return "\n".join(parts), turns


class CallRouter:
    def __init__(self, preferences: RoutingPreferences, candidates: list[Candidate]) -> None:
        self.preferences = preferences
        self.policy_preferences = Preferences(
            force_provider=preferences.force_provider,
            privacy_level=preferences.privacy_level,
            latency_preference=preferences.latency_preference,
            token_budget=preferences.token_budget,
        )
        self.candidates = tuple(candidates)
        self.pinned = False
        self.trail: list[RoutingRecord] = []

    def route(
        self, agent: Any, system_prompt: str | None, items: list[Any], tokens_used: int
    ) -> Decision:
        text, turns = _input_text(system_prompt, items)
        findings = scan(text, self.preferences.terms, self.preferences.patterns)
        score = complexity(text, turns=max(turns, 1), tools=len(agent.tools) + len(agent.handoffs))
        facts = CallFacts(
            input_tokens=len(text) // 4,
            needs_tools=bool(agent.tools or agent.handoffs),
            needs_schema=agent.output_type not in (None, str),
            sensitive_types=tuple(sorted({f.type for f in findings})),
            pinned=self.pinned,
            complexity=score.score,
            tokens_used=tokens_used,
        )
        decision = decide(facts, self.policy_preferences, self.candidates)
        self.pinned = self.pinned or bool(findings)
        self.trail.append(
            RoutingRecord(
                call=len(self.trail) + 1,
                agent=agent.name,
                model=decision.model,
                local_only=decision.local_only,
                reasons=list(decision.reasons),
                rejected=decision.rejected,
                finding_types=list(facts.sensitive_types),
                complexity=score.score,
            )
        )
        if decision.model is None:
            raise ApplicationError(
                decision.error or "No model can take this call.",
                type="NoModelForCall",
                non_retryable=True,
            )
        # The plugin replaced the agent's model by an activity stub: its `model_name` is
        # what the model activity asks the worker's provider for, and its summary is what
        # the Web UI shows for that activity — the decision, so every call explains itself.
        stub = agent.model
        stub.model_name = decision.model
        stub.model_params = dataclasses.replace(
            stub.model_params, summary_override=summary(agent.name, decision)
        )
        return decision


def summary(agent: str, decision: Decision) -> str:
    scope = "local only" if decision.local_only else "routed"
    text = f"{agent} · {decision.model} · {scope}: {'; '.join(decision.reasons)}"
    return text if len(text) <= 200 else text[:197] + "..."
