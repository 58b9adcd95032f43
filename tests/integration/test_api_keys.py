"""API keys on SQLite and PostgreSQL: created, listed, revoked, authenticated; stored as a
keyed hash only; and `hybridagent keys` in subprocesses."""

from __future__ import annotations

import hmac
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from hybridagent.api import keys as keys_module
from hybridagent.api.keys import (
    DuplicateKeyError,
    InvalidKeyNameError,
    KeyLimits,
    KeyStore,
    UnknownKeyError,
    UnknownTierError,
    limits_for,
    server_secret,
)
from hybridagent.config import ApiTier, Settings
from hybridagent.storage import Storage, database_url

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"s" * 32


def fresh_postgres(server: str) -> str:
    name = f"k_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return fresh_postgres(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'keys.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[KeyStore]:
    keys = KeyStore(Storage.open(database_url(db_url, Path("."))), SECRET)
    yield keys
    keys.close()


def test_create_list_revoke_and_authenticate(store: KeyStore) -> None:
    limits = KeyLimits(rpm=50, tpm=10_000, max_concurrent=4, budget_usd=2.5)
    record, secret = store.create("ci", limits, tier="free", models=["local/*", "openai/*"])
    assert secret.startswith("hya_") and len(secret) == 47
    assert record.prefix == secret[:8]
    assert store.authenticate(secret) == record
    assert record.allows_model("local/smollm2") and record.allows_model("openai/gpt-4o-mini")
    assert not record.allows_model("litellm/anthropic/claude-haiku-4-5")
    assert not record.allows_model("LOCAL/smollm2")  # case-sensitive
    other, other_secret = store.create("dev")
    assert other.allows_model("anything/at-all") and other.limits == KeyLimits()
    assert [k.name for k in store.list()] == ["ci", "dev"]
    assert store.list()[0].limits == limits
    assert store.list()[0].models == ("local/*", "openai/*")

    revoked, changed = store.revoke("ci")
    assert changed and revoked.revoked and revoked.revoked_at is not None
    assert store.revoke("ci")[1] is False
    assert store.authenticate(secret) is None
    assert store.authenticate(other_secret) == other
    for wrong in ("", "hya_", secret[:-1], secret + "x", "Bearer " + other_secret, "ü" * 50):
        assert store.authenticate(wrong) is None


def test_mistakes_are_one_sentence(store: KeyStore) -> None:
    store.create("ci")
    with pytest.raises(DuplicateKeyError, match=r"^A key named 'ci' exists already"):
        store.create("ci")
    with pytest.raises(UnknownKeyError, match=r"^There is no key named 'nope'\.$"):
        store.revoke("nope")
    with pytest.raises(InvalidKeyNameError):
        store.create("has space")
    assert [k.name for k in store.list()] == ["ci"]


def test_only_a_keyed_hash_is_stored(store: KeyStore, db_url: str, tmp_path: Path) -> None:
    _, secret = store.create("ci")
    with store.storage.transaction() as conn:
        row = conn.execute(text("SELECT * FROM api_keys")).mappings().one()
    values = [str(v) for v in row.values()]
    assert not any(secret in v or secret[8:] in v for v in values)
    expected = hmac.new(SECRET, secret.encode(), "sha256").hexdigest()
    assert row["key_hash"] == expected
    # Another server secret: the same key does not authenticate.
    assert KeyStore(store.storage, b"t" * 32).authenticate(secret) is None
    if db_url.startswith("sqlite"):
        store.close()
        for path in tmp_path.glob("keys.db*"):  # the file and its WAL
            assert secret[4:].encode() not in path.read_bytes()


