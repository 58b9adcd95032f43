"""The web UI's static files: served at /ui with their security headers, the vendored
libraries exactly the files VENDORED.md records (with their licences), and every UI file
in the package data (a wheel without one would serve a broken page)."""

from __future__ import annotations

import hashlib
import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from fastapi.testclient import TestClient

from hybridagent.api.app import create_app
from hybridagent.api.key_gate import KeyGate
from hybridagent.api.keys import open_key_store
from hybridagent.api.limits import MemoryLimiter
from hybridagent.api.ui_files import UI_DIR
from hybridagent.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def client(tmp_path: Path) -> TestClient:
    settings = Settings(_env_file=None, state_dir=tmp_path)  # type: ignore[call-arg]
    gate = KeyGate(open_key_store(settings), MemoryLimiter())
    return TestClient(create_app(settings, gate))  # no lifespan: no Temporal needed


def test_the_ui_is_served_with_a_strict_policy(tmp_path: Path) -> None:
    http = client(tmp_path)
    assert http.get("/ui", follow_redirects=False).headers["location"] == "/ui/"
    page = http.get("/ui/")
    assert page.status_code == 200 and '<script type="module" src="app.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    module = http.get("/ui/vendor/purify.es.mjs")
    assert module.headers["content-type"].startswith("text/javascript")
    assert http.get("/ui/../pyproject.toml").status_code == 404
    assert http.get("/ui/nothing.js").json()["error"]["code"] == "not_found"


def test_the_vendored_files_are_the_ones_recorded() -> None:
    table = (UI_DIR / "vendor" / "VENDORED.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", table, re.M)
    assert {name for name, _ in rows} == {"marked.esm.js", "purify.es.mjs"}
    for name, digest in rows:
        assert hashlib.sha256((UI_DIR / "vendor" / name).read_bytes()).hexdigest() == digest
    for licence in ("LICENSE.marked", "LICENSE.dompurify", "LICENSE-MPL.dompurify"):
        assert (UI_DIR / "vendor" / licence).stat().st_size > 500


def test_every_ui_file_is_package_data() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["hybridagent.api"]
    package = UI_DIR.parent
    for path in UI_DIR.rglob("*"):
        if path.is_file():
            relative = path.relative_to(package).as_posix()
            assert any(fnmatch(relative, p) for p in patterns), relative
