"""The learned stage of the privacy detector: a logistic regression on character and word
n-gram TF-IDF features, scored in pure Python from a JSON table that ships in the
package (training/privacy/train.py builds it; scikit-learn is needed only there).

It reads what people write, not what programs print: the prose lines of a message, in
windows of about a sentence (the size of what it was trained on). Code lines and fenced
code blocks are left to the deterministic stage, which knows the formats of secrets and
identifiers in them; that is what keeps long technical content clean.

Pure: `LearnedModel` is built from the table; `packaged_model()` reads the table that
ships in the package, once. Findings name the category the model thinks most likely
and carry its probability.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import compress
from pathlib import Path
from typing import Any

import re2

from hybridagent.routing.findings import Finding

MODEL_FILE = "privacy_model.json.gz"
WINDOW_CHARS = 120  # about a sentence, the length of most training rows
# Long content is read as many windows, and each is a chance of a false alarm: a window
# of an input with more than one needs this much more probability to count.
MANY_WINDOWS_MARGIN = 0.05
# Fewer words than this give the model too little to go on ("Tell me of the sea."
# scores like a secret): such windows are left to the rules.
MIN_WORDS = 6
WORD_CACHE = 50_000  # words whose n-grams are kept (a few MB)
_WORD = re.compile(r"(?u)\b\w+\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_FENCE = re.compile(r"^\s*(?:```|~~~)")
# Comment and quote markers, bullets and indentation before the words of a line.
_LEAD = re.compile(r"^\s*(?:#+|//+|/\*+|\*+|--|;+|>+|\"\"\"|\'\'\'|[-*+•]\s|\d+[.)]\s)?\s*")
# A line of code rather than prose: a keyword at its start, or code-shaped tokens.
_CODE_START = re.compile(
    r"(?:def|class|import|from|return|if|elif|else|for|while|try|except|with|raise|yield|async"
    r"|await|lambda|public|private|function|const|let|var|package|#include)\b"
)
# RE2: one linear pass; Python's re retried each alternative at every character.
_CODE_TOKEN = re2.compile(
    r"\w\(|\)\s*[:{]|[=!<>]=|->|=>|::|\w\[|\]\s*=|\w\s*=\s*\S|^\s*[@$]|[{};]\s*$"
)
_WORDS = re.compile(r"[^\W\d_]{2,}")
# What a window of long content (a pasted file, a page of docs) needs before its score
# counts: a person in its lines — the writer, someone named, a pronoun, a relative, a
# household. Docstrings about contacting a server, private keys or booking flights are
# about programs, and the model, trained on messages about people, scored them high.
LONG_CONTENT_CHARS = 500
PERSON_CUE = re2.compile(
    r"(?i:\b(?:i|i'm|i've|i'd|me|my|mine|we|our|us|he|she|his|her|him|hers"
    r"|ich|mein\w*|mich|mir|je|j'ai|moi|mon|ma|mes|yo|mi|mis|eu|meu|minha|io|mio|mia"
    r"|mom|mum|mother|dad|father|son|daughter|wife|husband|brother|sister|aunt|uncle"
    r"|cousin|grand\w+|friend|colleague|coworker|boss|intern|neighbou?r|partner|boyfriend"
    r"|girlfriend|patient|customer|client|employee|tenant|candidate|applicant|cleaner"
    r"|nanny|by user)\b)"
    r"|\b\p{Lu}\p{Ll}+'s\b|\b\p{Lu}\p{Ll}+ \p{Lu}\p{Ll}+\b"
    r"|\b\p{Lu}\p{Ll}+ (?i:home|residence|household|family|house)\b"
)


def about_someone(text: str, start: int, end: int) -> bool:
    """Do the lines of window text[start:end] name or point to a person?"""
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", end)
    return PERSON_CUE.search(text[first : len(text) if last < 0 else last]) is not None


_CODE_CHARS = frozenset("{}[]()<>=;/\\|`_$#@*&^~")


def _readable(words: list[str]) -> bool:
    counts = Counter(word.lower() for word in words)
    return len(counts) >= MIN_WORDS and max(counts.values()) * 2 <= len(words)


@dataclass(frozen=True)
class _Block:
    """One feature block (a TfidfVectorizer): its analyzer and, per n-gram, idf and weight."""

    analyzer: str  # "char_wb" or "word"
    ngram_range: tuple[int, int]
    # Each n-gram of the vocabulary has a number from 1 (0 means "not in it"); by number,
    # idf x weight (its share of the dot product at tf 1) and idf squared (of the squared
    # norm). A window's score is then two C-level sums over small ints, not a Python loop
    # over string keys: this is what keeps the stage under 2 ms for 500 tokens.
    ids: dict[str, int]
    weights: tuple[float, ...]
    squares: tuple[float, ...]
    # char_wb n-grams never cross a word, so each word's n-grams in the vocabulary are
    # worked out once: words repeat, and a dict lookup is cheaper than slicing again.
    _word_grams: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False)

    @classmethod
    def from_table(cls, block: dict[str, Any]) -> _Block:
        features: dict[str, list[float]] = block["features"]
        grams = sorted(features)
        return cls(
            block["analyzer"],
            (block["ngram_range"][0], block["ngram_range"][1]),
            {gram: i for i, gram in enumerate(grams, start=1)},
            (0.0, *(features[g][0] * features[g][1] for g in grams)),
            (0.0, *(features[g][0] * features[g][0] for g in grams)),
        )

    def _grams_of_word(self, word: str) -> tuple[int, ...]:
        known = self._word_grams.get(word)
        if known is None:
            lo, hi = self.ngram_range
            padded = f" {word} "
            size = len(padded)
            grams: list[str] = []
            for n in range(lo, hi + 1):
                if size <= n:
                    grams.append(padded)
                    break
                grams += [padded[i : i + n] for i in range(size - n + 1)]
            known = tuple(filter(None, map(self.ids.get, grams)))
            if len(self._word_grams) >= WORD_CACHE:
                self._word_grams.clear()
            self._word_grams[word] = known
        return known

    def grams(self, text: str) -> list[int]:
        """The numbers of the block's n-grams of `text` that are in its vocabulary."""
        if self.analyzer == "word":
            words = _WORD.findall(text)
            lo, hi = self.ngram_range
            found: list[int] = []
            for n in range(lo, hi + 1):
                shifted = (words[i:] for i in range(n))  # zip stops at the shortest
                joined = words if n == 1 else map(" ".join, zip(*shifted, strict=False))
                found += filter(None, map(self.ids.get, joined))
            return found
        # scikit-learn's char_wb: n-grams inside each space-padded word only.
        found = []
        for word in text.split():
            found += self._grams_of_word(word)
        return found

    def score(self, text: str) -> float:
        """The block's contribution: weights · L2-normalised sublinear TF-IDF."""
        grams = self.grams(text)
        if not grams:
            return 0.0
        counts = Counter(grams)
        weights, squares = self.weights, self.squares
        dot = sum(map(weights.__getitem__, counts))
        norm = sum(map(squares.__getitem__, counts))
        if len(counts) < len(grams):  # tf is sublinear, 1 + log(count): repeats add less
            for gram in compress(counts, map((1).__lt__, counts.values())):
                tf = 1.0 + math.log(counts[gram])
                dot += (tf - 1.0) * weights[gram]
                norm += (tf * tf - 1.0) * squares[gram]
        return dot / math.sqrt(norm)


