"""Privacy detection: does a model input hold content that must never leave the machine?

Two stages. The deterministic one knows formats: the secret detectors
(routing/secrets.py, routing/assignments.py), personal data with checksums
(routing/personal_data.py), facts about named people (routing/disclosures.py),
labelled identifiers (routing/identifiers.py), the user's
terms and patterns, and the same again on views with obfuscation undone (spelled-out
values, secrets broken over lines). The learned one (routing/learned.py) reads the prose
a person wrote, for what has no format: a diagnosis, a relative's story, a value
described instead of stated. A Finding has a type, a span and, from the learned stage,
a score — never the text.

Pure given the model table: `scan` with `learned=None` never touches the disk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache

from hybridagent.routing.assignments import (
    find_cli_credentials,
    find_labelled_ids,
    find_personal_fields,
    find_secret_assignments,
)
from hybridagent.routing.categories import CUSTOM, category_of
from hybridagent.routing.detector_config import DEFAULT, DetectorConfig
from hybridagent.routing.findings import Finding, windows
from hybridagent.routing.identifiers import LABELLED_TYPES, find_identifiers
from hybridagent.routing.learned import LONG_CONTENT_CHARS, LearnedModel
from hybridagent.routing.lookalikes import folded
from hybridagent.routing.obfuscation import (
    CONTEXT,
    View,
    dotted_out,
    line_broken,
    spaced_out,
    spelled_digits,
)
from hybridagent.routing.personal_data import find_personal_data
from hybridagent.routing.secrets import find_secrets

__all__ = ["DetectorConfig", "Finding", "scan"]


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


def _formats(text: str) -> Iterator[Finding]:
    """The detectors that recognise a value by its format."""
    lower = text.lower()
    yield from find_secrets(text)
    yield from find_secret_assignments(text)
    yield from find_cli_credentials(text)
    yield from find_personal_fields(text)
    yield from find_labelled_ids(text)
    yield from find_personal_data(text, lower)
    yield from find_identifiers(text, lower)


# A message that is one token and nothing else: what a user pastes is the value itself.
_LONE_PASSWORD = re.compile(r"(?=\S*[a-z])(?=\S*[A-Z])(?=\S*\d)\S{8,64}")
_LONE_SERIAL = re.compile(r"(?=(?:[A-Z0-9]*\d){3})(?=(?:[A-Z0-9]*[A-Z]){3})[A-Z0-9]{10,20}")
_LONE_HANDLE = re.compile(r"@[A-Za-z0-9][\w.]{3,30}")


def _lone_token(text: str) -> Iterator[Finding]:
    """A bare password (`Hunter2Giraffe!`), serial (`C02ZK4P1MD6T`) or handle
    (`@marieke.vd.berg`) sent on its own."""
    value = text.strip()
    if not value or len(value) > 64 or any(c.isspace() for c in value):
        return
    start = text.index(value)
    for pattern, kind in (
        (_LONE_PASSWORD, "password"),
        (_LONE_SERIAL, "device_id"),
        (_LONE_HANDLE, "social_handle"),
    ):
        if pattern.fullmatch(value) and not value.startswith(("http", "www.")):
            yield Finding(start, start + len(value), kind)
            return


def _folded_findings(text: str) -> Iterator[Finding]:
    """Findings that need look-alikes folded to be seen (`раssроrt`, `ａｏｉｆｅ＠…`,
    `w4rf4r1n`): the detectors read the folded text only around what folding changed."""
    plain = folded(text)
    if plain == text:
        return
    changed = [i for i, (a, b) in enumerate(zip(text, plain, strict=True)) if a != b]
    near = windows(len(text), [(i, i + 1) for i in changed], before=CONTEXT, after=CONTEXT)
    for low, high in near:
        for finding in _formats(plain[low:high]):
            start, end = finding.start + low, finding.end + low
            if any(start <= i < end for i in changed):
                yield Finding(start, end, finding.type)


def _secrets(text: str) -> Iterator[Finding]:
    yield from find_secrets(text)
    yield from find_secret_assignments(text)
    yield from find_cli_credentials(text)


def _repaired(
    views: Iterable[View], detect: Callable[[str], Iterable[Finding]]
) -> Iterator[Finding]:
    """Findings in the views that need the repair to be seen, at their input spans."""
    for view in views:
        for finding in detect(view.text):
            start, end = view.span_in_input(finding.start, finding.end)
            if view.covers_repair(start, end):
                yield Finding(start, end, finding.type)


def rule_findings(
    text: str, terms: Sequence[str] = (), patterns: Sequence[str] = ()
) -> set[Finding]:
    """The deterministic stage."""
    found = set(_formats(text))
    found.update(_custom(text, text.lower(), terms, patterns))
    found.update(_lone_token(text))
    found.update(_folded_findings(text))
    wholes = set(_repaired(spaced_out(text), _formats))
    wholes.update(_repaired(dotted_out(text), _formats))
    wholes.update(_repaired(spelled_digits(text), _formats))
    if "\n" in text:  # only secrets are long tokens that get wrapped
        wholes.update(_repaired(line_broken(text), _secrets))
    # A repaired finding replaces the fragments it contains.
    found = wholes | {
        f for f in found if not any(w.start <= f.start and f.end <= w.end for w in wholes)
    }
    # A value a format detector knows (an SSN) is not reported again by its label.
    known = [f for f in found if f.type not in LABELLED_TYPES]
    return {
        f
        for f in found
        if f.type not in LABELLED_TYPES
        or not any(k.start < f.end and f.start < k.end for k in known)
    }


def scan(
    text: str,
    terms: Sequence[str] = (),
    patterns: Sequence[str] = (),
    *,
    config: DetectorConfig = DEFAULT,
    learned: LearnedModel | None = None,
    prose: bool = True,
    explain: bool = False,
) -> list[Finding]:
    """All sensitive spans in `text` of the enabled categories, sorted by position.

    `learned`: the learned stage's model (None: rules only). `prose`: the text was
    written by a person (a user message), so the learned stage reads it; tool results
    and model output are left to the rules. `explain`: run the learned stage even when
    the rules already found something (the verdict is the same; `privacy scan` shows it).
    """
    found = _enabled(rule_findings(text, terms, patterns), config)
    if learned is not None and prose and (explain or not found):
        found += _learned_findings(text, config, learned)
        if not found and len(text) <= LONG_CONTENT_CHARS and (plain := folded(text)) != text:
            # a message in look-alikes (Cyrillic, full-width, leet): same length, same spans
            found += _learned_findings(plain, config, learned)
    return sorted(found)


def _enabled(findings: Iterable[Finding], config: DetectorConfig) -> list[Finding]:
    """The findings of the categories the configuration counts (terms always count)."""
    return [f for f in findings if category_of(f.type) in config.categories | {CUSTOM}]


def _learned_findings(text: str, config: DetectorConfig, learned: LearnedModel) -> list[Finding]:
    if not config.learned:
        return []
    return _enabled(learned.findings(text, config.threshold), config)


def scan_parts(
    parts: Sequence[tuple[str, bool]],
    terms: Sequence[str] = (),
    patterns: Sequence[str] = (),
    *,
    config: DetectorConfig = DEFAULT,
    learned: LearnedModel | None = None,
) -> list[list[Finding]]:
    """Findings per part of one model call's input; each part is (text, written by a
    person). The rules read the parts together, so a finding that crosses two parts
    counts for both; the learned stage reads each prose part the rules found clean."""
    joined = "\n".join(text for text, _ in parts)
    found = scan(joined, terms, patterns, config=config)
    per_part: list[list[Finding]] = []
    offset = 0
    for text, prose in parts:
        end = offset + len(text)
        mine = [
            Finding(max(f.start, offset) - offset, min(f.end, end) - offset, f.type)
            for f in found
            if f.start <= end and f.end >= offset
        ]
        if not mine and prose and learned is not None:
            mine = _learned_findings(text, config, learned)
        per_part.append(mine)
        offset = end + 1
    return per_part
