"""Model names: `<prefix>/<model>`, parsed the same way in workflows and on the worker.

Pure code (no I/O, no Temporal), so workflows can reject a bad name before any activity
runs and the provider can dispatch without string juggling of its own.

Which prefixes exist, and which of them are local, is data: a `ModelNames` table of one
`NameRule` per backend. `BUILTIN_NAMES` holds the built-in backends' rules; the
providers' registry (providers/registry.py) adds the rule of every backend registered
beside them, and the worker parses with that table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hybridagent.errors import UserMistake

AUTO = "auto"


class UnknownModelError(UserMistake, ValueError):
    """A model name hybridagent cannot route; a user mistake, never worth a retry."""


@dataclass(frozen=True)
class NameRule:
    """One backend's names: its prefix, and whether its models are local."""

    prefix: str
    local: bool  # the weights run on machines the user controls
    # Non-empty when the model part names a provider too (LiteLLM's `<provider>/<model>`):
    # the sentence a name without one gets, with `{name}` for the name.
    needs_provider: str = ""


@dataclass(frozen=True)
class ModelRef:
    prefix: str
    model: str
    is_local: bool  # from the prefix's NameRule

    @property
    def name(self) -> str:
        return f"{self.prefix}/{self.model}"


@dataclass(frozen=True)
class ModelNames:
    """The prefixes a process knows, in the order error messages list them."""

    rules: tuple[NameRule, ...]

    def __post_init__(self) -> None:
        prefixes = [rule.prefix for rule in self.rules]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError(f"model prefixes must be unique, got {prefixes}")
        if any(not p or "/" in p or p == AUTO for p in prefixes):
            raise ValueError(f"a model prefix is a word other than {AUTO!r}, got {prefixes}")

    @property
    def prefixes(self) -> tuple[str, ...]:
        return tuple(rule.prefix for rule in self.rules)

    def rule(self, prefix: str) -> NameRule | None:
        return next((rule for rule in self.rules if rule.prefix == prefix), None)

    def extended(self, rules: Iterable[NameRule]) -> ModelNames:
        return ModelNames((*self.rules, *rules))

    def parse(self, name: str, default_prefix: str | None = None) -> ModelRef:
        """Split `prefix/model`; raise UnknownModelError naming the valid prefixes.

        A bare name (no slash) belongs to `default_prefix`, as in the Agents SDK's
        MultiProvider, where a bare name goes to the default provider.
        """
        prefix, sep, model = name.strip().partition("/")
        if not sep:
            if default_prefix is None or not prefix:
                raise UnknownModelError(
                    f"Model name {name!r} has no provider prefix; use one of "
                    f"{', '.join(p + '/<model>' for p in self.prefixes)} or 'auto'."
                )
            prefix, model = default_prefix, prefix
        elif not model:
            raise UnknownModelError(f"Model name {name!r} names a provider but no model.")
        rule = self.rule(prefix)
        if rule is None:
            raise UnknownModelError(
                f"Unknown model prefix {prefix!r} in {name!r}; valid prefixes are "
                f"{', '.join(self.prefixes)}."
            )
        if sep and rule.needs_provider and "/" not in model:
            raise UnknownModelError(rule.needs_provider.format(name=name))
        return ModelRef(prefix=prefix, model=model, is_local=rule.local)


BUILTIN_NAMES = ModelNames(
    (
        NameRule("ollama", local=True),
        NameRule("local", local=True),
        NameRule("openai", local=False),
        NameRule(
            "litellm",
            local=False,
            needs_provider=(
                "LiteLLM model {name!r} needs a provider, as in litellm/anthropic/claude-3-5-haiku."
            ),
        ),
    )
)


def is_default(name: str | None) -> bool:
    """A missing, empty or `auto` name means: let the worker choose its default."""
    return name is None or name.strip() in ("", AUTO)


def parse_model_name(
    name: str, default_prefix: str | None = None, names: ModelNames = BUILTIN_NAMES
) -> ModelRef:
    """`names.parse`; the built-in backends' names unless told otherwise."""
    return names.parse(name, default_prefix)
