"""OpenTelemetry traces, off unless the standard OTel environment asks for them.

`OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) in the process
environment turns them on: the API's requests are spans (FastAPI instrumentation), and
every Temporal client the API or a worker builds carries Temporal's TracingInterceptor,
which puts the span context in the workflow's and activities' headers, so one trace runs
from the HTTP request through the workflow to its model and tool activities.

The exporter, the instrumentation and the interceptor are imported only when traces are
on: the default path pays nothing for them. The exporter reads the rest of its
configuration (headers, timeouts, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`) from
the standard variables itself.
This is separate from the Agents SDK's own trace export to OpenAI (HYBRIDAGENT_TRACING,
workers/plugin.py), which stays off unless asked for.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from temporalio.client import Interceptor

log = logging.getLogger("hybridagent.tracing")

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# The ASGI instrumentation's extra spans for each body chunk received or sent: noise,
# one per streamed token.
_EXCLUDED_ASGI_SPANS: list[str] = ["receive", "send"]


def tracing_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """An OTLP endpoint is configured and the SDK is not disabled (OTEL_SDK_DISABLED)."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def start_tracing(service_name: str) -> bool:
    """When traces are on, a global tracer provider exporting over OTLP/HTTP in batches,
    unless the process already set an SDK provider of its own (an embedding program, the
    tests' in-memory exporter), which is kept. Returns whether traces are on."""
    if not tracing_enabled():
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return True
    # OTEL_SERVICE_NAME, when set, wins over ours (given attributes would win over it).
    given = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    resource = Resource.create(given)
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("OpenTelemetry traces on, exported over OTLP/HTTP as %s", service_name)
    return True


def temporal_interceptors() -> list[Interceptor]:
    """Temporal's TracingInterceptor when traces are on (client and worker: a worker
    built on the client gets it too), else none."""
    if not tracing_enabled():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def instrument_app(app: FastAPI) -> bool:
    """Every request to `app` a server span (route template, method, status; no body,
    no header), when traces are on. Returns whether it did."""
    if not tracing_enabled():
        return False
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, exclude_spans=_EXCLUDED_ASGI_SPANS)  # type: ignore[arg-type]
    return True
