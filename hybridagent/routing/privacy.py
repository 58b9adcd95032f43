"""Privacy detection: does a model input hold content that must never leave the machine?

`scan` combines the secret detectors (routing/secrets.py), the personal-data detectors
(routing/personal_data.py) and the terms and patterns the user configures, and also
finds secrets split over lines. A Finding has a type and a span, never the text.

Pure and deterministic: no I/O, safe in workflow code and in a micro-benchmark.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import cache

import re2

from hybridagent.routing.findings import Finding
from hybridagent.routing.personal_data import find_personal_data
from hybridagent.routing.secrets import find_secrets

__all__ = ["Finding", "scan", "unsure_excerpts"]


@cache
def _term_pattern(term: str) -> re.Pattern[str]:
    """Whole words only: 'key' must not match 'keyboard', 'monkey' or 'key-value'."""
    words = r"\s+".join(re.escape(word) for word in term.split())
    return re.compile(rf"(?<![\w-]){words}(?![\w-])", re.IGNORECASE)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _custom(
    text: str, lower: str, terms: Iterable[str], patterns: Iterable[str]
) -> Iterator[Finding]:
    for term in (t.strip() for t in terms):
        if term and term.split()[0].lower() in lower:
            for match in _term_pattern(term).finditer(text):
                yield Finding(match.start(), match.end(), "custom_term")
    for pattern in patterns:
        for match in _compiled(pattern).finditer(text):
            if match.end() > match.start():
                yield Finding(match.start(), match.end(), "custom_pattern")


# A token broken over lines: `"sk-proj-abc"\n    "def"`, `abc\\\ndef`, or a bare wrap.
_SPLIT = re2.compile(r"[A-Za-z0-9_\-+/=]{6,}[\"'+\\ \t]*\r?\n[ \t\"'+\\]*[A-Za-z0-9_\-+/=]{6,}")
_JOINERS = frozenset(" \t\"'+\\\r")


def _split_secrets(text: str) -> Iterator[Finding]:
    """Secrets found only once the line break (and quotes around it) is removed."""
    for split in _SPLIT.finditer(text):
        start, end = max(0, split.start() - 120), min(len(text), split.end() + 120)
        kept: list[str] = []
        offsets: list[int] = []
        skipping = False
        for index in range(start, end):
            char = text[index]
            if char == "\n":
                while kept and kept[-1] in _JOINERS:
                    kept.pop()
                    offsets.pop()
                skipping = True
            elif not (skipping and char in _JOINERS):
                skipping = False
                kept.append(char)
                offsets.append(index)
        for finding in find_secrets("".join(kept)):
            first, last = offsets[finding.start], offsets[finding.end - 1] + 1
            if first < split.start() + split.group().index("\n") < last:  # crosses the break
                yield Finding(first, last, finding.type)


def scan(text: str, terms: Sequence[str] = (), patterns: Sequence[str] = ()) -> list[Finding]:
    """All sensitive spans in `text`, sorted by position."""
    lower = text.lower()
    found = set(find_secrets(text, lower))
    found.update(find_personal_data(text, lower))
    found.update(_custom(text, lower, terms, patterns))
    if "\n" in text:
        for whole in _split_secrets(text):
            # The joined finding replaces the fragments it contains.
            found = {
                f
                for f in found
                if not (f.type == whole.type and whole.start <= f.start and f.end <= whole.end)
            }
            found.add(whole)
    return sorted(found)


# Words that make a clean-looking input worth a second look by the local model.
_CUES = re.compile(
    r"\b(?:confidential|private|secret|password|passcode|credentials?|diagnos\w*|medical"
    r"|prescri\w*|salary|bank account|account number|personal|internal only|do not share"
    r"|social security|home address|date of birth)\b",
    re.IGNORECASE,
)
EXCERPT_CHARS = 160
MAX_EXCERPTS = 3


def unsure_excerpts(text: str) -> list[str]:
    """Excerpts around privacy cue words in an input the detectors found clean: what the
    optional second stage asks the local model about. Empty when there is no cue."""
    excerpts: list[str] = []
    last_end = -1
    for match in _CUES.finditer(text):
        start = max(0, match.start() - EXCERPT_CHARS)
        if start < last_end:
            continue
        last_end = match.end() + EXCERPT_CHARS
        excerpts.append(text[start:last_end])
        if len(excerpts) == MAX_EXCERPTS:
            break
    return excerpts
