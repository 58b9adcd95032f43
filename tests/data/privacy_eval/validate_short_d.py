"""Sanity checks for short_d.jsonl: schema, ids, duplicates, Luhn/IBAN validity, counts."""

from __future__ import annotations

import collections
import json
import re
import sys
from pathlib import Path

CATEGORIES = ["contact", "identification", "financial", "authentication", "health",
              "location_network", "account_profile", "device_incident", "media_content", "ancillary"]
KINDS = ["direct", "typo", "contextual", "topic", "false_keyword", "typo_question"]
POSITIVE = {"direct", "typo", "contextual"}
SECRET_PATTERNS = [r"AKIA[0-9A-Z]{16}", r"sk_live_[0-9A-Za-z]{10,}", r"ghp_[0-9A-Za-z]{20,}",
                   r"xox[bap]-\d", r"AIza[0-9A-Za-z_-]{30,}", r"sk-proj-", r"eyJ[0-9A-Za-z_-]{10,}\.",
                   r"BEGIN [A-Z ]*PRIVATE KEY-----\n[A-Za-z0-9+/]"]
# crude stopword sets to estimate the share of non-English rows
LANG_WORDS = {
    "de": {"ich", "meine", "mein", "bitte", "und", "ist", "wie", "der", "die", "das", "nicht", "steht", "vom"},
    "fr": {"je", "mon", "ma", "est", "comment", "les", "une", "c'est", "dans", "pour", "tu", "depuis"},
    "es": {"mi", "es", "el", "la", "¿cómo", "que", "por", "de", "los", "una", "tiene", "pone", "¿qué"},
    "it": {"il", "mio", "mia", "è", "per", "come", "di", "un", "scrivi", "posso", "nel"},
    "pt": {"meu", "minha", "como", "para", "o", "que", "uma", "faço", "fica"},
    "pl": {"mój", "to", "czy", "jak", "mam", "na", "w", "proszę", "do"},
    "nl": {"mijn", "is", "het", "een", "hoe", "van", "ik", "ons", "op", "moet"},
}


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "")
    s = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


def guess_lang(text: str) -> str:
    words = set(re.findall(r"[\wÀ-ž'¿]+", text.lower()))
    english = len(words & {"the", "my", "is", "how", "and", "to", "a", "i", "what", "for", "it", "me", "do"})
    best, score = "en", english
    for lang, sw in LANG_WORDS.items():
        s = len(words & sw)
        if s > score + 1:
            best, score = lang, s
    return best


def main() -> int:
    path = Path(__file__).resolve().parent / "short_d.jsonl"
    problems: list[str] = []
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    seen: dict[str, int] = {}
    lengths: list[int] = []
    langs: collections.Counter[str] = collections.Counter()
    starts: collections.Counter[str] = collections.Counter()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        row = json.loads(line)
        if set(row) != {"text", "sensitive", "category", "kind"}:
            problems.append(f"{lineno}: keys {sorted(row)}")
        text, cat, kind, sens = row["text"], row["category"], row["kind"], row["sensitive"]
        if cat not in CATEGORIES or kind not in KINDS:
            problems.append(f"{lineno}: bad ids {cat}/{kind}")
        if sens is not (kind in POSITIVE):
            problems.append(f"{lineno}: sensitive flag disagrees with kind")
        norm = " ".join(text.lower().split())
        if norm in seen:
            problems.append(f"{lineno}: duplicate of line {seen[norm]}")
        seen[norm] = lineno
        counts[(cat, kind)] += 1
        lengths.append(len(text.split()))
        langs[guess_lang(text)] += 1
        starts[" ".join(norm.split()[:3])] += 1
        # card/IMEI-like digit runs
        for m in re.finditer(r"(?<![\w.])(?:\d[ -]?){13,19}(?![\w])", text):
            digits = re.sub(r"\D", "", m.group())
            if 13 <= len(digits) <= 19 and set(digits) != {"0"} and luhn_ok(digits):
                if kind not in POSITIVE:
                    problems.append(f"{lineno}: negative contains Luhn-valid number {digits}")
        for m in re.finditer(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?)\b", text):
            cand = m.group(1)
            if cand[:2] in {"DE", "FR", "PL", "NL", "ES"} and not iban_ok(cand):
                problems.append(f"{lineno}: IBAN check digits wrong: {cand}")
        if kind not in POSITIVE:
            for pat in SECRET_PATTERNS:
                if re.search(pat, text):
                    problems.append(f"{lineno}: negative matches secret pattern {pat}")
    print("| category | " + " | ".join(KINDS) + " | total |")
    print("|---|" + "---|" * (len(KINDS) + 1))
    for cat in CATEGORIES:
        cells = [counts[(cat, k)] for k in KINDS]
        print(f"| {cat} | " + " | ".join(map(str, cells)) + f" | {sum(cells)} |")
    totals = [sum(counts[(c, k)] for c in CATEGORIES) for k in KINDS]
    print("| **total** | " + " | ".join(map(str, totals)) + f" | {sum(totals)} |")
    pos = sum(totals[:3])
    print(f"\nrows={sum(totals)} positive={pos} negative={sum(totals) - pos}")
    lengths.sort()
    print(f"words: min={lengths[0]} median={lengths[len(lengths)//2]} max={lengths[-1]} "
          f">70={sum(1 for n in lengths if n > 70)} <=2={sum(1 for n in lengths if n <= 2)}")
    print("language guess:", dict(langs))
    common = [(s, n) for s, n in starts.most_common(8) if n > 3]
    print("most repeated 3-word openings:", common)
    for p in problems:
        print("PROBLEM", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
