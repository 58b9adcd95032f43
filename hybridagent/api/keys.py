"""API keys: created once, shown once, stored only as a keyed hash.

A key is `hya_` and 43 URL-safe characters (256 random bits). The database keeps
HMAC-SHA256(server secret, key), a short display prefix and the key's limits, never the
key: a copy of the database (a backup, a leaked dump) does not let anyone in, and
without the server secret it does not even let anyone test guesses offline.

`authenticate` looks the hash up by its unique index and then compares it with
`hmac.compare_digest`. The lookup's timing depends only on the keyed hash, which an
attacker cannot choose or compute without the secret, so it tells them nothing about
the keys that exist.

The server secret is HYBRIDAGENT_API_KEY_SECRET, else a file in the state directory,
created with mode 0600 on first use. Every API process that serves one database needs
the same secret: with PostgreSQL and several hosts, set the variable.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, RowMapping, text
from sqlalchemy.exc import IntegrityError

from hybridagent.config import ApiTier, ConfigError, Settings
from hybridagent.errors import UserMistake
from hybridagent.storage import Storage, open_storage
from hybridagent.storage.store import now

KEY_PREFIX = "hya_"
SECRET_FILE = "api_key_secret"
_DISPLAY_CHARS = 8  # `hya_` and 4 random characters: enough to tell keys apart
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MIN_SECRET_BYTES = 16

__all__ = [
    "KEY_PREFIX",
    "ApiKey",
    "DuplicateKeyError",
    "InvalidKeyNameError",
    "KeyLimits",
    "KeyStore",
    "UnknownKeyError",
    "UnknownTierError",
    "limits_for",
    "open_key_store",
    "server_secret",
]


class DuplicateKeyError(UserMistake):
    """A key of that name exists (revoked keys keep their names, for the record)."""


class UnknownKeyError(UserMistake):
    """No key has that name."""


class UnknownTierError(UserMistake):
    """No `[api.tiers.<name>]` table has that name."""


class InvalidKeyNameError(UserMistake):
    """A key name that is not a short word of letters, digits, `.`, `_` and `-`."""


class KeyLimits(BaseModel):
    """A key's limits; None is unlimited. Budget is lifetime USD (hybridagent/api/limits.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rpm: int | None = Field(None, ge=1)
    tpm: int | None = Field(None, ge=1)
    max_concurrent: int | None = Field(None, ge=1)
    budget_usd: float | None = Field(None, ge=0)


class ApiKey(BaseModel):
    """A stored key as the API sees it: never its secret, nor its hash."""

    model_config = ConfigDict(frozen=True)

    id: str  # random, so limiter state in a shared Redis never outlives its key
    name: str
    prefix: str  # the first characters of the secret, to recognise it in a list
    limits: KeyLimits
    tier: str | None = None
    models: tuple[str, ...] = ()  # fnmatch patterns; empty: every model
    created_at: str
    revoked_at: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def allows_model(self, name: str) -> bool:
        """Whether the key may ask for model `name` as the client wrote it (`auto`,
        `agent/<name>` included): case-sensitive shell patterns, like `local/*`."""
        return not self.models or any(fnmatchcase(name, pattern) for pattern in self.models)


def limits_for(
    tiers: Mapping[str, ApiTier],
    tier: str | None = None,
    *,
    rpm: int | None = None,
    tpm: int | None = None,
    max_concurrent: int | None = None,
    budget_usd: float | None = None,
    models: Sequence[str] = (),
) -> tuple[KeyLimits, tuple[str, ...]]:
    """The limits and model patterns of a new key: the tier's, then each given value
    instead of the tier's (patterns given replace the tier's list)."""
    base = ApiTier()
    if tier is not None:
        if tier not in tiers:
            known = (
                f"the configured tiers are {', '.join(sorted(tiers))}"
                if tiers
                else "no tiers are configured (api.tiers in the configuration file)"
            )
            raise UnknownTierError(f"There is no tier {tier!r}: {known}.")
        base = tiers[tier]
    limits = KeyLimits(
        rpm=base.rpm if rpm is None else rpm,
        tpm=base.tpm if tpm is None else tpm,
        max_concurrent=base.max_concurrent if max_concurrent is None else max_concurrent,
        budget_usd=base.budget_usd if budget_usd is None else budget_usd,
    )
    return limits, tuple(models) if models else tuple(base.models)


def server_secret(settings: Settings) -> bytes:
    """HYBRIDAGENT_API_KEY_SECRET, else the state dir's secret file (created once, 0600)."""
    if settings.api_key_secret is not None:
        value = settings.api_key_secret.get_secret_value().encode()
        if len(value) < _MIN_SECRET_BYTES:
            raise ConfigError(
                f"HYBRIDAGENT_API_KEY_SECRET must be at least {_MIN_SECRET_BYTES} characters."
            )
        return value
    return _secret_file(settings.state_dir / SECRET_FILE)


