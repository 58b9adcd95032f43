"""`hybridagent privacy scan`: the router's detector over JSON Lines, for anyone to audit."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from hybridagent.routing.privacy import scan


def verdict(line: str, number: int) -> tuple[dict[str, Any], bool]:
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
    findings = scan(request["text"], terms)
    return {"sensitive": bool(findings), "findings": [f.as_dict() for f in findings]}, True


def scan_lines(lines: Iterable[str], out: TextIO) -> bool:
    """Write one JSON line per non-empty input line; return False if any was malformed."""
    ok = True
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        result, well_formed = verdict(line, number)
        ok = ok and well_formed
        out.write(json.dumps(result) + "\n")
        out.flush()
    return ok
