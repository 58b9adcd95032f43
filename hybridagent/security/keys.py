"""The encryption key ring: key IDs to AES-256 keys, one of them active.

A ring is written as `id1:base64key,id2:base64key` (HYBRIDAGENT_ENCRYPTION_KEYS) or one
`id:base64key` a line in a key file; the first key is the active one, the others only
decrypt what was written under them. Rotating puts a new key first and keeps the old
ones, so histories written before the rotation still read.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hybridagent.config import Settings
from hybridagent.errors import ConfigError

KEY_BYTES = 32  # AES-256
KEY_FILE = "encryption-keys"  # in the state directory, mode 0600


@dataclass(frozen=True)
class KeyRing:
    """`active` encrypts; every key in `keys` (the active one too) decrypts."""

    active: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise ConfigError(f"The active encryption key {self.active!r} is not in the ring.")

    def serialise(self) -> str:
        """One `id:base64key` a line, the active key first (the key file's format)."""
        order = [self.active, *(k for k in self.keys if k != self.active)]
        return "".join(f"{k}:{base64.b64encode(self.keys[k]).decode()}\n" for k in order)


def parse_ring(text: str, *, source: str) -> KeyRing:
    """A ring from `id:base64key` entries separated by commas or new lines."""
    entries = [e.strip() for line in text.splitlines() for e in line.split(",")]
    keys: dict[str, bytes] = {}
    for entry in (e for e in entries if e and not e.startswith("#")):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise ConfigError(f"An encryption key in {source} is not written as id:base64key.")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise ConfigError(
                f"The encryption key {key_id!r} in {source} is not valid base64."
            ) from None
        if len(key) != KEY_BYTES:
            raise ConfigError(
                f"The encryption key {key_id!r} in {source} is {len(key)} bytes; "
                f"AES-256 needs {KEY_BYTES}."
            )
        if key_id in keys:
            raise ConfigError(f"The encryption key ID {key_id!r} appears twice in {source}.")
        keys[key_id] = key
    if not keys:
        raise ConfigError(f"{source} holds no encryption key.")
    return KeyRing(active=next(iter(keys)), keys=keys)


def new_key_id(existing: Mapping[str, bytes] = {}) -> str:  # noqa: B006 (read only)
    """A short random ID no key in `existing` has."""
    while True:
        key_id = f"k{secrets.token_hex(4)}"
        if key_id not in existing:
            return key_id


def generate_ring() -> KeyRing:
    key_id = new_key_id()
    return KeyRing(active=key_id, keys={key_id: secrets.token_bytes(KEY_BYTES)})


def rotated(ring: KeyRing) -> KeyRing:
    """`ring` with a new active key first; the old keys stay to decrypt old payloads."""
    key_id = new_key_id(ring.keys)
    return KeyRing(active=key_id, keys={key_id: secrets.token_bytes(KEY_BYTES), **ring.keys})


def read_key_file(path: Path) -> KeyRing:
    return parse_ring(path.read_text(), source=str(path))


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Write atomically with mode 0600: a crash never leaves a half-written ring."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(ring.serialise())
    os.replace(tmp, path)


def ensure_key_file(path: Path) -> tuple[KeyRing, bool]:
    """The ring in `path`, made with one new key when the file does not exist yet;
    the flag says whether it was made now."""
    if path.exists():
        return read_key_file(path), False
    ring = generate_ring()
    write_key_file(path, ring)
    return ring, True


def configured_ring(settings: Settings) -> KeyRing | None:
    """HYBRIDAGENT_ENCRYPTION_KEYS, else the key file when it exists, else None (plain)."""
    if settings.encryption_keys is not None:
        return parse_ring(
            settings.encryption_keys.get_secret_value(), source="HYBRIDAGENT_ENCRYPTION_KEYS"
        )
    if settings.key_file.exists():
        return read_key_file(settings.key_file)
    if settings.encryption_key_file is not None:
        raise ConfigError(f"The encryption key file {settings.key_file} does not exist.")
    return None