def _secret_file(path: Path) -> bytes:
    """Read the secret file, creating it first if missing. Written to a private temporary
    file and linked into place, so two processes starting at once agree on one secret
    and neither reads a half-written file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
            with contextlib.suppress(FileExistsError):  # another process was first
                os.link(tmp, path)
        finally:
            tmp.unlink()
    value = path.read_text().strip().encode()
    if len(value) < _MIN_SECRET_BYTES:
        raise ConfigError(f"{path} holds no usable secret; delete it to make a new one.")
    return value


class KeyStore:
    """The `api_keys` table of the tools' database (SQLite or PostgreSQL)."""

    def __init__(self, storage: Storage, secret: bytes) -> None:
        self.storage = storage
        self._secret = secret

    def close(self) -> None:
        self.storage.close()

    def _hash(self, key: str) -> str:
        return hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()

    def create(
        self,
        name: str,
        limits: KeyLimits | None = None,
        *,
        tier: str | None = None,
        models: Iterable[str] = (),
    ) -> tuple[ApiKey, str]:
        """Store a new key; the record and the key itself, which nothing can show again."""
        if not _NAME.fullmatch(name):
            raise InvalidKeyNameError(
                f"Key name {name!r} must be 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit."
            )
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKey(
            id="key_" + uuid.uuid4().hex,
            name=name,
            prefix=secret[:_DISPLAY_CHARS],
            limits=limits or KeyLimits(),
            tier=tier,
            models=tuple(models),
            created_at=now(),
        )
        try:
            with self.storage.transaction() as conn:
                conn.execute(
                    text(
                        "INSERT INTO api_keys (id, name, key_hash, prefix, rpm, tpm, "
                        "max_concurrent, budget_usd, tier, models, created_at) VALUES (:id, "
                        ":name, :hash, :prefix, :rpm, :tpm, :conc, :budget, :tier, :models, :at)"
                    ),
                    {
                        "id": record.id, "name": name, "hash": self._hash(secret),
                        "prefix": record.prefix, "rpm": record.limits.rpm,
                        "tpm": record.limits.tpm, "conc": record.limits.max_concurrent,
                        "budget": record.limits.budget_usd, "tier": tier,
                        "models": json.dumps(list(record.models)), "at": record.created_at,
                    },
                )  # fmt: skip
        except IntegrityError:
            if self._find(name) is None:
                raise
            raise DuplicateKeyError(
                f"A key named {name!r} exists already; choose another name."
            ) from None
        return record, secret

    def list(self) -> builtins.list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        with self.storage.transaction() as conn:
            rows = conn.execute(text("SELECT * FROM api_keys ORDER BY created_at, name"))
            return [_record(row) for row in rows.mappings()]

    def get(self, name: str) -> ApiKey:
        found = self._find(name)
        if found is None:
            raise UnknownKeyError(f"There is no key named {name!r}.")
        return found

    def _find(self, name: str) -> ApiKey | None:
        with self.storage.transaction() as conn:
            return _one(conn, "SELECT * FROM api_keys WHERE name = :v", name)

    def revoke(self, name: str) -> tuple[ApiKey, bool]:
        """Revoke the key; the record and whether it was live until now. The row stays,
        so the name and its history are kept."""
        with self.storage.transaction() as conn:
            changed = conn.execute(
                text(
                    "UPDATE api_keys SET revoked_at = :at WHERE name = :name AND revoked_at IS NULL"
                ),
                {"at": now(), "name": name},
            ).rowcount
            found = _one(conn, "SELECT * FROM api_keys WHERE name = :v", name)
        if found is None:
            raise UnknownKeyError(f"There is no key named {name!r}.")
        return found, bool(changed)

    def authenticate(self, key: str) -> ApiKey | None:
        """The live key this secret is, or None (unknown, revoked or malformed)."""
        digest = self._hash(key)  # computed for every input, well-formed or not
        with self.storage.transaction() as conn:
            row = (
                conn.execute(
                    text("SELECT * FROM api_keys WHERE key_hash = :h AND revoked_at IS NULL"),
                    {"h": digest},
                )
                .mappings()
                .first()
            )
        if row is None or not hmac.compare_digest(str(row["key_hash"]), digest):
            return None
        return _record(row)


def _one(conn: Connection, sql: str, value: str) -> ApiKey | None:
    row = conn.execute(text(sql), {"v": value}).mappings().first()
    return None if row is None else _record(row)


def _record(row: RowMapping) -> ApiKey:
    budget = row["budget_usd"]
    return ApiKey(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        limits=KeyLimits(
            rpm=row["rpm"],
            tpm=row["tpm"],
            max_concurrent=row["max_concurrent"],
            budget_usd=None if budget is None else float(budget),
        ),
        tier=row["tier"],
        models=tuple(json.loads(row["models"])),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def open_key_store(settings: Settings) -> KeyStore:
    """The key store of the configured database, with the configured server secret."""
    secret = server_secret(settings)
    return KeyStore(open_storage(settings.database_url, settings.state_dir), secret)
