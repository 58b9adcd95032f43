"""Secrets out of messages: API keys, bearer tokens, `?key=` parameters, URL passwords.

Standard library only (hybridagent/errors.py uses it): provider errors are scrubbed
before they become ApplicationError messages, which a history and a log keep.
"""

from __future__ import annotations

import re

MASK = "[redacted]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # userinfo of a URL: scheme://user:password@host
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]+:)[^\s/@]+@"), rf"\g<1>{MASK}@"),
    # secrets in query strings: ?key=…, &api_key=…, &token=…
    (
        re.compile(
            r"([?&](?:key|api[_-]?key|apikey|token|access[_-]?token|secret|password|sig)=)"
            r"[^&\s#\"']+",
            re.IGNORECASE,
        ),
        rf"\g<1>{MASK}",
    ),
    (re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\g<1>{MASK}"),
    # provider key shapes: OpenAI/Anthropic sk-…, Google AIza…, Groq gsk_…, ours hya_…
    (
        re.compile(
            r"\b(?:sk-[A-Za-z0-9_-]{12,}|AIza[0-9A-Za-z_-]{30,}|gsk_[A-Za-z0-9]{20,}|hya_[A-Za-z0-9_-]{20,})"
        ),
        MASK,
    ),
)


def redact(text: str) -> str:
    """`text` with every secret the patterns know replaced by [redacted]."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
