#!/usr/bin/env python3
"""Validate short_e.jsonl (standard library only). Exit code 1 on any error."""
import json
import os
import re
import statistics
import sys
from collections import Counter, defaultdict

CATEGORIES = ["contact", "identification", "financial", "authentication", "health",
              "location_network", "account_profile", "device_incident",
              "media_content", "ancillary"]
POSITIVE_KINDS = ["direct", "typo", "contextual"]
NEGATIVE_KINDS = ["topic", "false_keyword", "typo_question"]
KINDS = POSITIVE_KINDS + NEGATIVE_KINDS
TARGET = {"direct": 26, "typo": 16, "contextual": 16, "topic": 10,
          "false_keyword": 8, "typo_question": 5}
KEYS = {"text", "sensitive", "category", "kind"}

# Secret-format strings that must never appear in a negative row.
SECRET_PATTERNS = [
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github_token", re.compile(r"\bgh[pousr]_(?!x{36}\b)[A-Za-z0-9]{36}\b")),
    ("stripe_key", re.compile(r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("openai_key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9]{20,}")),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20}\b")),
    ("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}")),
    ("private_key_body", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*\n[A-Za-z0-9+/=]{20,}")),
    ("us_ssn", re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")),
    ("url_with_password", re.compile(r"://[^\s:/@]+:[^\s@/$<{]+@")),
]
IBAN_RE = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})\b")
IBAN_LEN = {"DE": 22, "FR": 27, "ES": 24, "NL": 18, "IT": 27, "PL": 28, "GB": 22,
            "SE": 24, "PT": 25, "TR": 26, "BE": 16, "AT": 20, "CH": 21}
DIGIT_RUN_RE = re.compile(r"(?<![\dA-Za-z])\d(?:[ \-]?\d){12,18}(?![\dA-Za-z])")
CARD_WORDS = re.compile(r"card|visa|mastercard|amex|cc:|cc |kaart|karte|carte|tarjeta|imei|charge it", re.I)


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


def iban_ok(iban):
    iban = iban.replace(" ", "")
    r = iban[4:] + iban[:4]
    n = int("".join(str(int(c, 36)) for c in r))
    return n % 97 == 1


def norm(text):
    return re.sub(r"\s+", " ", text.lower()).strip()


def main(path):
    errors = []
    warnings = []
    rows = []
    with open(path, encoding="utf-8") as fh:
        for ln, line in enumerate(fh, 1):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append("line %d: bad JSON (%s)" % (ln, exc))
                continue
            rows.append((ln, obj))

    seen = {}
    counts = defaultdict(Counter)
    lengths = []
    for ln, obj in rows:
        if not isinstance(obj, dict) or set(obj) != KEYS:
            errors.append("line %d: keys %r" % (ln, sorted(obj) if isinstance(obj, dict) else obj))
            continue
        text, sens, cat, kind = obj["text"], obj["sensitive"], obj["category"], obj["kind"]
        if not isinstance(text, str) or not text.strip():
            errors.append("line %d: empty/non-str text" % ln)
            continue
        if not isinstance(sens, bool):
            errors.append("line %d: sensitive not bool" % ln)
        if cat not in CATEGORIES:
            errors.append("line %d: unknown category %r" % (ln, cat))
        if kind not in KINDS:
            errors.append("line %d: unknown kind %r" % (ln, kind))
        elif sens != (kind in POSITIVE_KINDS):
            errors.append("line %d: sensitive=%r does not match kind %r" % (ln, sens, kind))
        key = norm(text)
        if key in seen:
            errors.append("line %d: duplicate of line %d: %r" % (ln, seen[key], text[:60]))
        else:
            seen[key] = ln
        counts[cat][kind] += 1
        nwords = len(text.split())
        lengths.append(nwords)
        if nwords > 100:
            errors.append("line %d: %d words (>100)" % (ln, nwords))

        # IBANs: every IBAN-shaped string with a known country must pass mod-97
        for m in IBAN_RE.finditer(text):
            cand = m.group(1).replace(" ", "")
            cc = cand[:2]
            if cc in IBAN_LEN:
                if len(cand) != IBAN_LEN[cc]:
                    # allow trailing text to have been swallowed; trim to length
                    cand = cand[:IBAN_LEN[cc]]
                if not iban_ok(cand):
                    if sens:
                        errors.append("line %d: IBAN %s fails mod-97" % (ln, cand))
                    else:
                        errors.append("line %d: negative has IBAN-shaped %s" % (ln, cand))
                elif not sens:
                    errors.append("line %d: negative contains valid IBAN %s" % (ln, cand))

        runs = [re.sub(r"\D", "", m.group(0)) for m in DIGIT_RUN_RE.finditer(text)]
        if not sens:
            for r in runs:
                if 13 <= len(r) <= 19 and luhn_ok(r):
                    errors.append("line %d: negative has Luhn-valid run %s" % (ln, r))
            for name, pat in SECRET_PATTERNS:
                if pat.search(text):
                    errors.append("line %d: negative has secret-format %s: %r" % (ln, name, text[:70]))
        else:
            # card/IMEI-looking positives (direct kind, card words) must pass Luhn
            if kind == "direct" and CARD_WORDS.search(text):
                for r in runs:
                    if len(r) in (15, 16) and r[0] in "3456" or (len(r) == 15 and "imei" in text.lower()):
                        if not luhn_ok(r):
                            errors.append("line %d: card/IMEI-like run %s fails Luhn" % (ln, r))

    # counts table
    total = Counter()
    header = "%-18s" % "category" + "".join("%15s" % k for k in KINDS) + "%8s%6s%6s" % ("total", "pos", "neg")
    print(header)
    print("-" * len(header))
    for cat in CATEGORIES:
        c = counts[cat]
        pos = sum(c[k] for k in POSITIVE_KINDS)
        neg = sum(c[k] for k in NEGATIVE_KINDS)
        print("%-18s" % cat + "".join("%15d" % c[k] for k in KINDS) + "%8d%6d%6d" % (pos + neg, pos, neg))
        total.update(c)
        for k in KINDS:
            if abs(c[k] - TARGET[k]) > max(2, TARGET[k] // 4):
                warnings.append("%s/%s has %d (target ~%d)" % (cat, k, c[k], TARGET[k]))
    pos = sum(total[k] for k in POSITIVE_KINDS)
    neg = sum(total[k] for k in NEGATIVE_KINDS)
    print("-" * len(header))
    print("%-18s" % "TOTAL" + "".join("%15d" % total[k] for k in KINDS) + "%8d%6d%6d" % (pos + neg, pos, neg))
    if lengths:
        print("\nrows: %d  words: min %d, median %.1f, mean %.1f, max %d" % (
            len(lengths), min(lengths), statistics.median(lengths),
            statistics.mean(lengths), max(lengths)))
    if len(rows) < 800:
        errors.append("only %d rows (< 800)" % len(rows))
    for w in warnings:
        print("WARNING:", w)
    for e in errors:
        print("ERROR:", e)
    print("\n%s: %d errors, %d warnings" % ("FAIL" if errors else "OK", len(errors), len(warnings)))
    return 1 if errors else 0


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "short_e.jsonl")))
