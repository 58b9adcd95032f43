"""A cheap, deterministic complexity score in [0, 1] for one model call.

Hard work goes to strong models: long inputs, reasoning, code and maths cues, long
conversations and many tools push the score up. Every factor is reported, so a
decision can say why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice

_REASONING = re.compile(
    r"\b(?:why|explain|prove|derive|analy[sz]e|compare|trade-?offs?|step by step|plan|design"
    r"|architecture|evaluate|critique|reason)\b",
    re.IGNORECASE,
)
_CODE = re.compile(
    r"```|\bdef |\bclass |\bfunction\b|=>|\breturn\b|#include|\bSELECT\b|\brefactor\b|\bdebug\b"
    r"|\btraceback\b|\bstack trace\b|\bcompile\b",
    re.IGNORECASE,
)
_MATHS = re.compile(
    r"\b(?:integral|derivative|theorem|equation|matrix|probability|optimi[sz]e|proof)\b"
    r"|[=+\-*/^]\s*\d|\d\s*[=+\-*/^]|[∑∫√π]",
    re.IGNORECASE,
)

# Weights sum to 1: the score is their weighted sum of factors each in [0, 1].
WEIGHTS = {"length": 0.3, "reasoning": 0.25, "code": 0.2, "maths": 0.1, "turns": 0.1, "tools": 0.05}


@dataclass(frozen=True)
class Complexity:
    score: float
    factors: dict[str, float]


# Cues are counted in the first and last characters of the input only: the
# instructions and the latest turns say what the call is about, and a bounded region
# keeps the score's cost flat however long the conversation grows.
HEAD_CHARS = 4_000
TAIL_CHARS = 16_000
FULL_AT = 3  # three cues of a kind make that factor 1


def _saturating(count: int, full_at: int) -> float:
    return min(1.0, count / full_at)


def _cues(pattern: re.Pattern[str], text: str) -> int:
    """Matches of `pattern` up to FULL_AT: the scan stops as soon as the factor is full."""
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        regions = [(0, len(text))]
    else:
        regions = [(0, HEAD_CHARS), (len(text) - TAIL_CHARS, len(text))]
    count = 0
    for start, end in regions:
        count += sum(1 for _ in islice(pattern.finditer(text, start, end), FULL_AT - count))
        if count >= FULL_AT:
            break
    return count


def complexity(text: str, *, turns: int = 1, tools: int = 0) -> Complexity:
    """Score `text` (the call's whole input) with the number of turns and tools offered."""
    factors = {
        "length": _saturating(len(text) // 4, 4000),  # ~tokens; 4k tokens and more is "long"
        "reasoning": _saturating(_cues(_REASONING, text), FULL_AT),
        "code": _saturating(_cues(_CODE, text), FULL_AT),
        "maths": _saturating(_cues(_MATHS, text), FULL_AT),
        "turns": _saturating(max(0, turns - 1), 10),
        "tools": _saturating(tools, 5),
    }
    score = sum(WEIGHTS[name] * value for name, value in factors.items())
    return Complexity(round(score, 4), {k: round(v, 4) for k, v in factors.items()})