def test_authenticate_compares_in_constant_time(
    store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, secret = store.create("ci")
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", spy)
    assert store.authenticate(secret) == record
    assert len(compared) == 1 and compared[0][0] == compared[0][1]


def test_tiers_preset_limits_and_flags_override_them() -> None:
    tiers = {"free": ApiTier(rpm=10, tpm=1000, budget_usd=1.0, models=["local/*"])}
    assert limits_for(tiers, "free") == (
        KeyLimits(rpm=10, tpm=1000, budget_usd=1.0),
        ("local/*",),
    )
    assert limits_for(tiers, "free", rpm=20, models=["openai/*"]) == (
        KeyLimits(rpm=20, tpm=1000, budget_usd=1.0),
        ("openai/*",),
    )
    assert limits_for(tiers, None, tpm=5) == (KeyLimits(tpm=5), ())
    with pytest.raises(UnknownTierError, match="the configured tiers are free"):
        limits_for(tiers, "gold")


def test_the_server_secret_file_is_created_once_and_private(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, state_dir=tmp_path / "state")  # type: ignore[call-arg]
    first = server_secret(settings)
    path = tmp_path / "state" / "api_key_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert server_secret(settings) == first and len(first) >= 32
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    given = Settings(_env_file=None, state_dir=tmp_path, api_key_secret="x" * 40)  # type: ignore[call-arg]
    assert server_secret(given) == b"x" * 40


# The CLI, in subprocesses


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("HYBRIDAGENT_")}
    values["PYTHONPATH"] = str(ROOT)
    values["HYBRIDAGENT_STATE_DIR"] = str(tmp_path / "state")
    values["COLUMNS"] = "200"  # the table on one line a row
    config = tmp_path / "hybridagent.toml"
    config.write_text('[api.tiers.free]\nrpm = 10\ntpm = 2000\nmodels = ["local/*"]\n')
    values["HYBRIDAGENT_CONFIG"] = str(config)
    if request.param == "postgresql":
        values["HYBRIDAGENT_DATABASE_URL"] = fresh_postgres(request.getfixturevalue("postgres_url"))
    return values


def keys(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hybridagent.runners.cli", "keys", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_error(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code and done.stdout == ""
    assert "Traceback" not in done.stderr
    return done.stderr.strip()


def test_keys_cli_create_list_revoke(env: dict[str, str], tmp_path: Path) -> None:
    created = keys(env, "create", "ci", "--tier", "free", "--rpm", "20", "--budget-usd", "1.5")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert created.stdout == secret + "\n" and secret.startswith("hya_")
    assert "shown once" in created.stderr and secret not in created.stderr

    listed = keys(env, "list")
    assert listed.returncode == 0, listed.stderr
    assert "ci" in listed.stdout and "20 rpm, 2000 tpm, $1.5 budget" in listed.stdout
    assert secret[:8] in listed.stdout and secret not in listed.stdout + listed.stderr

    settings_env = {**os.environ, **env}
    store = KeyStore(
        Storage.open(
            database_url(settings_env.get("HYBRIDAGENT_DATABASE_URL"), tmp_path / "state")
        ),
        (tmp_path / "state" / "api_key_secret").read_text().strip().encode(),
    )
    try:
        key = store.authenticate(secret)
        assert key is not None and key.tier == "free" and key.models == ("local/*",)
        assert key.limits == KeyLimits(rpm=20, tpm=2000, budget_usd=1.5)
        revoked = keys(env, "revoke", "ci")
        assert revoked.returncode == 0 and revoked.stderr.strip() == "Revoked key 'ci'."
        assert store.authenticate(secret) is None
    finally:
        store.close()


def test_keys_cli_mistakes_are_one_sentence(env: dict[str, str]) -> None:
    assert keys(env, "create", "ci").returncode == 0
    assert one_error(keys(env, "create", "ci"), 1) == (
        "error: A key named 'ci' exists already; choose another name."
    )
    assert one_error(keys(env, "create", "x", "--tier", "gold"), 1) == (
        "error: There is no tier 'gold': the configured tiers are free."
    )
    assert one_error(keys(env, "revoke", "nope"), 1) == "error: There is no key named 'nope'."
    assert "--rpm" in one_error(keys(env, "create", "x", "--rpm", "0"), 2)
    listed = keys(env, "list")
    assert listed.stdout.count("hya_") == 1  # the failed creations stored nothing
