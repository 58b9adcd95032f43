"""What the workflow tells the worker about a model call, for the usage ledger.

Only the workflow knows the routing facts (the requested model, a fallback, the privacy
pin) and the run's caller; it passes them in the model settings' `extra_args` under
USAGE_MARKER, as it passes the cache marker (providers/response_cache.py). The worker's
UsageLayer removes the marker before any other layer or server sees it. Adding it
changes the model activity's input but no command, so old histories still replay.
Categories only, never the text found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

USAGE_MARKER = "hybridagent_usage"


@dataclass(frozen=True)
class UsageFacts:
    agent: str | None = None
    requested: str | None = None  # the model the run named; None: the router chose
    caller: str = "unknown"
    fallback_from: str | None = None
    pinned: bool = False
    categories: tuple[str, ...] = ()

    def as_extra(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "categories": list(self.categories)}

    @classmethod
    def from_extra(cls, value: object) -> UsageFacts:
        """The facts a marker carries; unknown keys (a newer workflow) are ignored."""
        if not isinstance(value, Mapping):
            return cls()
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in value.items() if k in known}
        values["categories"] = tuple(str(c) for c in values.get("categories") or ())
        return cls(**values)
