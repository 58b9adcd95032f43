"""Measures the removed privacy "second stage": the bundled SmolLM2-135M asked, yes or
no, whether a text is private (the prompt it used, with the same JSON-constrained
answer). Kept to reproduce the figure that justified removing it (docs/benchmarks.md).

    .venv/bin/python -m training.privacy.llm_judge_baseline tests/data/privacy_eval/short.jsonl
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import httpx
from sklearn.metrics import roc_auc_score

from hybridagent.providers.embedded import EmbeddedModelServer

INSTRUCTIONS = (
    "You check text for private data before it is sent to an outside service. Private data "
    "is: passwords, keys or tokens; a real person's contact details, identity numbers, "
    "health, money or home address; anything marked confidential. Talk about such things "
    'in general is not private. Answer with JSON: {"sensitive": true} or {"sensitive": false}.'
)
SCHEMA = {
    "type": "object",
    "properties": {"sensitive": {"type": "boolean"}},
    "required": ["sensitive"],
}
SAMPLE = 200


def main(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = random.Random(11).sample(rows, min(SAMPLE, len(rows)))
    truth: list[int] = []
    said: list[int] = []
    with EmbeddedModelServer() as server, httpx.Client(timeout=60) as client:
        for row in rows:
            reply = client.post(
                f"{server.base_url}/chat/completions",
                json={
                    "messages": [
                        {"role": "system", "content": INSTRUCTIONS},
                        {"role": "user", "content": row["text"]},
                    ],
                    "temperature": 0.0,
                    "max_tokens": 20,
                    "response_format": {"type": "json_object", "schema": SCHEMA},
                },
            ).json()
            text = reply["choices"][0]["message"]["content"]
            try:
                verdict = bool(json.loads(text)["sensitive"])
            except (ValueError, KeyError, TypeError):
                verdict = True  # what the second stage did with an unreadable verdict
            truth.append(int(row["sensitive"]))
            said.append(int(verdict))
    positives = [s for s, t in zip(said, truth, strict=True) if t]
    negatives = [s for s, t in zip(said, truth, strict=True) if not t]
    print(
        f"{len(rows)} rows of {path}: recall {sum(positives) / len(positives):.3f}, "
        f"FPR {sum(negatives) / len(negatives):.3f}, AUC {roc_auc_score(truth, said):.3f}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
