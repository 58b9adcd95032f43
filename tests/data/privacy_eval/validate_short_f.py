#!/usr/bin/env python3
"""Validate short_f.jsonl (standard library only). Exit code 1 on any error."""
import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "short_f.jsonl")

CATEGORIES = ["contact", "identification", "financial", "authentication", "health",
              "location_network", "account_profile", "device_incident", "media_content",
              "ancillary"]
POSITIVE = ["direct", "typo", "contextual"]
NEGATIVE = ["topic", "false_keyword", "typo_question"]
KINDS = POSITIVE + NEGATIVE
KEYS = {"text", "sensitive", "category", "kind"}

IBAN_LEN = {"AT": 20, "BE": 16, "CH": 21, "DE": 22, "DK": 18, "ES": 24, "FI": 18,
            "FR": 27, "GB": 22, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15,
            "PL": 28, "PT": 25, "SE": 24, "TR": 26}

SECRET_PATTERNS = [
    ("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
    ("gitlab_token", r"\bglpat-[A-Za-z0-9_\-]{16,}"),
    ("slack_token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("stripe_key", r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"),
    ("openai_key", r"\bsk-(?:proj-)?[A-Za-z0-9]{20,}"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_\-]{30,}"),
    ("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}"),
    ("private_key_block", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    ("url_credentials", r"://[^/\s:@]+:[^/\s@]{4,}@"),
    ("stripe_customer", r"\bcus_[A-Za-z0-9]{10,}"),
    ("btc_bech32", r"\bbc1[a-z0-9]{25,}"),
]


def luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def digit_runs(text):
    """Digit runs allowing single space, dash or dot separators between digits."""
    for m in re.finditer(r"\d(?:[ \-.]?\d)*", text):
        yield re.sub(r"\D", "", m.group(0))


def luhn_windows(text):
    hits = []
    for run in digit_runs(text):
        for n in range(13, 20):
            for i in range(0, len(run) - n + 1):
                w = run[i:i + n]
                if luhn_ok(w):
                    hits.append(w)
    return hits


def iban_mod97_ok(iban):
    s = iban[4:] + iban[:4]
    num = "".join(str(int(c, 36)) for c in s)
    return int(num) % 97 == 1


def iban_candidates(text):
    """Yield (candidate, complete) for IBAN-looking strings; separators stripped."""
    for m in re.finditer(r"\b([A-Z]{2})(\d{2})((?:[ .·\n]?[A-Z0-9А-я]){8,34})", text):
        cc = m.group(1)
        if cc not in IBAN_LEN:
            continue
        raw = m.group(0)
        compact = re.sub(r"[ .·\n]", "", raw)
        length = IBAN_LEN[cc]
        if len(compact) < length:
            continue
        cand = compact[:length]
        if not re.fullmatch(r"[A-Z0-9]+", cand):
            yield cand, False
            continue
        yield cand, True


def norm(text):
    return re.sub(r"\s+", " ", text.strip().lower())


def main():
    errors, warnings = [], []
    rows = []
    with open(PATH, encoding="utf-8") as fh:
        for ln, line in enumerate(fh, 1):
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {ln}: bad JSON: {e}")
                continue
            if not isinstance(r, dict) or set(r) != KEYS:
                errors.append(f"line {ln}: keys {sorted(r) if isinstance(r, dict) else type(r)}")
                continue
            if not isinstance(r["text"], str) or not r["text"].strip():
                errors.append(f"line {ln}: empty/non-string text")
            if not isinstance(r["sensitive"], bool):
                errors.append(f"line {ln}: sensitive not bool")
            if r["category"] not in CATEGORIES:
                errors.append(f"line {ln}: unknown category {r['category']!r}")
            if r["kind"] not in KINDS:
                errors.append(f"line {ln}: unknown kind {r['kind']!r}")
            elif r["sensitive"] != (r["kind"] in POSITIVE):
                errors.append(f"line {ln}: sensitive={r['sensitive']} but kind={r['kind']}")
            rows.append((ln, r))

    # duplicates
    seen = {}
    for ln, r in rows:
        k = norm(r["text"])
        if k in seen:
            errors.append(f"line {ln}: duplicate of line {seen[k]}: {r['text'][:60]!r}")
        else:
            seen[k] = ln

    for ln, r in rows:
        t = r["text"]
        if r["sensitive"]:
            for cand, complete in iban_candidates(t):
                if complete and not iban_mod97_ok(cand):
                    errors.append(f"line {ln}: IBAN {cand} fails mod-97")
            # card / IMEI sanity on plain (non-obfuscated) runs
            for run in digit_runs(t):
                if r["category"] == "financial" and len(run) in (13, 15, 16, 19) \
                        and run[0] in "3456" and not luhn_ok(run):
                    warnings.append(f"line {ln}: card-like run {run} not Luhn-valid")
                if r["category"] == "device_incident" and len(run) == 15 \
                        and run.startswith("35") and not luhn_ok(run):
                    errors.append(f"line {ln}: IMEI {run} not Luhn-valid")
        else:
            for w in luhn_windows(t):
                errors.append(f"line {ln}: negative has Luhn-valid digit run {w}")
            for cand, complete in iban_candidates(t):
                if complete and iban_mod97_ok(cand):
                    errors.append(f"line {ln}: negative has valid IBAN {cand}")
            for name, pat in SECRET_PATTERNS:
                if re.search(pat, t):
                    errors.append(f"line {ln}: negative matches secret format {name}")

    # counts table
    counts = collections.Counter((r["category"], r["kind"]) for _, r in rows)
    w = max(len(c) for c in CATEGORIES)
    header = f"{'category':<{w}} " + " ".join(f"{k:>13}" for k in KINDS) + f" {'total':>6}"
    print(header)
    print("-" * len(header))
    for c in CATEGORIES:
        vals = [counts[(c, k)] for k in KINDS]
        print(f"{c:<{w}} " + " ".join(f"{v:>13}" for v in vals) + f" {sum(vals):>6}")
    tot = [sum(counts[(c, k)] for c in CATEGORIES) for k in KINDS]
    print("-" * len(header))
    print(f"{'total':<{w}} " + " ".join(f"{v:>13}" for v in tot) + f" {sum(tot):>6}")
    npos = sum(1 for _, r in rows if r["sensitive"])
    print(f"\nrows={len(rows)} positive={npos} negative={len(rows) - npos}")
    lens = sorted(len(r["text"].split()) for _, r in rows)
    if lens:
        print(f"words: min={lens[0]} median={lens[len(lens) // 2]} max={lens[-1]}")
        over = [ln for ln, r in rows if len(r["text"].split()) > 100]
        if over:
            errors.append(f"rows over 100 words: {over}")
    if len(rows) < 800:
        errors.append(f"only {len(rows)} rows (<800)")

    for wmsg in warnings:
        print("WARN", wmsg)
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
