"""Secrets scrubbed from messages, and from provider errors before they become
ApplicationError messages."""

from __future__ import annotations

import pytest

from hybridagent.providers.errors import ProviderUnreachableError
from hybridagent.security.redact import redact

FAKE_KEY = "sk-proj-" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"prompt mentions {FAKE_KEY} here", "prompt mentions [redacted] here"),
        ("GET https://gen.example/v1/models?key=AIzaSecret123&alt=sse failed",
         "GET https://gen.example/v1/models?key=[redacted]&alt=sse failed"),
        ("postgresql://app:hunter2@db:5432/x", "postgresql://app:[redacted]@db:5432/x"),
        ("Authorization: Bearer abc.DEF-123_xyz", "Authorization: Bearer [redacted]"),
        ("https://x.test/cb?api_key=zzz", "https://x.test/cb?api_key=[redacted]"),
        ("key hya_" + "Q" * 30 + " revoked", "key [redacted] revoked"),
    ],
)  # fmt: skip
def test_secrets_are_redacted(text: str, kept: str) -> None:
    assert redact(text) == kept


def test_ordinary_text_is_left_alone() -> None:
    text = "The weather in Paris is sunny; see https://example.com/a?city=Paris (sk-8 ok)."
    assert redact(text) == text


def test_a_provider_error_echoing_a_keyed_url_is_scrubbed() -> None:
    err = ProviderUnreachableError(
        "gemini is not reachable at https://gen.example/v1?key=AIzaTopSecret (ConnectError)."
    )
    assert "AIzaTopSecret" not in str(err)
    assert (
        str(err)
        == "gemini is not reachable at https://gen.example/v1?key=[redacted] (ConnectError)."
    )
