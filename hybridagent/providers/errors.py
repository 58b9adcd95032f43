"""Errors a model backend raises, named so Temporal's retry policy can tell them apart.

Temporal turns an exception into an ApplicationError whose type is the class name;
the worker lists the user-mistake types as non-retryable, so they fail at once.
"""

from __future__ import annotations

from hybridagent.routing.names import UnknownModelError

__all__ = [
    "EmbeddedModelUnavailableError",
    "InvalidApiKeyError",
    "MissingApiKeyError",
    "NON_RETRYABLE_ERROR_TYPES",
    "NoLocalModelError",
    "ProviderError",
    "ProviderUnreachableError",
    "UnknownModelError",
]


class ProviderError(RuntimeError):
    """Base class: the message is one sentence meant for the user."""


class MissingApiKeyError(ProviderError):
    """A cloud model was asked for but the worker has no key for it."""


class InvalidApiKeyError(ProviderError):
    """The provider rejected the key (401/403)."""


class ProviderUnreachableError(ProviderError):
    """The backend did not answer; transient, so retried within the retry policy."""


class NoLocalModelError(ProviderError):
    """Neither Ollama nor the embedded model is available for a local call."""


class EmbeddedModelUnavailableError(ProviderError):
    """The embedded model's extra is not installed or its server failed to start."""


# Failures that no retry can fix: the worker's retry policy never retries these.
NON_RETRYABLE_ERROR_TYPES: tuple[str, ...] = (
    UnknownModelError.__name__,
    MissingApiKeyError.__name__,
    InvalidApiKeyError.__name__,
    NoLocalModelError.__name__,
    EmbeddedModelUnavailableError.__name__,
)
