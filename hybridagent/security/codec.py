"""AES-256-GCM payload codec: Temporal stores ciphertext, clients and workers read it.

Each payload is serialised whole (metadata and data) and sealed under the ring's active
key; the sealed payload says `encoding: binary/encrypted` and names its key ID, so a
ring with newer keys still opens it. A payload without that encoding (a history from
before encryption, a `temporal workflow start --input` without a codec) passes through
unchanged: it is stored as it was sent.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from hybridagent.errors import ConfigError
from hybridagent.security.keys import KeyRing

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class PayloadKeyError(ConfigError):
    """A payload's key is not in the ring, or the ring's key of that ID does not open it."""


class EncryptionCodec(PayloadCodec):
    """Encrypts every payload under the active key; decrypts under the key it names."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.ring.active
        nonce = os.urandom(NONCE_BYTES)
        # The key ID is authenticated: a payload relabelled with another ID fails to open.
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written without a codec: stored as sent
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"This payload is encrypted with key {key_id!r}, which is not in the "
                f"encryption key ring ({', '.join(self.ring.keys)}); add that key to "
                "HYBRIDAGENT_ENCRYPTION_KEYS or the key file to read it."
            )
        try:
            plain = cipher.decrypt(
                payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode()
            )
        except InvalidTag:
            raise PayloadKeyError(
                f"This payload does not decrypt with the ring's key {key_id!r}: that key "
                "is not the one it was encrypted with, or the payload was altered."
            ) from None
        return Payload.FromString(plain)


def with_encryption(converter: DataConverter, ring: KeyRing | None) -> DataConverter:
    """`converter` with the codec and encoded failure attributes (messages and stack
    traces become payloads, so the codec encrypts them too); unchanged without a ring.

    The payload converter class is kept: the Agents plugin swaps the default one for
    its pydantic-aware converter and keeps the codec (dataclasses.replace).
    """
    if ring is None:
        return converter
    return dataclasses.replace(
        converter,
        payload_codec=EncryptionCodec(ring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
