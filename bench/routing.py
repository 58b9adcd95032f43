"""Privacy detection: quality on labelled prompts and latency on long inputs.

Quality: precision, recall and false-positive rate of `hybridagent.routing.privacy.scan`
on ../shared/privacy-dev/prompts.jsonl and on tests/data/privacy_labelled.jsonl, beside
the naive keyword list `password,secret,token,key,credential` measured in the same run.

Latency: p50/p99 of one scan of inputs of about 1k, 8k and 32k tokens (4 characters a
token) of mixed prose and code with one secret near the end, on one core. Only the
detector is timed: the routing policy that will use it (issue 3) is not built yet.

Usage: python bench/routing.py [--runs 200]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

from hybridagent.routing.privacy import scan

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "shared privacy-dev": ROOT.parent / "shared/privacy-dev/prompts.jsonl",
    "tests/data labelled": ROOT / "tests/data/privacy_labelled.jsonl",
}
NAIVE = ("password", "secret", "token", "key", "credential")

FILLER = (
    "The service reads its configuration at start-up and retries failed requests with "
    "exponential backoff. def handler(event, context):\n    items = [x * 2 for x in "
    "event['values']]\n    return {'count': len(items), 'status': 'ok'}\n"
    "Customers asked why the dashboard shows stale numbers after a deploy; caching in the "
    "CDN layer explains most of it, 2026-03-14 release notes mention version 4.2.1. "
)
SECRET = ' api_key = "sk-proj-4fJq9XkPz2LmN8vR7tYb1WcDe5HgUi3OaSs6QwEr0TyUiOpAs" '


def quality(path: Path) -> tuple[dict[str, float], dict[str, float]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]

    def rates(predict: list[bool]) -> dict[str, float]:
        truth = [bool(r["sensitive"]) for r in rows]
        tp = sum(p and t for p, t in zip(predict, truth, strict=True))
        fp = sum(p and not t for p, t in zip(predict, truth, strict=True))
        fn = sum(t and not p for p, t in zip(predict, truth, strict=True))
        tn = sum(not p and not t for p, t in zip(predict, truth, strict=True))
        return {
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
            "fpr": fp / (fp + tn) if fp + tn else 0.0,
            "n": len(rows),
        }

    ours = [bool(scan(r["text"], r.get("terms", []))) for r in rows]
    naive = [any(word in r["text"].lower() for word in NAIVE) for r in rows]
    return rates(ours), rates(naive)


def latency(tokens: int, runs: int) -> tuple[float, float, bool]:
    size = tokens * 4
    text = (FILLER * (size // len(FILLER) + 1))[: size - len(SECRET) - 200] + SECRET + "end." * 50
    found = bool(scan(text))
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        scan(text)
        samples.append((time.perf_counter() - start) * 1000)
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[round(0.99 * (len(ordered) - 1))], found


def main(runs: int) -> None:
    print(f"# routing (privacy detector)  {platform.machine()}  Python {platform.python_version()}")
    print(f"{'set':22} {'detector':10} {'precision':>9} {'recall':>7} {'FP rate':>8} {'n':>5}")
    for name, path in SETS.items():
        if not path.exists():
            print(f"{name:22} (missing: {path})")
            continue
        ours, naive = quality(path)
        for label, rates in (("hybrid", ours), ("naive kw", naive)):
            print(
                f"{name:22} {label:10} {rates['precision']:9.3f} {rates['recall']:7.3f} "
                f"{rates['fpr']:8.3f} {int(rates['n']):5d}"
            )
    scan("warm up the regex and phonenumbers caches: +1 415 555 0100")
    print(f"{'input':>12} {'p50 ms':>8} {'p99 ms':>8}  secret found")
    for tokens in (1_000, 8_000, 32_000):
        p50, p99, found = latency(tokens, runs)
        print(f"{tokens:>6} tokens {p50:8.2f} {p99:8.2f}  {found}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    main(parser.parse_args().runs)
