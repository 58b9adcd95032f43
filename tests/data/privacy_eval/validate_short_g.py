#!/usr/bin/env python3
"""Validate short_g.jsonl (standard library only). Exits non-zero on any error."""
import json
import os
import re
import statistics
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "short_g.jsonl")

CATEGORIES = ["contact", "identification", "financial", "authentication", "health",
              "location_network", "account_profile", "device_incident", "media_content",
              "ancillary"]
POS = ["direct", "typo", "contextual"]
NEG = ["topic", "false_keyword", "typo_question"]
KINDS = POS + NEG
TARGET = {"direct": 26, "typo": 16, "contextual": 16, "topic": 10,
          "false_keyword": 8, "typo_question": 5}

IBAN_LEN = {"DE": 22, "FR": 27, "ES": 24, "IT": 27, "NL": 18, "PL": 28, "SE": 24,
            "TR": 26, "PT": 25, "GB": 22, "BE": 16, "AT": 20, "CH": 21, "IE": 22,
            "DK": 18, "FI": 18, "NO": 15, "LU": 20}

SECRET_PATTERNS = {
    "aws_access_key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "github_token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    "gitlab_pat": re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"),
    "slack_token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "stripe_key": re.compile(r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    "openai_key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}"),
    "google_api_key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
    "npm_token": re.compile(r"\bnpm_[A-Za-z0-9]{30,}"),
    "jwt": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "pem_private_key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=]{20,}"),
    "twilio_sid": re.compile(r"\bAC[0-9a-f]{32}\b"),
    "sendgrid_key": re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"),
}


def luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def digit_runs(text):
    """Maximal digit runs allowing single space/dash/dot separators."""
    for m in re.finditer(r"\d(?:[ \-.]?\d)*", text):
        yield re.sub(r"\D", "", m.group(0))


def luhn_hits(text):
    hits = []
    for run in digit_runs(text):
        n = len(run)
        if n < 13:
            continue
        for size in range(13, min(19, n) + 1):
            for start in range(0, n - size + 1):
                window = run[start:start + size]
                if luhn_ok(window):
                    hits.append(window)
    return hits


def iban_candidates(text):
    for m in re.finditer(r"\b([A-Z]{2})(\d{2})((?: ?[A-Z0-9]){8,34})", text):
        cc = m.group(1)
        if cc not in IBAN_LEN:
            continue
        compact = re.sub(r" ", "", m.group(0))
        need = IBAN_LEN[cc]
        if len(compact) < need:
            continue
        yield compact[:need]


def iban_ok(iban):
    rearranged = iban[4:] + iban[:4]
    num = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(num) % 97 == 1


def norm(text):
    return re.sub(r"\s+", " ", text.lower()).strip()


def main():
    errors = []
    warnings = []
    rows = []
    with open(PATH, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"line {lineno}: bad JSON ({exc})")
                continue
            if set(row) != {"text", "sensitive", "category", "kind"}:
                errors.append(f"line {lineno}: keys {sorted(row)}")
                continue
            if not isinstance(row["text"], str) or not row["text"].strip():
                errors.append(f"line {lineno}: empty or non-string text")
            if not isinstance(row["sensitive"], bool):
                errors.append(f"line {lineno}: sensitive is not bool")
            if row["category"] not in CATEGORIES:
                errors.append(f"line {lineno}: unknown category {row['category']!r}")
            if row["kind"] not in KINDS:
                errors.append(f"line {lineno}: unknown kind {row['kind']!r}")
            elif row["sensitive"] != (row["kind"] in POS):
                errors.append(f"line {lineno}: sensitive={row['sensitive']} but kind={row['kind']}")
            rows.append((lineno, row))

    seen = {}
    for lineno, row in rows:
        key = norm(row["text"])
        if key in seen:
            errors.append(f"line {lineno}: duplicate of line {seen[key]}")
        else:
            seen[key] = lineno

    for lineno, row in rows:
        text = row["text"]
        for iban in iban_candidates(text):
            if not iban_ok(iban):
                errors.append(f"line {lineno}: IBAN with bad check digits {iban}")
            elif not row["sensitive"]:
                errors.append(f"line {lineno}: negative contains a valid IBAN {iban}")
        if not row["sensitive"]:
            hits = luhn_hits(text)
            if hits:
                errors.append(f"line {lineno}: negative has Luhn-valid run(s) {hits}")
            for name, pat in SECRET_PATTERNS.items():
                if pat.search(text):
                    errors.append(f"line {lineno}: negative matches secret format {name}")
        else:
            # positives: card-looking 15/16-digit runs and IMEIs should pass Luhn
            for run in digit_runs(text):
                if len(run) in (15, 16) and run[0] in "3456" and not luhn_ok(run):
                    low = text.lower()
                    if "imei" in low or "card" in low or "visa" in low or "amex" in low or "karte" in low or "carta" in low or "tarjeta" in low:
                        errors.append(f"line {lineno}: card/IMEI-looking run fails Luhn {run}")
            if "imei" in text.lower():
                for run in digit_runs(text):
                    if len(run) == 15 and not luhn_ok(run):
                        errors.append(f"line {lineno}: IMEI fails Luhn {run}")

    counts = Counter((row["category"], row["kind"]) for _, row in rows)
    for cat in CATEGORIES:
        for kind in KINDS:
            if abs(counts[(cat, kind)] - TARGET[kind]) > 2:
                warnings.append(f"{cat}/{kind}: {counts[(cat, kind)]} (target ~{TARGET[kind]})")

    # counts table
    width = max(len(c) for c in CATEGORIES) + 2
    header = "category".ljust(width) + "".join(k[:13].rjust(14) for k in KINDS) + "total".rjust(8)
    print(header)
    print("-" * len(header))
    col_tot = Counter()
    for cat in CATEGORIES:
        line = cat.ljust(width)
        tot = 0
        for kind in KINDS:
            n = counts[(cat, kind)]
            col_tot[kind] += n
            tot += n
            line += str(n).rjust(14)
        print(line + str(tot).rjust(8))
    print("-" * len(header))
    print("total".ljust(width) + "".join(str(col_tot[k]).rjust(14) for k in KINDS)
          + str(sum(col_tot.values())).rjust(8))
    pos = sum(1 for _, r in rows if r["sensitive"])
    print(f"\nrows: {len(rows)}  positive: {pos}  negative: {len(rows) - pos}")
    words = [len(r["text"].split()) for _, r in rows]
    print(f"words per row: min {min(words)}  median {statistics.median(words)}  max {max(words)}")
    if len(rows) < 800:
        errors.append(f"only {len(rows)} rows (need >= 800)")
    if max(words) > 100:
        warnings.append(f"longest row has {max(words)} words (> 100)")

    for w in warnings:
        print("WARNING:", w)
    for e in errors:
        print("ERROR:", e)
    print("\nOK" if not errors else f"\n{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
