"""A long-content development set, for working on the detector without looking at the
evaluation sets: ~1,500-character chunks of the Python standard library's code and of
its pydoc topics (reST docs), clean or with one line of a synthetic positive inserted.

    .venv/bin/python -m training.privacy.long_dev > /tmp/long_dev.jsonl
"""

from __future__ import annotations

import json
import random
import sysconfig
from pathlib import Path

from training.privacy.corpus import generate

SEED = 5
CHUNKS = 300


def chunks(rng: random.Random) -> list[str]:
    lib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in lib.rglob("*.py") if "test" not in p.parts)
    files += [lib / "pydoc_data" / "topics.py"] * 40
    out: list[str] = []
    while len(out) < CHUNKS * 2:
        lines = rng.choice(files).read_text(encoding="utf-8", errors="replace").splitlines(True)
        if len(lines) < 60:
            continue
        start = rng.randrange(0, len(lines) - 50)
        chunk = ""
        for line in lines[start:]:
            if len(chunk) + len(line) > 1600:
                break
            chunk += line
        if len(chunk) >= 1300:
            out.append(chunk)
    return out


def main() -> None:
    rng = random.Random(SEED)
    positives = [r for r in generate() if r.sensitive and r.kind == "direct" and "\n" not in r.text]
    for index, chunk in enumerate(chunks(rng)):
        if index % 2 == 0:
            print(
                json.dumps(
                    {"text": chunk, "sensitive": False, "category": "none", "kind": "long_clean"}
                )
            )
            continue
        row = rng.choice(positives)
        lines = chunk.splitlines(True)
        at = rng.randrange(1, len(lines))
        line = rng.choice(["", "# ", "    "]) + row.text + "\n"
        text = "".join([*lines[:at], line, *lines[at:]])
        print(
            json.dumps(
                {
                    "text": text,
                    "sensitive": True,
                    "category": row.category,
                    "kind": "long_inserted",
                    "inserted": row.text,
                }
            )
        )


if __name__ == "__main__":
    main()
