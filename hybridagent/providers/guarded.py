"""A Model wrapper that turns every backend failure into one typed, one-sentence error,
and keeps the provider's circuit breaker up to date.

The OpenAI client says "Connection error." when Ollama is down; users need to hear
which backend at which address, Temporal needs a type name to decide on retries, and
the workflow needs it to decide on a fallback (providers/errors.py, FALLBACK_ACTION).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import ollama
import openai
from agents import Model, ModelResponse
from agents.items import TResponseStreamEvent
from temporalio.exceptions import ApplicationError

from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.errors import (
    PROVIDER_HEALTH_FAILURES,
    BadRequestError,
    CircuitOpenError,
    ContextTooLongError,
    InvalidApiKeyError,
    MalformedResponseError,
    ModelNotFoundError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    ProviderUnreachableError,
    RateLimitedError,
)
from hybridagent.providers.wrapper import ModelCall, WrapperModel, layer_of

# Retry-After is honoured up to this many seconds; a longer wait moves to the next model.
MAX_RETRY_AFTER_SECONDS = 30.0

_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "exceeds the available context",
    "too many tokens",
    "prompt is too long",
)


def retry_after(response: httpx.Response) -> float | None:
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = response.headers.get(header)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None  # an HTTP date: rare for APIs; the retry policy's backoff applies
    return None


def guarded_of(model: Model) -> GuardedModel | None:
    """The GuardedModel inside wrappers such as tool-call emulation, if any."""
    return layer_of(model, GuardedModel)


class GuardedModel(WrapperModel):
    def __init__(
        self,
        inner: Model,
        *,
        backend: str,
        endpoint: str,
        model: str,
        circuits: CircuitBreaker | None = None,
    ) -> None:
        super().__init__(inner)
        self.backend = backend
        self.endpoint = endpoint
        self.model = model
        self.circuits = circuits
        self.circuit_key = f"{backend} {endpoint}"

    def translate(self, err: Exception) -> ProviderError | None:
        where = f"{self.backend} at {self.endpoint}"
        if isinstance(err, PROVIDER_HEALTH_FAILURES):
            return err  # an adapter that found the fault itself (a stream cut short)
        if isinstance(err, ollama.ResponseError | httpx.TransportError | ConnectionError):
            return self._translate_native(err, where)
        if isinstance(err, openai.APIConnectionError) and isinstance(
            err.__cause__, httpx.RemoteProtocolError | httpx.ReadError
        ):
            return MalformedResponseError(f"{where} cut its response off half-way.")
        if isinstance(err, openai.APITimeoutError):
            return ProviderTimeoutError(f"{where} did not answer in time for {self.model!r}.")
        if isinstance(err, openai.APIConnectionError):
            return ProviderUnreachableError(
                f"{self.backend} is not reachable at {self.endpoint} ({type(err).__name__})."
            )
        if isinstance(err, openai.AuthenticationError | openai.PermissionDeniedError):
            return InvalidApiKeyError(
                f"{self.backend} rejected the API key for model {self.model!r} "
                f"(HTTP {err.status_code})."
            )
        if isinstance(err, openai.NotFoundError):
            return ModelNotFoundError(f"{where} has no model {self.model!r}.")
        if isinstance(err, openai.RateLimitError):
            return RateLimitedError(f"{where} is rate-limiting {self.model!r} (HTTP 429).")
        if isinstance(err, openai.InternalServerError):
            return ProviderServerError(f"{where} failed (HTTP {err.status_code}).")
        if isinstance(err, openai.BadRequestError | openai.UnprocessableEntityError):
            text = str(err).lower()
            if any(marker in text for marker in _CONTEXT_MARKERS):
                return ContextTooLongError(
                    f"The input does not fit the context window of {self.model!r} at {where}."
                )
            return BadRequestError(
                f"{where} refused the request for {self.model!r} as invalid "
                f"(HTTP {err.status_code})."
            )
        if isinstance(err, openai.APIStatusError):
            return ProviderServerError(f"{where} answered HTTP {err.status_code}.")
        if isinstance(err, json.JSONDecodeError | openai.APIResponseValidationError):
            return MalformedResponseError(f"{where} sent a response that is not valid JSON.")
        return None

    def _translate_native(
        self, err: ollama.ResponseError | httpx.TransportError | ConnectionError, where: str
    ) -> ProviderError:
        """Failures of the `ollama` client (Ollama's native API), and raw httpx errors,
        which both it and the OpenAI client let through while reading a stream."""
        if isinstance(err, httpx.RemoteProtocolError | httpx.ReadError):
            return MalformedResponseError(f"{where} cut its response off half-way.")
        if isinstance(err, httpx.TimeoutException):
            return ProviderTimeoutError(f"{where} did not answer in time for {self.model!r}.")
        if not isinstance(err, ollama.ResponseError):
            return ProviderUnreachableError(
                f"{self.backend} is not reachable at {self.endpoint} ({type(err).__name__})."
            )
        status, text = err.status_code, err.error.lower()
        if status in (401, 403):  # a remote Ollama behind a key, or ollama.com
            return InvalidApiKeyError(
                f"{self.backend} rejected the API key for model {self.model!r} (HTTP {status})."
            )
        if status == 404:
            return ModelNotFoundError(f"{where} has no model {self.model!r}.")
        if status == 429:
            return RateLimitedError(f"{where} is rate-limiting {self.model!r} (HTTP 429).")
        if 400 <= status < 500 and any(marker in text for marker in _CONTEXT_MARKERS):
            return ContextTooLongError(
                f"The input does not fit the context window of {self.model!r} at {where}."
            )
        if 400 <= status < 500:
            return BadRequestError(
                f"{where} refused the request for {self.model!r} as invalid (HTTP {status})."
            )
        if status < 0:  # an {"error": ...} line in a stream that had started with 200
            return ProviderServerError(f"{where} failed half-way through its answer.")
        return ProviderServerError(f"{where} failed (HTTP {status}).")

    def _check_circuit(self) -> None:
        if self.circuits is None:
            return
        wait = self.circuits.allow(self.circuit_key)
        if wait is not None:
            raise CircuitOpenError(
                f"{self.backend} at {self.endpoint} failed repeatedly and is skipped for "
                f"another {wait:.0f} s."
            )

    def _failed(self, err: Exception) -> Exception:
        """Record the failure and return what to raise."""
        translated = self.translate(err)
        if translated is None:
            return err
        if self.circuits is not None:
            if isinstance(translated, PROVIDER_HEALTH_FAILURES):
                self.circuits.failure(self.circuit_key, type(translated).__name__)
            else:
                # The provider answered: it is up, whatever it thought of this request.
                self.circuits.success(self.circuit_key)
        if isinstance(translated, RateLimitedError):
            response = getattr(err, "response", None)
            delay = retry_after(response) if isinstance(response, httpx.Response) else None
            if delay is not None and delay > MAX_RETRY_AFTER_SECONDS:
                # Temporal would wait that long; the next model is the better bet.
                return ApplicationError(
                    f"{translated} Retry-After {delay:.0f} s is over the "
                    f"{MAX_RETRY_AFTER_SECONDS:.0f} s bound.",
                    type=RateLimitedError.__name__,
                    non_retryable=True,
                )
            return ApplicationError(
                str(translated),
                type=RateLimitedError.__name__,
                next_retry_delay=timedelta(seconds=delay) if delay is not None else None,
            )
        return translated

    @contextlib.contextmanager
    def _guarding(self) -> Iterator[None]:
        """Around one call: the circuit checked first, a failure typed and recorded, a
        success recorded."""
        self._check_circuit()
        try:
            yield
        except Exception as err:
            failure = self._failed(err)
            if failure is err:
                raise
            raise failure from err
        if self.circuits is not None:
            self.circuits.success(self.circuit_key)

    async def respond(self, call: ModelCall) -> ModelResponse:
        with self._guarding():
            return await call.answer_from(self.inner)

    async def stream(self, call: ModelCall) -> AsyncIterator[TResponseStreamEvent]:
        with self._guarding():
            async for event in call.stream_from(self.inner):
                yield event
