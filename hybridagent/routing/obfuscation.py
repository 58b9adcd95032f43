"""Views of an input with its obfuscation undone, for the detectors to read again:
values spelled out one character at a time ("4 5 3 2 0 1 …", "j o h n @ g m a i l"),
and secrets broken over lines (`"sk-proj-abc"\n    "def"`).

A view is the changed text plus, for every character of it, its offset in the input,
so what a detector finds in the view is reported at its place in the input.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import re2

# Four or more single characters, each followed by one space: "4 5 3 2", "p a s s".
_SPACED = re2.compile(r"(?:^|\s)((?:[A-Za-z0-9@._+\-!#$%&*] ){3,}[A-Za-z0-9@._+\-!#$%&*])(?:\s|$)")
# A token broken over lines: `"sk-proj-abc"\n    "def"`, `abc\\\ndef`, or a bare wrap.
_SPLIT = re2.compile(r"[A-Za-z0-9_\-+/=]{6,}[\"'+\\ \t]*\r?\n[ \t\"'+\\]*[A-Za-z0-9_\-+/=]{6,}")
_JOINERS = frozenset(" \t\"'+\\\r")
CONTEXT = 120  # characters of the input kept around a repaired place, for the labels


@dataclass(frozen=True)
class View:
    text: str
    offsets: list[int]  # offsets[i]: where text[i] is in the input
    repaired: tuple[int, int]  # the span of the input that was changed

    def span_in_input(self, start: int, end: int) -> tuple[int, int]:
        return self.offsets[start], self.offsets[end - 1] + 1

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


def line_broken(text: str) -> Iterator[View]:
    """Each token broken over a line, with the break (and quotes around it) removed."""
    for split in _SPLIT.finditer(text):
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
