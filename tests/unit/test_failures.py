"""Every row of the failure table (docs/fallback.md) against a real loopback HTTP server
that misbehaves on purpose, and the circuit breaker that skips a failing provider."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from agents import ModelSettings, ModelTracing
from temporalio.exceptions import ApplicationError

from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.errors import (
    FALLBACK_ACTION,
    NON_RETRYABLE_ERROR_TYPES,
    BadRequestError,
    CircuitOpenError,
    ContextTooLongError,
    InvalidApiKeyError,
    MalformedResponseError,
    ModelNotFoundError,
    ProviderServerError,
    ProviderUnreachableError,
)
from hybridagent.providers.openai import OpenAIBackend
from hybridagent.testing.stub_server import StubServer
from tests.conftest import CLOSED_PORT


@pytest.fixture
def server() -> Any:
    with StubServer() as stub:
        yield stub


async def ask(backend: OpenAIBackend) -> Any:
    return await backend.get_model("gpt-4o-mini").get_response(
        None, "hi", ModelSettings(), [], None, [], ModelTracing.DISABLED,
        previous_response_id=None, conversation_id=None, prompt=None,
    )  # fmt: skip


def backend_for(url: str, circuits: CircuitBreaker | None = None) -> OpenAIBackend:
    return OpenAIBackend("sk-test", url, circuits=circuits)


def action(err: BaseException) -> tuple[str, str, bool]:
    """(type as Temporal sees it, fallback action, retried on the same model)."""
    kind = err.type if isinstance(err, ApplicationError) and err.type else type(err).__name__
    non_retryable = kind in NON_RETRYABLE_ERROR_TYPES or (
        isinstance(err, ApplicationError) and err.non_retryable
    )
    return kind, FALLBACK_ACTION.get(kind, "fail"), not non_retryable


@pytest.mark.parametrize(
    ("setup", "expected", "message"),
    [
        ({"status": 500}, ProviderServerError, r"failed \(HTTP 500\)"),
        ({"status": 503}, ProviderServerError, r"failed \(HTTP 503\)"),
        ({"status": 404}, ModelNotFoundError, "has no model 'gpt-4o-mini'"),
        ({"status": 401}, InvalidApiKeyError, "rejected the API key"),
        ({"status": 403}, InvalidApiKeyError, "rejected the API key"),
        ({"status": 400}, BadRequestError, "refused the request for 'gpt-4o-mini' as invalid"),
        (
            {"status": 400, "error_message": "This model's maximum context length is 8192 tokens"},
            ContextTooLongError,
            "does not fit the context window",
        ),
        ({"fault": "malformed"}, MalformedResponseError, "not valid JSON"),
        ({"fault": "cut"}, MalformedResponseError, "cut its response off half-way"),
    ],
)
async def test_http_failures_are_typed(
    server: StubServer, setup: dict[str, Any], expected: type[Exception], message: str
) -> None:
    for name, value in setup.items():
        setattr(server, name, value)
    with pytest.raises(expected, match=message):
        await ask(backend_for(server.base_url))


async def test_connection_refused() -> None:
    with pytest.raises(ProviderUnreachableError, match="not reachable at http://127.0.0.1"):
        await ask(backend_for(f"http://127.0.0.1:{CLOSED_PORT}/v1"))


async def test_rate_limit_honours_retry_after_within_a_bound(server: StubServer) -> None:
    server.status = 429
    server.error_headers = {"retry-after": "7"}
    with pytest.raises(ApplicationError) as caught:
        await ask(backend_for(server.base_url))
    assert caught.value.type == "RateLimitedError" and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=7)
    server.error_headers = {"retry-after": "3600"}
    with pytest.raises(ApplicationError) as too_long:
        await ask(backend_for(server.base_url))
    assert too_long.value.non_retryable  # an hour's wait: the next model is the better bet
    assert "Retry-After 3600 s is over the 30 s bound" in too_long.value.message


async def test_the_table_says_what_each_failure_does(server: StubServer) -> None:
    """Same model (Temporal retry) / next candidate / fail, per failure: docs/fallback.md."""
    rows: dict[str, tuple[str, str, bool]] = {}
    cases: dict[str, dict[str, Any]] = {
        "500": {"status": 500},
        "429": {"status": 429, "error_headers": {"retry-after": "1"}},
        "404": {"status": 404},
        "400": {"status": 400},
        "401": {"status": 401},
        "context": {"status": 400, "error_message": "context_length_exceeded"},
        "malformed": {"fault": "malformed"},
    }
    for label, setup in cases.items():
        server.reset()
        for name, value in setup.items():
            setattr(server, name, value)
        with pytest.raises(Exception) as caught:
            await ask(backend_for(server.base_url))
        rows[label] = action(caught.value)
    with pytest.raises(Exception) as refused:
        await ask(backend_for(f"http://127.0.0.1:{CLOSED_PORT}/v1"))
    rows["refused"] = action(refused.value)
    assert rows == {
        "500": ("ProviderServerError", "next", True),
        "429": ("RateLimitedError", "next", True),
        "404": ("ModelNotFoundError", "next", False),
        "400": ("BadRequestError", "fail", False),
        "401": ("InvalidApiKeyError", "next", False),
        "context": ("ContextTooLongError", "larger", False),
        "malformed": ("MalformedResponseError", "next", True),
        "refused": ("ProviderUnreachableError", "next", True),
    }
    assert FALLBACK_ACTION["ActivityTimeout"] == "next"  # a hang: tests/integration/test_timeouts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_circuit_opens_after_repeated_failures_and_skips_the_provider() -> None:
    clock = Clock()
    circuits = CircuitBreaker(failure_threshold=3, cooldown_seconds=30, clock=clock)
    with StubServer() as server:
        server.status = 500
        backend = backend_for(server.base_url, circuits)
        for _ in range(3):
            with pytest.raises(ProviderServerError):
                await ask(backend)
        assert len(server.requests) == 3
        with pytest.raises(CircuitOpenError, match="skipped for another 30 s"):
            await ask(backend)
        assert len(server.requests) == 3  # no request while open
        [snapshot] = circuits.snapshot()
        assert (snapshot.state, snapshot.failures, snapshot.last_error) == (
            "open", 3, "ProviderServerError"
        )  # fmt: skip
        # After the cooldown one probe goes through; it fails, so the circuit reopens.
        clock.now += 31
        with pytest.raises(ProviderServerError):
            await ask(backend)
        with pytest.raises(CircuitOpenError):
            await ask(backend)
        assert len(server.requests) == 4
        # The next probe succeeds: closed again.
        clock.now += 31
        server.status = 200
        await ask(backend)
        await ask(backend)
        assert circuits.snapshot() == [] and len(server.requests) == 6


async def test_answers_that_blame_the_request_do_not_count_against_the_provider(
    server: StubServer,
) -> None:
    circuits = CircuitBreaker(failure_threshold=1)
    server.status = 400
    backend = backend_for(server.base_url, circuits)
    for _ in range(3):
        with pytest.raises(BadRequestError):
            await ask(backend)
    assert circuits.snapshot() == []
