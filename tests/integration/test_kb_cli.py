"""`hybridagent kb add | list | search` in subprocesses, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF whose page shows `text` (Helvetica), with a correct xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("HYBRIDAGENT_")}
    values["PYTHONPATH"] = str(ROOT)
    values["HYBRIDAGENT_STATE_DIR"] = str(tmp_path / "state")
    if request.param == "postgresql":
        server: str = request.getfixturevalue("postgres_url")
        name = f"k_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        values["HYBRIDAGENT_DATABASE_URL"] = server.rsplit("/", 1)[0] + f"/{name}"
    return values


def kb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hybridagent.runners.cli", "kb", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_kb_add_list_and_search_text_markdown_and_pdf(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "policy.md").write_text("# Refunds\n\nRefunds take 30 days.\n")
    (tmp_path / "notes.txt").write_text("The office cat is called Mittens.\n")
    (tmp_path / "manual.pdf").write_bytes(tiny_pdf("The boiler pressure should be 1.5 bar."))
    added = kb(env, "add", *(str(tmp_path / n) for n in ("policy.md", "notes.txt", "manual.pdf")))
    assert added.returncode == 0, added.stderr
    assert [line.split()[1] for line in added.stdout.splitlines()] == [
        "policy.md",
        "notes.txt",
        "manual.pdf",
    ]
    listed = kb(env, "list")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 3
    found = kb(env, "search", "boiler pressure")
    assert found.returncode == 0
    assert "· manual.pdf · part 0]" in found.stdout and "1.5 bar" in found.stdout
    assert "Mittens" in kb(env, "search", "cat").stdout


def test_kb_add_with_a_bad_file_adds_nothing(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("Good content about tides.\n")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "report.docx").write_bytes(b"PK\x03\x04")
    for bad, sentence in (
        ("broken.pdf", "is not a readable PDF"),
        ("report.docx", "is not a .txt, .md or .pdf file."),
        ("missing.md", "is not a readable file."),
    ):
        result = kb(env, "add", str(tmp_path / "good.md"), str(tmp_path / bad))
        assert result.returncode == 1
        assert result.stderr.startswith(f"error: {tmp_path / bad} {sentence}"), result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert "empty" in kb(env, "list").stdout
    assert "No knowledge-base passage" in kb(env, "search", "tides").stdout
