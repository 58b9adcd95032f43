"""The payload codec, its key ring, the codec server (on httpx's ASGI transport) and the
`hybridagent codec` commands."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import httpx
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from typer.testing import CliRunner

from hybridagent.errors import ConfigError
from hybridagent.runners.cli import app
from hybridagent.security.codec import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    PayloadKeyError,
    with_encryption,
)
from hybridagent.security.codec_server import create_codec_app
from hybridagent.security.keys import (
    KeyRing,
    generate_ring,
    parse_ring,
    read_key_file,
    rotated,
)

MARKER = "zebra-marker-7f3a"
UI = "http://localhost:8233"


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


async def test_a_payload_is_sealed_under_the_active_key_and_opens_again() -> None:
    ring = generate_ring()
    codec = EncryptionCodec(ring)
    [sealed] = await codec.encode([plain(MARKER)])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == ring.active.encode()
    assert MARKER.encode() not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [plain(MARKER)]


async def test_a_payload_without_encryption_metadata_passes_through() -> None:
    codec = EncryptionCodec(generate_ring())
    assert await codec.decode([plain(MARKER)]) == [plain(MARKER)]


async def test_rotation_keeps_old_payloads_readable_and_a_missing_key_is_one_sentence() -> None:
    ring_a = generate_ring()
    [sealed] = await EncryptionCodec(ring_a).encode([plain(MARKER)])
    ring_ab = rotated(ring_a)
    assert ring_ab.active != ring_a.active and ring_a.active in ring_ab.keys
    assert await EncryptionCodec(ring_ab).decode([sealed]) == [plain(MARKER)]
    [newer] = await EncryptionCodec(ring_ab).encode([plain(MARKER)])
    assert newer.metadata[KEY_ID] == ring_ab.active.encode()

    only_b = KeyRing(active=ring_ab.active, keys={ring_ab.active: ring_ab.keys[ring_ab.active]})
    with pytest.raises(PayloadKeyError) as err:
        await EncryptionCodec(only_b).decode([sealed])
    message = str(err.value)
    assert f"key {ring_a.active!r}, which is not in the encryption key ring" in message
    assert message.count(". ") == 0 and message.endswith(".")


async def test_another_key_under_the_same_id_or_a_relabelled_payload_is_refused() -> None:
    ring = generate_ring()
    [sealed] = await EncryptionCodec(ring).encode([plain(MARKER)])
    impostor = KeyRing(active=ring.active, keys={ring.active: b"\x01" * 32})
    with pytest.raises(
        PayloadKeyError, match=f"does not decrypt with the ring's key {ring.active!r}"
    ):
        await EncryptionCodec(impostor).decode([sealed])
    both = rotated(ring)
    relabelled = Payload()
    relabelled.CopyFrom(sealed)
    relabelled.metadata[KEY_ID] = both.active.encode()
    with pytest.raises(PayloadKeyError):
        await EncryptionCodec(both).decode([relabelled])


def test_rings_parse_from_the_variable_and_refuse_bad_keys() -> None:
    a, b = base64.b64encode(b"a" * 32).decode(), base64.b64encode(b"b" * 32).decode()
    ring = parse_ring(f"new:{b}, old:{a}", source="X")
    assert ring.active == "new" and ring.keys == {"new": b"b" * 32, "old": b"a" * 32}
    assert parse_ring(ring.serialise(), source="file") == ring
    short = base64.b64encode(b"s" * 16).decode()
    for text, reason in [
        (f"k:{short}", "is 16 bytes; AES-256 needs 32"),
        ("k:not base64!", "not valid base64"),
        (a, "not written as id:base64key"),
        (f"k:{a},k:{b}", "appears twice"),
        ("", "holds no encryption key"),
    ]:
        with pytest.raises(ConfigError, match=reason):
            parse_ring(text, source="X")


def test_the_converter_keeps_its_payload_converter_and_encodes_failures() -> None:
    ring = generate_ring()
    for base in (DataConverter.default, pydantic_data_converter):
        converter = with_encryption(base, ring)
        assert converter.payload_converter_class is base.payload_converter_class
        assert isinstance(converter.payload_codec, EncryptionCodec)
        assert converter.failure_converter_class is DefaultFailureConverterWithEncodedAttributes
        assert with_encryption(base, None) is base


@pytest.fixture
def codec_http() -> tuple[EncryptionCodec, httpx.AsyncClient]:
    codec = EncryptionCodec(generate_ring())
    server = create_codec_app(codec, token="s3cret", cors_origin=UI, namespace="default")
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url="http://codec")
    return codec, client


def body(payload: Payload) -> dict[str, object]:
    """The codec server protocol's proto3 JSON: metadata values and data in base64."""
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return {
        "payloads": [
            {
                "metadata": {k: b64(v) for k, v in payload.metadata.items()},
                "data": b64(payload.data),
            }
        ]
    }


