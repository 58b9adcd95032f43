"""`hybridagent privacy eval FILE.jsonl`: the router's detector scored on a labelled set.

Rows: {"text", "sensitive", "category", "kind"} (optional "terms", "role"). Prints
recall and false-positive rate per kind and per category, the confusion table, and the
slowest inputs; `--json` writes the same figures as one JSON object.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridagent.routing.categories import category_of
from hybridagent.runners.privacy_scan import ROLES, Detector


class EvalFileError(ValueError):
    """A row of the evaluation file that cannot be scored (one sentence)."""


@dataclass(frozen=True)
class Row:
    text: str
    sensitive: bool
    category: str
    kind: str
    terms: list[str] = field(default_factory=list)
    role: str = "user"


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, truth: bool, flagged: bool) -> None:
        if truth:
            self.tp, self.fn = self.tp + flagged, self.fn + (not flagged)
        else:
            self.fp, self.tn = self.fp + flagged, self.tn + (not flagged)

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def fpr(self) -> float | None:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "positives": self.tp + self.fn,
            "negatives": self.fp + self.tn,
            "recall": self.recall,
            "fpr": self.fpr,
            **{"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn},
        }


def read_rows(path: Path) -> list[Row]:
    rows: list[Row] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            raise EvalFileError(f"{path}, line {number}: not valid JSON.") from None
        if not isinstance(data, dict):
            raise EvalFileError(f"{path}, line {number}: not a JSON object.")
        if not isinstance(data.get("text"), str) or not isinstance(data.get("sensitive"), bool):
            raise EvalFileError(
                f'{path}, line {number}: needs a "text" string and a "sensitive" boolean.'
            )
        role = data.get("role", "user")
        if role not in ROLES:
            raise EvalFileError(f'{path}, line {number}: "role" must be one of {", ".join(ROLES)}.')
        rows.append(
            Row(
                text=data["text"],
                sensitive=data["sensitive"],
                category=str(data.get("category", "none")),
                kind=str(data.get("kind", "positive" if data["sensitive"] else "negative")),
                terms=[str(t) for t in data.get("terms", [])],
                role=role,
            )
        )
    if not rows:
        raise EvalFileError(f"{path} holds no rows.")
    return rows


@dataclass
class Report:
    overall: Tally = field(default_factory=Tally)
    by_kind: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_category: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    # Which category the detector named for each true category (positives it caught).
    named: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    timings: list[tuple[float, int, str]] = field(default_factory=list)  # ms, row, kind

    def as_dict(self, slowest: int) -> dict[str, Any]:
        ms = sorted(t for t, _, _ in self.timings)
        return {
            "overall": self.overall.as_dict(),
            "by_kind": {k: t.as_dict() for k, t in sorted(self.by_kind.items())},
            "by_category": {k: t.as_dict() for k, t in sorted(self.by_category.items())},
            "named_categories": {k: dict(sorted(v.items())) for k, v in sorted(self.named.items())},
            "latency_ms": {
                "p50": ms[len(ms) // 2],
                "p99": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
                "max": ms[-1],
            },
            "slowest": [
                {"row": row, "kind": kind, "ms": round(t, 2)}
                for t, row, kind in sorted(self.timings, reverse=True)[:slowest]
            ],
        }


def evaluate(detector: Detector, rows: Iterable[Row]) -> Report:
    report = Report()
    for number, row in enumerate(rows, start=1):
        started = time.perf_counter()
        findings = detector.findings(row.text, row.terms, row.role)
        report.timings.append(((time.perf_counter() - started) * 1000, number, row.kind))
        flagged = bool(findings)
        report.overall.add(row.sensitive, flagged)
        report.by_kind[row.kind].add(row.sensitive, flagged)
        report.by_category[row.category].add(row.sensitive, flagged)
        if row.sensitive and flagged:
            named = report.named[row.category]
            for category in sorted({category_of(f.type) for f in findings}):
                named[category] = named.get(category, 0) + 1
    return report


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def render(report: Report, slowest: int) -> str:
    """The report as plain-text tables."""
    lines: list[str] = []
    total = report.overall
    lines.append(
        f"rows {total.tp + total.fp + total.fn + total.tn}: recall {_rate(total.recall)}, "
        f"false-positive rate {_rate(total.fpr)}"
    )
    lines.append(f"confusion: TP {total.tp}  FN {total.fn}  FP {total.fp}  TN {total.tn}")
    for title, table in (("kind", report.by_kind), ("category", report.by_category)):
        lines.append("")
        lines.append(f"{'by ' + title:22} {'pos':>5} {'recall':>7} {'neg':>5} {'FPR':>7}")
        for name, tally in sorted(table.items()):
            lines.append(
                f"{name:22} {tally.tp + tally.fn:5} {_rate(tally.recall):>7} "
                f"{tally.fp + tally.tn:5} {_rate(tally.fpr):>7}"
            )
    if report.named:
        named = sorted({c for counts in report.named.values() for c in counts})
        lines.append("")
        lines.append("categories named for caught positives (rows: true category)")
        lines.append(f"{'':18}" + "".join(f"{c[:8]:>9}" for c in named))
        for truth, counts in sorted(report.named.items()):
            lines.append(f"{truth:18}" + "".join(f"{counts.get(c, 0):9}" for c in named))
    figures = report.as_dict(slowest)
    latency = figures["latency_ms"]
    lines.append("")
    lines.append(
        f"latency per input: p50 {latency['p50']:.2f} ms, p99 {latency['p99']:.2f} ms, "
        f"max {latency['max']:.2f} ms"
    )
    lines.append("slowest inputs: " + ", ".join(
        f"row {s['row']} ({s['kind']}) {s['ms']:.1f} ms" for s in figures["slowest"]
    ))  # fmt: skip
    return "\n".join(lines)
