"""Privacy detection: quality on labelled prompts and latency on long inputs.

Quality: precision, recall and false-positive rate of the router's whole detector (rules
and the learned stage) on ../shared/privacy-dev/prompts.jsonl, tests/data/
privacy_labelled.jsonl and the evaluation sets in tests/data/privacy_eval/, beside the
naive keyword list `password,secret,token,key,credential` measured in the same run
(`hybridagent privacy eval FILE` gives the per-category and per-kind figures).

Learned stage: p50/p99 of the learned stage alone on a 500-token user message and on 8k
tokens of new text (prose and code), on one core.

Latency: p50/p99 of whole routing decisions (CallRouter.route, as workflows run it) on
conversations of about 1k, 8k and 32k tokens (4 characters a token) of mixed prose and
code with one secret near the end, on one core: the first call of a run (cold), a later
call (the conversation plus one new message), and the bare detector on the joined text.

Usage: python bench/routing.py [--runs 200 | --quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path

from hybridagent.activities.privacy import PrivacyActivities
from hybridagent.activity_io import RoutingSetup
from hybridagent.routing.learned import packaged_model
from hybridagent.routing.policy import Candidate
from hybridagent.routing.preferences import RoutingPreferences
from hybridagent.routing.privacy import scan
from hybridagent.workflows.call_router import CallRouter, RoutedCall

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "shared privacy-dev": ROOT.parent / "shared/privacy-dev/prompts.jsonl",
    "tests/data labelled": ROOT / "tests/data/privacy_labelled.jsonl",
    **{
        f"eval {name}": ROOT / f"tests/data/privacy_eval/{name}.jsonl"
        for name in (
            "short",
            "short_b",
            "short_c",
            "short_d",
            "short_e",
            "short_f",
            "short_g",
            "long",
            "long_b",
            "long_c",
            "long_d",
            "long_e",
            "long_f",
            "long_g",
            "long_h",
        )
    },
}
MODEL = packaged_model()
QUICK_RUNS = 5
QUICK_HELP = "a few iterations, under a minute: checks the bench still runs (make bench-quick)"
PROSE = (
    "Hi, I need help writing a message to my landlord about the heating, which has been "
    "broken since last Tuesday. The flat gets very cold at night and the kids are sleeping "
    "in their coats. I already called twice and nobody came. Can you make it firm but "
    "polite, and mention that I will withhold part of the rent if it is not fixed soon? "
)
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

    ours = [bool(scan(r["text"], r.get("terms", []), learned=MODEL)) for r in rows]
    naive = [any(word in r["text"].lower() for word in NAIVE) for r in rows]
    return rates(ours), rates(naive)


SETUP = RoutingSetup(
    candidates=[
        Candidate("local/smollm2", local=True, context_window=200_000),
        Candidate("openai/gpt-4o-mini", local=False, context_window=200_000),
    ]
)


def conversation(tokens: int) -> list[dict[str, str]]:
    """Messages of ~500 tokens, alternating user and assistant, with a secret near the
    end: about `tokens` tokens (4 characters a token) in all."""
    size = tokens * 4
    text = (FILLER * (size // len(FILLER) + 1))[: size - len(SECRET) - 200] + SECRET + "end." * 50
    chunk = 2_000
    return [
        {"role": ("user", "assistant")[i % 2], "content": text[start : start + chunk]}
        for i, start in enumerate(range(0, len(text), chunk))
    ]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[round(0.99 * (len(ordered) - 1))]


async def decision_latency(tokens: int, runs: int) -> dict[str, tuple[float, float]]:
    """Whole per-call decisions as the workflow makes them (CallRouter.route: input to
    text, privacy scan, complexity, policy, record): `cold` sees the whole input for the
    first time; `next call` has routed the conversation before and gets one new message,
    as every later call of a run does."""
    items = conversation(tokens)
    question = {"role": "user", "content": "And what should we change first, and why?"}
    cold, warm, detector = [], [], []
    text = "\n".join(json.dumps(item) for item in items)
    for _ in range(runs):
        router = CallRouter(RoutingPreferences(), SETUP, SCANNER.scan_privacy)
        start = time.perf_counter()
        decision = await router.route(RoutedCall("general", "You are helpful.", items))
        cold.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        await router.route(RoutedCall("general", "You are helpful.", [*items, question]))
        warm.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        scan(text)
        detector.append((time.perf_counter() - start) * 1000)
    assert decision.decision.local_only, "the secret near the end must be found"
    return {
        "cold": percentiles(cold),
        "next call": percentiles(warm),
        "scan only": percentiles(detector),
    }


SCANNER = PrivacyActivities(MODEL)


def learned_latency(runs: int) -> dict[str, tuple[float, float]]:
    """The learned stage alone (its windows, n-grams and scores) on new text."""
    message = (PROSE * 6)[: 500 * 4]
    new_text = (PROSE + FILLER) * (8_000 * 4 // len(PROSE + FILLER))
    figures = {}
    for label, text in (("500-token message", message), ("8k tokens new", new_text)):
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            MODEL.findings(text)
            samples.append((time.perf_counter() - start) * 1000)
        figures[label] = percentiles(samples)
    return figures


def main(runs: int) -> None:
    machine = f"{platform.machine()}  Python {platform.python_version()}"
    print(f"# routing (privacy detector and decisions)  {machine}")
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
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    print(f"{'learned stage':>22} {'p50 ms':>8} {'p99 ms':>8}   model {MODEL.version}")
    for label, (p50, p99) in learned_latency(runs).items():
        print(f"{label:>22} {p50:8.2f} {p99:8.2f}")
    print(f"{'input':>12} {'decision':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for tokens in (1_000, 8_000, 32_000):
        figures = asyncio.run(decision_latency(tokens, runs))
        for label, (p50, p99) in figures.items():
            print(f"{tokens:>6} tokens {label:>10} {p50:8.2f} {p99:8.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = parser.parse_args()
    main(QUICK_RUNS if args.quick else args.runs)
