"""Errors a model backend raises, named so Temporal's retry policy can tell them apart.

Temporal turns an exception into an ApplicationError whose type is the class name
(each is in hybridagent/failures.py's table); the worker lists the kinds no retry fixes
as non-retryable, so they fail at once.
"""

from __future__ import annotations

from hybridagent.errors import ProviderError
from hybridagent.failures import ACTIVITY_TIMEOUT
from hybridagent.routing.names import UnknownModelError

__all__ = [
    "BadRequestError",
    "CircuitOpenError",
    "ContextTooLongError",
    "EmbeddedModelUnavailableError",
    "FALLBACK_ACTION",
    "MalformedResponseError",
    "MalformedToolStepError",
    "ModelNotFoundError",
    "PROVIDER_HEALTH_FAILURES",
    "ProviderServerError",
    "ProviderTimeoutError",
    "RateLimitedError",
    "InvalidApiKeyError",
    "InvalidToolCallError",
    "MissingApiKeyError",
    "NON_RETRYABLE_ERROR_TYPES",
    "NoLocalModelError",
    "ProviderError",
    "ProviderUnreachableError",
    "UnknownModelError",
]


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


class ProviderTimeoutError(ProviderError):
    """The backend accepted the request but did not answer in time."""


class ProviderServerError(ProviderError):
    """HTTP 5xx: the backend failed; transient as far as we can tell."""


class RateLimitedError(ProviderError):
    """HTTP 429: retried after the provider's Retry-After, within a bound."""


class MalformedResponseError(ProviderError):
    """The answer was not the JSON the API promises (cut off, or garbage)."""


class ModelNotFoundError(UnknownModelError, ProviderError):
    """The backend answered but does not have the model (HTTP 404)."""


class ContextTooLongError(ProviderError):
    """The input does not fit the model's context window."""


class BadRequestError(ProviderError):
    """HTTP 400 for any other reason: the request itself is wrong; no model will take it."""


class InvalidToolCallError(ProviderError):
    """An emulated tool call whose arguments stayed invalid after a repair and a retry:
    the same model at the same temperature would answer the same, another model may not."""


class MalformedToolStepError(ProviderError):
    """An emulated step (tool call or final answer) that was cut off or garbled, or a
    final answer that is itself a step object, twice: a model failure, never an answer."""


class CircuitOpenError(ProviderError):
    """The provider failed repeatedly; it is skipped for a cooldown, without a request."""


# Failures that no retry on the same model can fix: the retry policy never retries these.
NON_RETRYABLE_ERROR_TYPES: tuple[str, ...] = (
    UnknownModelError.__name__,
    ModelNotFoundError.__name__,
    MissingApiKeyError.__name__,
    InvalidApiKeyError.__name__,
    NoLocalModelError.__name__,
    EmbeddedModelUnavailableError.__name__,
    ContextTooLongError.__name__,
    BadRequestError.__name__,
    CircuitOpenError.__name__,
    InvalidToolCallError.__name__,
    MalformedToolStepError.__name__,
)

# What a failed model call does next, once the retry policy has given up on the model
# (docs/fallback.md has the table with the HTTP causes). "next": the next candidate the
# routing policy allows; "larger": the next candidate with a larger context; "fail":
# the run fails with the error, no other model is tried.
FALLBACK_ACTION: dict[str, str] = {
    ProviderUnreachableError.__name__: "next",
    ProviderTimeoutError.__name__: "next",
    ProviderServerError.__name__: "next",
    RateLimitedError.__name__: "next",
    MalformedResponseError.__name__: "next",
    InvalidToolCallError.__name__: "next",
    MalformedToolStepError.__name__: "next",
    CircuitOpenError.__name__: "next",
    ModelNotFoundError.__name__: "next",
    MissingApiKeyError.__name__: "next",
    InvalidApiKeyError.__name__: "next",
    EmbeddedModelUnavailableError.__name__: "next",
    NoLocalModelError.__name__: "next",
    ACTIVITY_TIMEOUT: "next",  # Temporal's start-to-close or schedule-to-close timeout
    ContextTooLongError.__name__: "larger",
    BadRequestError.__name__: "fail",
    UnknownModelError.__name__: "fail",
}

# Failures that say the provider itself is unwell: they count toward its circuit breaker.
PROVIDER_HEALTH_FAILURES: tuple[type[ProviderError], ...] = (
    ProviderUnreachableError,
    ProviderTimeoutError,
    ProviderServerError,
    MalformedResponseError,
)
