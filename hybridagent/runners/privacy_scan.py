"""`hybridagent privacy scan`: the router's whole detector over JSON Lines or one text,
for anyone to audit what would stay local and why."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from hybridagent.config import ConfigError
from hybridagent.routing.categories import category_of
from hybridagent.routing.findings import Finding
from hybridagent.routing.learned import LearnedModel, load_model, prose_windows
from hybridagent.routing.privacy import DetectorConfig, scan

# Roles whose text a person wrote: the learned stage reads them (workflows/call_router.py).
PROSE_ROLES = ("user",)
ROLES = ("user", "assistant", "tool", "system")


@dataclass(frozen=True)
class Detector:
    """The router's detector as the worker's configuration sets it up."""

    config: DetectorConfig
    model: LearnedModel | None

    @classmethod
    def configured(cls, config: DetectorConfig, model_file: Path | None = None) -> Detector:
        """`model_file`: HYBRIDAGENT_PRIVACY_MODEL, or None for the packaged model."""
        if not config.learned:
            return cls(config, None)
        try:
            return cls(config, load_model(model_file))
        except (OSError, ValueError, KeyError) as err:
            raise ConfigError(f"The privacy model {model_file} cannot be read: {err}.") from None

    def findings(self, text: str, terms: list[str], role: str = "user") -> list[Finding]:
        return scan(
            text,
            terms,
            config=self.config,
            learned=self.model,
            prose=role in PROSE_ROLES,
            explain=True,
        )

    def learned_view(self, text: str, role: str) -> tuple[float, float] | None:
        """(highest window score, the score a window of this text needs), or None when
        the learned stage does not read `text` (off, or not a person's words)."""
        if self.model is None or role not in PROSE_ROLES:
            return None
        scores = [p for _, _, p in self.model.scored_windows(text)]
        limit = self.model.limit(len(prose_windows(text)), self.config.threshold)
        return round(max(scores, default=0.0), 4), limit


def verdict(detector: Detector, line: str, number: int) -> tuple[dict[str, Any], bool]:
    """The output object for one input line, and whether the line was well-formed."""
    try:
        request = json.loads(line)
    except json.JSONDecodeError:
        return {"error": f"line {number} is not valid JSON."}, False
    if not isinstance(request, dict) or not isinstance(request.get("text"), str):
        return {"error": f'line {number} needs a "text" string.'}, False
    terms = request.get("terms", [])
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        return {"error": f'line {number}: "terms" must be a list of strings.'}, False
    role = request.get("role", "user")
    if role not in ROLES:
        return {"error": f'line {number}: "role" must be one of {", ".join(ROLES)}.'}, False
    findings = detector.findings(request["text"], terms, role)
    view = detector.learned_view(request["text"], role)
    return {
        "sensitive": bool(findings),
        "categories": sorted({category_of(f.type) for f in findings}),
        "findings": [f.as_dict() for f in findings],
        "learned_score": view[0] if view else None,
        "learned_model": detector.model.version if detector.model else None,
    }, True


def scan_lines(detector: Detector, lines: Iterable[str], out: TextIO) -> bool:
    """Write one JSON line per non-empty input line; return False if any was malformed."""
    ok = True
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        result, well_formed = verdict(detector, line, number)
        ok = ok and well_formed
        out.write(json.dumps(result) + "\n")
        out.flush()
    return ok


def _masked(value: str) -> str:
    """Enough of a found value to recognise it, not enough to use it."""
    value = " ".join(value.split())
    if len(value) <= 4:
        return "*" * len(value)
    if len(value) > 24:
        return f"{value[:2]}…{value[-2:]} ({len(value)} characters)"
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def explain(detector: Detector, text: str, role: str = "user") -> str:
    """A verdict in words: what was found, by which stage, and what the router does."""
    findings = detector.findings(text, [], role)
    view = detector.learned_view(text, role)
    lines = [
        "sensitive: the router keeps this on local models"
        if findings
        else "not sensitive: the router may send this to a cloud model"
    ]
    for f in findings:
        where = f"chars {f.start}-{f.end}"
        if f.score is None:
            shown = _masked(text[f.start : f.end])
            lines.append(f"  rules    {f.type} ({category_of(f.type)}), {where}: {shown}")
        else:
            limit = view[1] if view else 0.0
            lines.append(
                f"  learned  {category_of(f.type)}, score {f.score:.2f} "
                f"(threshold {limit:.2f}), {where}"
            )
    if detector.model is None:
        lines.append("  learned stage: off ([routing.privacy] learned = false)")
    elif view is None:
        lines.append(f"  learned stage: does not read {role} text (rules only)")
    elif not detector.model.scored_windows(text):
        lines.append("  learned stage: no sentence of six different words to read (rules only)")
    elif not any(f.score is not None for f in findings):
        lines.append(
            f"  learned stage: highest score {view[0]:.2f} (threshold {view[1]:.2f}), "
            f"model {detector.model.version}"
        )
    return "\n".join(lines)
