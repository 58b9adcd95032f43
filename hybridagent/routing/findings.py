"""What a detector reports, and the windowing that keeps detection fast on long inputs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import re2

from hybridagent.routing.categories import category_of


@dataclass(frozen=True, order=True)
class Finding:
    """A sensitive span: a type and offsets, never the text itself, so findings can go to
    logs, workflow history and metrics."""

    start: int
    end: int
    type: str
    # The learned stage's probability; None for a finding of the deterministic stage.
    score: float | None = field(default=None, compare=False)

    @property
    def stage(self) -> str:
        return "rules" if self.score is None else "learned"

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "type": self.type,
            "category": category_of(self.type),
            "stage": self.stage,
            "start": self.start,
            "end": self.end,
        }
        if self.score is not None:
            found["score"] = self.score
        return found


Window = tuple[int, int]


def windows(length: int, spans: Iterable[tuple[int, int]], before: int, after: int) -> list[Window]:
    """Merged [start, end) windows around sorted spans: where expensive patterns run.

    Most detectors need an anchor (a long token, a run of digits, an '@'); a cheap pass
    finds the anchors and the full patterns only look near them.
    """
    merged: list[Window] = []
    for start, end in spans:
        start, end = max(0, start - before), min(length, end + after)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def search_windows(
    pattern: re.Pattern[str], text: str, wins: Iterable[Window]
) -> Iterator[re.Match[str]]:
    """`pattern.finditer` limited to the windows (lookbehinds still see the whole text)."""
    for start, end in wins:
        yield from pattern.finditer(text, start, end)


def spans_of(pattern: re.Pattern[str] | re2._Regexp[str], text: str) -> Iterator[tuple[int, int]]:
    return (match.span() for match in pattern.finditer(text))


_COUNTING = "01234567890123456789"


def filler_digits(token: str) -> bool:
    """Digits no one is given: a count (`123456789012`, AWS's example account) or runs
    of one digit (`111122223333`)."""
    digits = "".join(c for c in token if c.isdigit())
    if len(digits) < 6:
        return False
    return digits in _COUNTING or re.fullmatch(r"(?:(\d)\1{3,})+", digits) is not None
