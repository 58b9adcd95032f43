"""The privacy detector: labelled sets, findings and non-findings, spans, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hybridagent.routing.privacy import Finding, scan

ROOT = Path(__file__).resolve().parents[2]
SETS = [
    ROOT / "tests/data/privacy_labelled.jsonl",
    ROOT.parent / "shared/privacy-dev/prompts.jsonl",
]


def labelled() -> list[Any]:
    rows = []
    for path in SETS:
        if path.exists():
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                row = json.loads(line)
                rows.append(pytest.param(row, id=f"{path.parent.name}:{number}:{row['kind']}"))
    return rows


@pytest.mark.parametrize("row", labelled())
def test_labelled_lines(row: dict[str, Any]) -> None:
    findings = scan(row["text"], row.get("terms", []))
    assert bool(findings) == row["sensitive"], [
        (f.type, row["text"][f.start : f.end]) for f in findings
    ]


def spans(text: str, terms: list[str] | None = None) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in scan(text, terms or [])]


def test_spans_point_at_the_secret_itself() -> None:
    text = "db is postgres://app:S3cr3t!pw@10.0.0.5/x and my pin is 4412AB"
    found = spans(text)
    assert ("connection_string_password", "S3cr3t!pw") in found
    assert ("password", "4412AB") in found
    assert ("ip_address", "10.0.0.5") in found


@pytest.mark.parametrize(
    "text",
    [
        "What is a good keyboard?",
        "A monkey and a donkey.",
        "Explain key-value stores.",
        "A turnkey solution.",
    ],
)
def test_terms_match_whole_words_only(text: str) -> None:
    assert scan(text, ["key"]) == []


def test_terms_match_case_insensitively_across_spaces() -> None:
    assert spans("the project  BLUEFIN deal", ["Project Bluefin"]) == [
        ("custom_term", "project  BLUEFIN")
    ]


def test_custom_patterns() -> None:
    text = "ticket INC-20931 is open"
    found = scan(text, patterns=[r"INC-\d{5}"])
    assert [(f.type, text[f.start : f.end]) for f in found] == [("custom_pattern", "INC-20931")]


@pytest.mark.parametrize(
    "text",
    [
        "OPENAI_API_KEY=sk-... goes in .env",
        "api_key='<your-api-key>'",
        "Set YOUR_API_KEY_HERE, e.g. sk-xxxxxxxxxxxxxxxxxxxxxxxx",
        "SSN 000-00-0000 in the form example",
        "test card 0000 0000 0000 0000",
        "card number 1234 5678 9012 3456 fails Luhn",
        "Talk about passwords: how do password managers work?",
        "The password policy is strict.",
        "localhost is 127.0.0.1",
    ],
)
def test_placeholders_dummies_and_talk_are_not_sensitive(text: str) -> None:
    assert scan(text) == []


def test_secret_split_over_lines_is_found_with_its_original_span() -> None:
    text = 'key = ("sk-proj-Ab3dE5gH7jK9mN1pQ3"\n       "sT5vW7yZ9bC1dF3hJ5kL")'
    [finding] = [f for f in scan(text) if f.type == "openai_api_key"]
    assert text[finding.start : finding.end].startswith("sk-proj-Ab3dE5gH7jK9mN1pQ3")
    assert text[finding.start : finding.end].endswith("sT5vW7yZ9bC1dF3hJ5kL")


def test_private_key_finding_covers_the_whole_block() -> None:
    body = "\n".join(["MIIEowIBAAKCAQEAvX9+/abcdefghijklmnopqrstuvwxyz0123456789AB"] * 3)
    text = f"look:\n-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\nthanks"
    [block] = [f for f in scan(text) if f.type == "private_key"]
    assert text[block.start : block.end].endswith("-----END RSA PRIVATE KEY-----")


def test_findings_carry_no_text() -> None:
    finding = scan("mail ana@northwind.io")[0]
    assert finding == Finding(5, 21, "email")
    assert finding.as_dict() == {
        "type": "email",
        "category": "contact",
        "stage": "rules",
        "start": 5,
        "end": 21,
    }


def test_privacy_scan_cli() -> None:
    lines = [
        json.dumps({"text": "write to ana@northwind.io"}),
        json.dumps({"text": "nice keyboard", "terms": ["key"]}),
        "not json",
        json.dumps({"text": 5}),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "hybridagent.runners.cli", "privacy", "scan"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = [json.loads(line) for line in done.stdout.splitlines()]
    email, clean = out[0], out[1]
    assert email["sensitive"] and email["categories"] == ["contact"]
    assert email["findings"] == [
        {"type": "email", "category": "contact", "stage": "rules", "start": 9, "end": 25}
    ]
    assert not clean["sensitive"] and clean["findings"] == []
    # The learned stage's view of each line is shown, with the model that gave it.
    assert 0.0 <= clean["learned_score"] < 0.6 and clean["learned_model"].startswith("lr-")
    assert out[2:] == [
        {"error": "line 3 is not valid JSON."},
        {"error": 'line 4 needs a "text" string.'},
    ]
    assert done.returncode == 1


def test_privacy_scan_explains_a_verdict_without_showing_the_value() -> None:
    card = "four five five six seven three zero two one nine eight four four one seven four"
    for text, secret in (("DB_PASSWORD=Tr0ub4dor&3", "Tr0ub4dor&3"), (f"card is {card}", card)):
        done = subprocess.run(
            [sys.executable, "-m", "hybridagent.runners.cli", "privacy", "scan", text],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("sensitive: the router keeps this on local models")
        assert "rules    " in done.stdout and secret not in done.stdout
        assert " ".join(secret.split()[:3]) not in done.stdout