async def test_the_codec_server_decodes_with_the_token_only(
    codec_http: tuple[EncryptionCodec, httpx.AsyncClient],
) -> None:
    codec, http = codec_http
    [sealed] = await codec.encode([plain(MARKER)])
    auth = {"Authorization": "Bearer s3cret"}
    for path, headers in [
        ("/decode", auth),
        ("/default/decode", auth),
        ("/decode", {**auth, "X-Namespace": "default"}),
        ("/t/s3cret/decode", {}),  # the dev Web UI's form
    ]:
        response = await http.post(path, json=body(sealed), headers=headers)
        assert response.status_code == 200, (path, response.text)
        assert response.json() == body(plain(MARKER))
    for path, headers in [
        ("/decode", {}),
        ("/decode", {"Authorization": "Bearer wrong"}),
        ("/t/wrong/decode", {}),
    ]:
        response = await http.post(path, json=body(sealed), headers=headers)
        assert response.status_code == 401
        assert MARKER not in response.text
    other = await http.post("/decode", json=body(sealed), headers={**auth, "X-Namespace": "prod"})
    assert other.status_code == 404
    encoded = await http.post("/encode", json=body(plain(MARKER)), headers=auth)
    [payload] = encoded.json()["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == ENCODING
    assert MARKER not in base64.b64decode(payload["data"]).decode(errors="replace")


async def test_the_codec_server_allows_only_the_ui_origin(
    codec_http: tuple[EncryptionCodec, httpx.AsyncClient],
) -> None:
    _, http = codec_http
    asks = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    ok = await http.options("/decode", headers={"Origin": UI, **asks})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == UI
    allowed = ok.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-namespace"} <= set(allowed.split(", "))
    refused = await http.options("/decode", headers={"Origin": "http://evil.example", **asks})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    simple = await http.post(
        "/decode", json={"payloads": []}, headers={"Origin": "http://evil.example",
        "Authorization": "Bearer s3cret"},
    )  # fmt: skip
    assert "access-control-allow-origin" not in simple.headers


runner = CliRunner()


def test_keygen_and_rotate_manage_the_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYBRIDAGENT_CONFIG", raising=False)
    monkeypatch.delenv("HYBRIDAGENT_ENCRYPTION_KEYS", raising=False)
    monkeypatch.setenv("HYBRIDAGENT_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "state" / "encryption-keys"
    made = runner.invoke(app, ["codec", "keygen"])
    assert made.exit_code == 0, made.stderr
    first = read_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.active in made.stderr and str(path) in made.stderr
    again = runner.invoke(app, ["codec", "keygen"])
    assert again.exit_code == 1 and "exists already" in again.stderr
    assert read_key_file(path) == first
    turned = runner.invoke(app, ["codec", "rotate"])
    assert turned.exit_code == 0, turned.stderr
    second = read_key_file(path)
    assert second.active != first.active and second.keys[first.active] == first.keys[first.active]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    printed = runner.invoke(app, ["codec", "keygen", "--print"])
    assert printed.exit_code == 0
    assert len(parse_ring(printed.stdout, source="stdout").keys) == 1
    monkeypatch.setenv("HYBRIDAGENT_ENCRYPTION_KEYS", printed.stdout.strip())
    env = runner.invoke(app, ["codec", "rotate"])
    assert env.exit_code == 1 and "HYBRIDAGENT_ENCRYPTION_KEYS" in env.stderr


def test_no_search_attribute_is_set_anywhere_in_the_package() -> None:
    """Search attributes are stored unencrypted: adding one needs a review that it
    carries no prompt or answer text (docs/security.md lists them: none)."""
    package = Path(__file__).parents[2] / "hybridagent"
    setters = ("search_attributes", "upsert_search_attributes", "SearchAttributeKey")
    found = [
        f"{path.relative_to(package)}: {name}"
        for path in package.rglob("*.py")
        for name in setters
        if name in path.read_text()
    ]
    assert found == []
