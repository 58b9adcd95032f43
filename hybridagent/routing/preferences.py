"""Routing preferences and the routing section of the configuration file.

Preferences come from four places, most specific first: the request, the agent spec,
the configuration's per-agent table, the defaults. `merge` combines them field by field,
so an agent can ask for `privacy_level = "high"` and a request still choose its latency.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hybridagent.routing.categories import CATEGORIES
from hybridagent.routing.detector_config import DetectorConfig
from hybridagent.routing.names import UnknownModelError, parse_model_name
from hybridagent.routing.thresholds import PreferenceFields, RoutingThresholds


def _valid_patterns(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as err:
            raise ValueError(
                f"pattern {pattern!r} is not a valid regular expression: {err}"
            ) from None
    return patterns


class RoutingPreferences(PreferenceFields):
    """What a request, an agent spec or the configuration asks of the router: the
    preference fields (routing/thresholds.py) and the run's extra sensitive words."""

    model_config = ConfigDict(extra="forbid")

    terms: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)

    _check_patterns = field_validator("patterns")(_valid_patterns)


def merge(*layers: RoutingPreferences | None) -> RoutingPreferences:
    """Most specific layer first; a field counts only where a layer set it. Terms and
    patterns add up: every layer's sensitive words stay sensitive."""
    values: dict[str, object] = {}
    terms: list[str] = []
    patterns: list[str] = []
    for layer in layers:
        if layer is None:
            continue
        for name in layer.model_fields_set - {"terms", "patterns"}:
            values.setdefault(name, getattr(layer, name))
        terms += [t for t in layer.terms if t not in terms]
        patterns += [p for p in layer.patterns if p not in patterns]
    return RoutingPreferences.model_validate({**values, "terms": terms, "patterns": patterns})


class PrivacySettings(BaseModel):
    """The `[routing.privacy]` table: what the detector counts (docs/configuration.md)."""

    model_config = ConfigDict(extra="forbid")

    # The learned stage (routing/learned.py): off leaves the deterministic stage alone.
    learned: bool = True
    # The probability at which a window of prose counts as sensitive; unset: the model's.
    threshold: float | None = Field(None, gt=0.0, lt=1.0)
    # Categories on (true) or off (false); unlisted ones are on. Terms and patterns
    # always count.
    categories: dict[str, bool] = Field(default_factory=dict)

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, categories: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(categories) - set(CATEGORIES))
        if unknown:
            raise ValueError(
                f"unknown privacy categories {', '.join(unknown)}; the categories are "
                f"{', '.join(CATEGORIES)}"
            )
        return categories

    def detector_config(self) -> DetectorConfig:
        return DetectorConfig(
            categories=frozenset(c for c in CATEGORIES if self.categories.get(c, True)),
            learned=self.learned,
            threshold=self.threshold,
        )


class RoutingSettings(RoutingThresholds):
    """The `[routing]` table of hybridagent.toml (see docs/configuration.md): the
    thresholds (routing/thresholds.py), model lists, terms and per-agent preferences."""

    model_config = ConfigDict(extra="forbid")

    # Preference order. Empty local list: the worker's default local model (Ollama's
    # OLLAMA_MODEL or the embedded one). Empty cloud list: HYBRIDAGENT_CLOUD_MODEL if set.
    local_models: list[str] = Field(default_factory=list)
    cloud_models: list[str] = Field(default_factory=list)
    # Extra sensitive words and regular expressions, for every run on this worker.
    terms: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    # Per-agent preferences, by agent name: [routing.agents.research] privacy_level = "high"
    agents: dict[str, RoutingPreferences] = Field(default_factory=dict)
    # Fallback chains: when a call to the key's model fails (docs/fallback.md says which
    # failures), the next model in its list that the routing policy allows takes it.
    # [routing.fallbacks] "ollama/llama3.2:3b" = ["local/smollm2", "openai/gpt-4o-mini"]
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)

    _check_patterns = field_validator("patterns")(_valid_patterns)

    @model_validator(mode="after")
    def _models_in_their_lists(self) -> RoutingSettings:
        for primary, chain in self.fallbacks.items():
            for name in [primary, *chain]:
                try:
                    parse_model_name(name)
                except UnknownModelError as err:
                    raise ValueError(f"fallbacks: {err}") from None
        for listed, local in ((self.local_models, True), (self.cloud_models, False)):
            for name in listed:
                try:
                    ref = parse_model_name(name)
                except UnknownModelError as err:
                    raise ValueError(str(err)) from None
                if ref.is_local != local:
                    where = "local_models" if local else "cloud_models"
                    raise ValueError(f"{name} is listed in {where} but is not a {where[:-7]} model")
        return self
