"""Model names: `<prefix>/<model>`, parsed the same way in workflows and on the worker.

Pure code (no I/O, no Temporal), so workflows can reject a bad name before any activity
runs and the provider can dispatch without string juggling of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hybridagent.errors import UserMistake

Prefix = Literal["ollama", "local", "openai", "litellm"]
PREFIXES: tuple[Prefix, ...] = ("ollama", "local", "openai", "litellm")
AUTO = "auto"
LOCAL_PREFIXES: frozenset[str] = frozenset({"ollama", "local"})


class UnknownModelError(UserMistake, ValueError):
    """A model name hybridagent cannot route; a user mistake, never worth a retry."""


@dataclass(frozen=True)
class ModelRef:
    prefix: Prefix
    model: str

    @property
    def name(self) -> str:
        return f"{self.prefix}/{self.model}"

    @property
    def is_local(self) -> bool:
        """Local means the weights run on machines the user controls."""
        return self.prefix in LOCAL_PREFIXES


def is_default(name: str | None) -> bool:
    """A missing, empty or `auto` name means: let the worker choose its default."""
    return name is None or name.strip() in ("", AUTO)


def parse_model_name(name: str, default_prefix: Prefix | None = None) -> ModelRef:
    """Split `prefix/model`; raise UnknownModelError naming the valid prefixes.

    A bare name (no slash) belongs to `default_prefix`, as in the Agents SDK's
    MultiProvider, where a bare name goes to the default provider.
    """
    prefix, sep, model = name.strip().partition("/")
    if not sep:
        if default_prefix is None or not prefix:
            raise UnknownModelError(
                f"Model name {name!r} has no provider prefix; use one of "
                f"{', '.join(p + '/<model>' for p in PREFIXES)} or 'auto'."
            )
        return ModelRef(prefix=default_prefix, model=prefix)
    if not model:
        raise UnknownModelError(f"Model name {name!r} names a provider but no model.")
    if prefix not in PREFIXES:
        raise UnknownModelError(
            f"Unknown model prefix {prefix!r} in {name!r}; valid prefixes are "
            f"{', '.join(PREFIXES)}."
        )
    if prefix == "litellm" and "/" not in model:
        raise UnknownModelError(
            f"LiteLLM model {name!r} needs a provider, as in litellm/anthropic/claude-3-5-haiku."
        )
    return ModelRef(prefix=prefix, model=model)