@dataclass(frozen=True)
class LearnedModel:
    version: str
    threshold: float
    intercept: float
    blocks: tuple[_Block, ...]
    categories: tuple[str, ...]
    # Word features -> one weight per category, and the per-category intercepts.
    category_words: dict[str, list[float]]
    category_intercepts: tuple[float, ...]

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> LearnedModel:
        blocks = tuple(_Block.from_table(block) for block in table["blocks"])
        return cls(
            version=table["version"],
            threshold=table["threshold"],
            intercept=table["intercept"],
            blocks=blocks,
            categories=tuple(table["categories"]),
            category_words=table["category_words"],
            category_intercepts=tuple(table["category_intercepts"]),
        )

    def probability(self, text: str) -> float:
        """P(sensitive) for one window of prose."""
        lowered = text.lower()
        z = self.intercept + sum(block.score(lowered) for block in self.blocks)
        return 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0

    def category(self, text: str) -> str:
        """The most likely category of a window the model found sensitive."""
        rows = [
            weights
            for word in set(_WORD.findall(text.lower()))
            if (weights := self.category_words.get(word)) is not None
        ]
        totals = (
            [
                base + sum(column)
                for base, column in zip(
                    self.category_intercepts, zip(*rows, strict=True), strict=False
                )
            ]
            if rows
            else list(self.category_intercepts)
        )
        return self.categories[max(range(len(totals)), key=totals.__getitem__)]

    def scored_windows(
        self, text: str, windows: list[tuple[int, int]] | None = None
    ) -> list[tuple[int, int, float]]:
        """(start, end, probability) of each prose window the model reads: windows of
        fewer than MIN_WORDS distinct words, or filler where one word is half of them
        ("la la la …", which the model scored like a disclosure), are left to the rules."""
        scored: list[tuple[int, int, float]] = []
        for start, end in prose_windows(text) if windows is None else windows:
            window = window_text(text, start, end)
            if _readable(_WORD.findall(window)):
                scored.append((start, end, self.probability(window)))
        return scored

    def limit(self, windows: int, threshold: float | None = None) -> float:
        """The probability a window needs, given how many windows the input has."""
        limit = self.threshold if threshold is None else threshold
        return min(0.99, limit + MANY_WINDOWS_MARGIN) if windows > 1 else limit

    def findings(self, text: str, threshold: float | None = None) -> list[Finding]:
        """One finding per prose window scored at or above the threshold; in long content
        (a pasted file, a page of docs) only windows about someone count."""
        windows = prose_windows(text)
        scored = self.scored_windows(text, windows)
        limit = self.limit(len(windows), threshold)
        long_content = len(windows) > 1 and len(text) > LONG_CONTENT_CHARS
        return [
            Finding(
                start,
                end,
                f"learned_{self.category(window_text(text, start, end))}",
                score=round(p, 4),
            )
            for start, end, p in scored
            if p >= limit and (not long_content or about_someone(text, start, end))
        ]


