"""Prometheus metrics of the API process and of the worker (docs/observability.md).

Each process builds one `Metrics` with its own registry (no module globals), exposed at
`/metrics` on the API and on the worker's metrics port when one is configured. Labels
are bounded and carry no content: route templates (never raw paths), configured model
names, outcomes, error codes, privacy categories. Never a prompt, a key or a user.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hybridagent.providers.circuit import CircuitBreaker

# No `<name>_created` series beside every counter and histogram (prometheus_client's
# default; it is process-wide): a seventh of the exposition, which no documented query
# needs — a counter's reset shows in its value.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client

CIRCUIT_STATES = ("closed", "open", "half-open")
# HTTP latencies (seconds): a health check in a millisecond, a completion in minutes.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
MODEL_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "hybridagent_http_requests", "HTTP requests answered.",
            ["method", "route", "status"], registry=r,
        )  # fmt: skip
        # By method and route only: by status too, it was 4 of every 5 lines of a
        # scrape (statuses per route × 18 lines a series); the counter has the status.
        self.http_latency = Histogram(
            "hybridagent_http_request_duration_seconds", "HTTP request latency.",
            ["method", "route"], buckets=HTTP_BUCKETS, registry=r,
        )  # fmt: skip
        self.api_errors = Counter(
            "hybridagent_api_errors", "API error answers by code (rate_limit_exceeded, "
            "budget_exceeded, ...).", ["code"], registry=r,
        )  # fmt: skip
        self.model_calls = Counter(
            "hybridagent_model_calls", "Model-call activity attempts by outcome.",
            ["model", "location", "outcome"], registry=r,
        )  # fmt: skip
        self.model_latency = Histogram(
            "hybridagent_model_call_duration_seconds", "Model-call latency (answered calls).",
            ["model", "location"], buckets=MODEL_BUCKETS, registry=r,
        )  # fmt: skip
        self.tokens = Counter(
            "hybridagent_model_tokens", "Tokens of answered model calls.",
            ["model", "location", "direction"], registry=r,
        )  # fmt: skip
        self.cost = Counter(
            "hybridagent_model_cost_usd", "Cost of answered model calls (USD; local: 0).",
            ["model", "location"], registry=r,
        )  # fmt: skip
        self.savings = Counter(
            "hybridagent_model_savings_usd",
            "What the reference cloud model would have cost for local calls' tokens (USD).",
            ["model"], registry=r,
        )  # fmt: skip
        self.fallbacks = Counter(
            "hybridagent_model_fallbacks", "Calls answered by a fallback model.",
            ["from_model", "to_model"], registry=r,
        )  # fmt: skip
        self.privacy_pins = Counter(
            "hybridagent_privacy_pinned_calls",
            "Model calls pinned to local models by privacy, by category found in the call "
            "('none': pinned by an earlier call of the run).",
            ["category"], registry=r,
        )  # fmt: skip
        self.ledger_failures = Counter(
            "hybridagent_usage_ledger_write_failures",
            "Usage-ledger rows that could not be written (the call itself succeeded).",
            registry=r,
        )

    def watch_circuits(self, circuits: CircuitBreaker) -> None:
        """Expose the breaker's circuits (a gauge per state) at each scrape."""
        self.registry.register(_CircuitCollector(circuits))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, host: str, port: int) -> Callable[[], None]:
        """Serve /metrics on host:port in a thread; returns what stops it."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        return lambda: _stop(server, thread)


def _stop(server: WSGIServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join()


class _CircuitCollector(Collector):
    def __init__(self, circuits: CircuitBreaker) -> None:
        self.circuits = circuits

    def collect(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily(
            "hybridagent_circuit_state",
            "1 for each backend circuit's current state (closed, open, half-open).",
            labels=["circuit", "state"],
        )
        for snap in self.circuits.snapshot():
            for state in CIRCUIT_STATES:
                gauge.add_metric([snap.key, state], 1.0 if snap.state == state else 0.0)
        yield gauge


def _route_template(scope: Scope) -> str:
    """The matched route's path template (`/v1/runs/{run_id}`); never the raw path,
    which may carry IDs. Unmatched requests share one label."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class HttpMetrics:
    """ASGI middleware: counts and times each HTTP request by route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recorded(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recorded)
        finally:
            method, route = scope.get("method", "GET"), _route_template(scope)
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            self.metrics.http_latency.labels(method, route).observe(time.perf_counter() - started)
