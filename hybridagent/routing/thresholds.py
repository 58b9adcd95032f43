"""The routing knobs, declared once: the policy's thresholds and the preference fields,
with the values each preference may take.

Four places need them and used to write them out each: the `[routing]` table of the
configuration (`RoutingSettings`), a run's setup recorded in its history (`RoutingSetup`,
activities/models.py), the preferences a request, spec or configuration gives
(`RoutingPreferences`) and the policy itself (`routing/policy.py`). They all derive from
the two models here, so a field, its default and its bounds exist in this module alone,
and the models that embed them keep the same flat keys in files, variables and payloads.

Pure (pydantic only): it runs inside workflow sandboxes with the rest of `routing/`.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

Location = Literal["local", "cloud"]  # where a model runs (the HTTP API's route header)
ForceProvider = Literal[Location, "none"]
PrivacyLevel = Literal["standard", "high", "max"]
# The run's priority. `cost` was added later: histories recorded before it never hold it.
LatencyPreference = Literal["speed", "balanced", "quality", "cost"]


def spelled(choices: Any) -> str:
    """The values of a Literal alias as a person reads them: `local, cloud or none`."""
    values = [str(value) for value in get_args(choices)]
    return f"{', '.join(values[:-1])} or {values[-1]}"


class RoutingThresholds(BaseModel):
    """Where the policy draws its lines (docs/configuration.md, `[routing]`)."""

    # Frozen: the policy takes these as a default argument, and a run's setup is what
    # its history recorded.
    model_config = ConfigDict(frozen=True)

    # A call whose complexity score reaches this goes to a cloud model, if one may take it.
    complexity_threshold: float = Field(0.5, ge=0.0, le=1.0)
    # The last part of a token budget goes to local models (0.1: the last 10%).
    budget_reserve: float = Field(0.1, ge=0.0, lt=1.0)
    # latency_preference=speed raises the threshold by this much, quality lowers it.
    latency_shift: float = Field(0.15, ge=0.0, le=0.5)
    # latency_preference=cost raises the threshold by this much (and picks the cheapest
    # capable cloud model). New with a default, so recorded setups without it decode alike.
    cost_shift: float = Field(0.3, ge=0.0, le=0.5)

    def thresholds(self) -> RoutingThresholds:
        """The thresholds alone, from a model that embeds them (the settings, a setup)."""
        return RoutingThresholds.model_validate(
            {name: getattr(self, name) for name in RoutingThresholds.model_fields}
        )

    def complexity_threshold_for(
        self, latency: LatencyPreference, own: float | None = None
    ) -> float:
        """The threshold a call of this latency preference is measured against; `own`:
        the run's complexity threshold, in place of the configured one."""
        shift = {
            "speed": self.latency_shift,
            "balanced": 0.0,
            "quality": -self.latency_shift,
            "cost": self.cost_shift,
        }
        base = self.complexity_threshold if own is None else own
        return base + shift[latency]


class PreferenceFields(BaseModel):
    """What a run may ask of the router, as the policy reads it."""

    model_config = ConfigDict(frozen=True)

    force_provider: ForceProvider = "none"
    privacy_level: PrivacyLevel = "standard"
    latency_preference: LatencyPreference = "balanced"
    token_budget: int | None = Field(None, ge=1)
    # The run's own complexity threshold (before the latency shift); None: the
    # configuration's. New and optional, so histories recorded without it replay alike.
    complexity_threshold: float | None = Field(None, ge=0.0, le=1.0)

    def preference_values(self) -> dict[str, Any]:
        """The preference fields alone, to build another kind of preferences from."""
        return {name: getattr(self, name) for name in PreferenceFields.model_fields}