def window_text(text: str, start: int, end: int) -> str:
    """What the model reads of a window: its words, without the comment markers, bullets
    and indentation that start each of its lines (a comment wrapped over two lines is one
    sentence, the way the training rows are written)."""
    window = text[start:end]
    if "\n" not in window.strip():
        return window.strip()
    lines = (line[_LEAD.match(line).end() :].strip() for line in window.splitlines())  # type: ignore[union-attr]
    return " ".join(line for line in lines if line)


def _is_prose(line: str) -> bool:
    """Words a person wrote: a sentence, a comment, a docstring line, a list item.
    Code, markup, data and log lines are not (the deterministic stage reads those)."""
    body = line[_LEAD.match(line).end() :].strip()  # type: ignore[union-attr]
    if len(_WORDS.findall(body)) < 3 or _CODE_START.match(body) or "://" in body:
        return False  # too few words, code, or a link
    tokens = _CODE_TOKEN.finditer(body)
    if next(tokens, None) is not None and next(tokens, None) is not None:
        return False  # two code-shaped tokens
    symbols = sum(map(body.count, _CODE_CHARS))
    return symbols / len(body) <= 0.06


# Words inside a line of code: a string literal or a trailing comment.
_EMBEDDED = re.compile(r"\"([^\"\n]{12,})\"|'([^'\n]{12,})'|#\s*([^\n]{12,})$")


def _embedded_prose(line: str, offset: int) -> Iterator[tuple[int, int]]:
    for match in _EMBEDDED.finditer(line):
        group = next(g for g in (1, 2, 3) if match.group(g) is not None)
        if _is_prose(match.group(group)):
            yield offset + match.start(group), offset + match.end(group)


def _prose_runs(text: str) -> Iterator[tuple[int, int]]:
    """[start, end) of each run of consecutive prose lines outside fenced code (a
    comment or docstring inside code is prose)."""
    offset = 0
    run_start: int | None = None
    fenced = False
    for line in text.splitlines(keepends=True):
        fence = _FENCE.match(line) is not None
        if fence:
            fenced = not fenced
        if fence or fenced or not _is_prose(line):
            if run_start is not None:
                yield run_start, offset
                run_start = None
            if not fence:
                yield from _embedded_prose(line.rstrip("\n"), offset)
        elif run_start is None:
            run_start = offset
        offset += len(line)
    if run_start is not None:
        yield run_start, offset


def prose_windows(text: str) -> list[tuple[int, int]]:
    """Windows of whole sentences, at most WINDOW_CHARS long (a longer sentence is cut),
    over the prose of `text`. A short input that is one line is read whole, code or not:
    a one-line question is what people type."""
    if len(text) <= WINDOW_CHARS and "\n" not in text.strip():
        return [(0, len(text))] if text.strip() else []
    windows: list[tuple[int, int]] = []
    for run_start, run_end in _prose_runs(text):
        start = run_start
        cut = run_start
        for boundary in [m.end() for m in _SENTENCE_END.finditer(text, run_start, run_end)] + [
            run_end
        ]:
            if boundary - start > WINDOW_CHARS and cut > start:
                windows.append((start, cut))
                start = cut
            while boundary - start > WINDOW_CHARS:  # a long sentence: cut between words
                space = text.rfind(" ", start + 1, start + WINDOW_CHARS)
                split = space if space > start else start + WINDOW_CHARS
                windows.append((start, split))
                start = split
            cut = boundary
        if cut > start:
            windows.append((start, cut))
    return [(s, e) for s, e in windows if text[s:e].strip()]


def _from_bytes(data: bytes) -> LearnedModel:
    table: dict[str, Any] = json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return LearnedModel.from_table(table)


@cache
def packaged_model() -> LearnedModel:
    """The model that ships in the package (hybridagent/routing/data/), read once."""
    return _from_bytes(
        resources.files("hybridagent.routing").joinpath("data", MODEL_FILE).read_bytes()
    )


def load_model(path: Path | None) -> LearnedModel:
    """A model table the user trained (HYBRIDAGENT_PRIVACY_MODEL), or the packaged one."""
    return packaged_model() if path is None else _from_bytes(path.read_bytes())
