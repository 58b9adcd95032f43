"""What the privacy detector counts, as plain data: kept apart from the detectors so the
configuration can name it without importing them (and detect-secrets with them)."""

from __future__ import annotations

from dataclasses import dataclass

from hybridagent.routing.categories import CATEGORIES


@dataclass(frozen=True)
class DetectorConfig:
    """What `[routing.privacy]` configures: which categories count, and the learned
    stage (on or off, and the probability at which a window counts as sensitive;
    None: the model's own threshold)."""

    categories: frozenset[str] = frozenset(CATEGORIES)
    learned: bool = True
    threshold: float | None = None


# Every category, the learned stage on at the model's threshold.
DEFAULT = DetectorConfig()
