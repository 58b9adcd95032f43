"""Views of an input with its obfuscation undone, for the detectors to read again:
values spelled out one character at a time ("4 5 3 2 0 1 …", "j o h n @ g m a i l"),
digits written as words ("four five five six, …"), and secrets broken over lines
(`"sk-proj-abc"\n    "def"`).

A view is the changed text plus, for every character of it, its offset in the input,
so what a detector finds in the view is reported at its place in the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import re2

# Four or more single characters, each followed by one space: "4 5 3 2", "p a s s".
_SPACED = re2.compile(r"(?:^|\s)((?:[A-Za-z0-9@._+\-!#$%&*] ){3,}[A-Za-z0-9@._+\-!#$%&*])(?:\s|$)")
# Five or more single characters with a dot after each: "F.i.e.t.s.b.e.l.!.0.9", "L. 0. 1. X".
_DOTTED = re2.compile(r"(?:^|[\s:'\"(])((?:[A-Za-z0-9@_+\-!#$%&*]\. ?){4,}[A-Za-z0-9@_+\-!#$%&*])")
# A token broken over lines: `"sk-proj-abc"\n    "def"`, `abc\\\ndef`, or a bare wrap.
_SPLIT = re2.compile(r"[A-Za-z0-9_\-+/=]{6,}[\"'+\\ \t]*\r?\n[ \t\"'+\\]*[A-Za-z0-9_\-+/=]{6,}")
_JOINERS = frozenset(" \t\"'+\\\r")
CONTEXT = 120  # characters of the input kept around a repaired place, for the labels


@dataclass(frozen=True)
class View:
    text: str
    offsets: list[int]  # offsets[i]: where text[i] starts in the input
    repaired: tuple[int, int]  # the span of the input that was changed
    # ends[i]: where text[i] ends in the input, when a character stands for a word
    ends: list[int] | None = None

    def span_in_input(self, start: int, end: int) -> tuple[int, int]:
        last = end - 1
        return self.offsets[start], self.ends[last] if self.ends else self.offsets[last] + 1

    def covers_repair(self, start: int, end: int) -> bool:
        """Does a finding at input span [start, end) need the repair to be seen?"""
        return start < self.repaired[1] and self.repaired[0] < end


def spaced_out(text: str) -> Iterator[View]:
    """Each run of single spaced characters, with the spaces inside it removed."""
    for match in _SPACED.finditer(text):
        run_start, run_end = match.span(1)
        start, end = max(0, run_start - CONTEXT), min(len(text), run_end + CONTEXT)
        offsets = [
            i for i in range(start, end) if not (run_start <= i < run_end and text[i] == " ")
        ]
        yield View("".join(text[i] for i in offsets), offsets, (run_start, run_end))


def dotted_out(text: str) -> Iterator[View]:
    """Each run of single characters with dots between them, with the dots (and the
    spaces after them) removed."""
    for match in _DOTTED.finditer(text):
        run_start, run_end = match.span(1)
        start, end = max(0, run_start - CONTEXT), min(len(text), run_end + CONTEXT)
        offsets = [
            i for i in range(start, end) if not (run_start <= i < run_end and text[i] in ". ")
        ]
        yield View("".join(text[i] for i in offsets), offsets, (run_start, run_end))


# The first piece of a bare wrap: a long token that is all its line holds (indentation and
# an opening quote aside), as a base64 blob or a key wrapped at a fixed width is.
_BARE_WRAP = re.compile(r"[ \t\"']*[A-Za-z0-9_\-+/=]{32,}")


def _wrapped(text: str, split: re2._Match[str]) -> bool:
    """Is this break inside one token? Not a shell continuation (`--id abc \\`, a space
    before the backslash), nor two lines of code that each end and start with a word."""
    piece = split.group()
    joiner = piece[: piece.index("\n")].rstrip("\r")
    joiner = joiner[len(joiner.rstrip(" \t\"'+\\")) :]
    if re.fullmatch(r"[ \t]+\\", joiner):
        return False
    if joiner.strip(" \t"):
        return True  # a quote, a +, or a backslash right after the token: a split string
    line_start = text.rfind("\n", 0, split.start()) + 1
    line_end = split.start() + piece.index("\n")
    line = text[line_start:line_end].rstrip()
    # `PYTHONPATH=/home/…/lib` is a setting; base64 has `=` only at its end
    return _BARE_WRAP.fullmatch(line) is not None and "=" not in line.rstrip("=")


def line_broken(text: str) -> Iterator[View]:
    """Each token broken over a line, with the break (and quotes around it) removed."""
    for split in _SPLIT.finditer(text):
        if not _wrapped(text, split):
            continue
        start, end = max(0, split.start() - CONTEXT), min(len(text), split.end() + CONTEXT)
        offsets: list[int] = []
        skipping = False
        for index in range(start, end):
            char = text[index]
            if char == "\n":
                while offsets and text[offsets[-1]] in _JOINERS:
                    offsets.pop()
                skipping = True
            elif not (skipping and char in _JOINERS):
                skipping = False
                offsets.append(index)
        at = split.start() + split.group().index("\n")
        yield View("".join(text[i] for i in offsets), offsets, (at, at + 1))


_UNITS = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "for": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    # Spanish, Portuguese, French, German, Italian
    "cero": 0, "uno": 1, "um": 1, "dos": 2, "dois": 2, "tres": 3, "três": 3, "cuatro": 4,
    "quatro": 4, "cinco": 5, "seis": 6, "siete": 7, "sete": 7, "ocho": 8, "oito": 8,
    "nueve": 9, "nove": 9, "null": 0, "eins": 1, "zwei": 2, "drei": 3, "vier": 4,
    "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zéro": 0, "un": 1, "deux": 2,
    "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9, "due": 2, "tre": 3,
    "sei": 6, "sette": 7, "otto": 8,
    "quattro": 4, "cinque": 5,
    # Dutch
    "nul": 0, "een": 1, "één": 1, "twee": 2, "drie": 3, "vijf": 5, "zes": 6, "zeven": 7,
    "negen": 9,
    # Polish
    "jeden": 1, "dwa": 2, "trzy": 3, "cztery": 4, "pięć": 5, "sześć": 6, "siedem": 7,
    "osiem": 8, "dziewięć": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 2, "thirty": 3, "forty": 4, "fourty": 4, "fifty": 5, "sixty": 6, "seventy": 7,
    "eighty": 8, "ninety": 9,
}  # fmt: skip
_NUMBER_WORD = "|".join(
    sorted([*_UNITS, *_TEENS, *_TENS, "double", "triple"], key=len, reverse=True)
)
# A number word, alone or hyphenated ("forty-seven"); RE2 finds them all in one pass.
_TOKEN = re2.compile(rf"(?i)\b({_NUMBER_WORD})(?:-({_NUMBER_WORD}))?\b")
_GAP = re.compile(r"[\s,\-]*")
RUN = 4  # number words in a row that make a run


def _runs(text: str) -> Iterator[list[re2._Match[str]]]:
    """Runs of RUN or more number words separated only by spaces, commas or dashes."""
    run: list[re2._Match[str]] = []
    for token in _TOKEN.finditer(text):
        if run and not _GAP.fullmatch(text, run[-1].end(), token.start()):
            if len(run) >= RUN:
                yield run
            run = []
        run.append(token)
    if len(run) >= RUN:
        yield run


def _digits_of(word: str, second: str | None) -> str:
    word, second = word.lower(), (second or "").lower()
    if word in _TENS:
        return f"{_TENS[word]}{_UNITS.get(second, 0)}"
    if word in _TEENS:
        return str(_TEENS[word])
    return str(_UNITS[word]) + (str(_UNITS[second]) if second in _UNITS else "")


def spelled_digits(text: str) -> Iterator[View]:
    """Each run of number words written out, with the words turned into digits
    ("double" and "triple" repeat the next digit), grouped as the writer grouped them."""
    for run in _runs(text):
        run_start, run_end = run[0].start(), run[-1].end()
        start, end = max(0, run_start - CONTEXT), min(len(text), run_end + CONTEXT)
        chars: list[str] = list(text[start:run_start])
        offsets: list[int] = list(range(start, run_start))
        ends: list[int] = [i + 1 for i in offsets]
        repeat = 1
        last = run_start
        for token in run:
            word = token.group(1).lower()
            if word in ("double", "triple"):
                repeat = 2 if word == "double" else 3
                continue
            gap = text[last : token.start()]
            if "," in gap or "  " in gap:  # keep the writer's groups apart
                chars.append(" ")
                offsets.append(last)
                ends.append(last + 1)
            digits = _digits_of(token.group(1), token.group(2)) * repeat
            repeat = 1
            chars.extend(digits)
            offsets.extend([token.start()] * len(digits))
            ends.extend([token.end()] * len(digits))
            last = token.end()
        chars.extend(text[run_end:end])
        offsets.extend(range(run_end, end))
        ends.extend(range(run_end + 1, end + 1))
        yield View("".join(chars), offsets, (run_start, run_end), ends)
