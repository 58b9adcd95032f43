"""The input as a reader sees it, character for character: letters from other scripts
that look Latin (Cyrillic `раssроrt`, Greek `C02ZΚ4F7ΜD6Τ`), full-width forms
(`ｍｙ　ａｌｌｅｒｇｙ`), leetspeak inside words (`w4rf4r1n`, `alc0h0lic`) and digit
groups wrapped onto the next line (`DE28\\n7847 5349`) undone.

Every change keeps the length, so a span found in the folded text is the same span of
the input. Pure code, no I/O.
"""

from __future__ import annotations

import re
import unicodedata

import re2

# Letters of other scripts drawn like Latin ones (Unicode's confusables, the common part).
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁһԛԝАВЕКМНОРСТХУІЈЅ"  # Cyrillic
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧοιкνρυχ"  # Greek
    "Ꭵ",  # Cherokee
    "aeopcyxijsdhqwABEKMHOPCTXYIJSABEZHIKMNOPTYXoikvpuxi",
)
# A leet character between two letters (bl00d, w4rf4r1n; not md5, utf8, sha256), found by
# RE2 in one pass; the word around it is then read whole.
_LEET_GATE = re2.compile(r"[A-Za-z][0-9@$]+[A-Za-z]")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@$")
_LEET = str.maketrans("013457@$", "oieastas")
# Groups of capitals and digits split over lines: "0412\n558 930", "AB 12\n34 56 D".
_WRAP_GATE = re2.compile(r"[A-Z0-9]\n[A-Z0-9]")
_WRAPPED_GROUPS = re.compile(r"\b[A-Z0-9]{2,5}\n[A-Z0-9]{2,5}\b")


def _unleet(text: str) -> str:
    chars = list(text)
    done = -1
    for gate in _LEET_GATE.finditer(text):
        if gate.start() < done:
            continue
        start, end = gate.start(), gate.end()
        while start > 0 and text[start - 1] in _WORD_CHARS:
            start -= 1
        while end < len(text) and text[end] in _WORD_CHARS:
            end += 1
        done = end
        word = text[start:end]
        lower, upper = sum(c.islower() for c in word), sum(c.isupper() for c in word)
        # w4rf4r1n, Sp0tify; not a serial or a code (C02ZK4P1MD6T), nor part of a path
        before = text[start - 1] if start > 0 else " "
        after = text[end] if end < len(text) else " "
        joined = before in "._:/-" or after in "_:/-"
        if 3 <= len(word) <= 20 and lower >= 2 and upper <= 1 and not joined:
            chars[start:end] = word.translate(_LEET)
    return "".join(chars)


def folded(text: str) -> str:
    """`text` with look-alike letters, full-width forms, leetspeak and wrapped digit
    groups read as a person reads them; the same length as `text`."""
    out = text.translate(_LOOKALIKES)
    if not out.isascii():
        nfkc = unicodedata.normalize("NFKC", out)
        if len(nfkc) == len(out):
            out = nfkc
    if _LEET_GATE.search(out):
        out = _unleet(out)
    if _WRAP_GATE.search(out):
        out = _WRAPPED_GROUPS.sub(lambda m: m.group().replace("\n", " "), out)
    return out
