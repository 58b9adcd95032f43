"""OpenTelemetry traces on the real stack: with OTEL_EXPORTER_OTLP_ENDPOINT set, one chat
completion through the API (uvicorn on loopback) to a worker (in this process, so this
process's in-memory exporter sees its spans too) is one trace: the HTTP request, the
workflow start, the workflow and its model activity. No span attribute holds the prompt.

Both the worker and the API's client are built while the variable is set, so both carry
Temporal's tracing interceptor, as `hybridagent worker` and `hybridagent serve` would.
The tracer provider is this process's, set before either starts (start_tracing keeps an
SDK provider it finds), so nothing is exported over the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hybridagent.testing.stub_server import StubServer, text_reply
from tests.conftest import CLOSED_PORT, make_settings, running_worker
from tests.integration.test_api import sdk, serving_api

PROMPT = "Name the capital of Portugal, tracing-canary-7f3a."


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """The process's tracer provider (set once per process: OpenTelemetry's rule), with
    an in-memory exporter behind a synchronous processor."""
    spans = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    assert isinstance(trace.get_tracer_provider(), TracerProvider)
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return spans


@pytest.fixture
def traces_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Nothing listens there: the exporter would fail loudly if it were used.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{CLOSED_PORT}")
    yield


async def spans_until(
    exporter: InMemorySpanExporter, name: str, timeout: float = 30.0
) -> list[ReadableSpan]:
    """The finished spans once one named `name` is among them. The HTTP server span ends
    after the response's last byte went out, so it may end just after the client read it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        spans = list(exporter.get_finished_spans())
        if any(s.name == name for s in spans):
            return spans
        assert asyncio.get_running_loop().time() < deadline, [s.name for s in spans]
        await asyncio.sleep(0.01)  # polling the exporter, not waiting out a race


async def test_one_chat_completion_is_one_trace_from_the_request_to_the_model_activity(
    exporter: InMemorySpanExporter,
    traces_on: None,
    temporal_address: str,
    embedded_url: str,
    cloud_stub: StubServer,
    tmp_path: Path,
) -> None:
    cloud_stub.reset()
    cloud_stub.reply = text_reply("Lisbon.")
    settings = make_settings(
        temporal_address,
        tmp_path,
        embedded_url=embedded_url,
        openai_api_key="sk-test-stub-key",
        openai_base_url=cloud_stub.base_url,
        litellm_api_base=cloud_stub.base_url,
        litellm_api_key="sk-test-stub-key",
        cloud_model="openai/gpt-4o-mini",
    )
    async with running_worker(settings) as worker, serving_api(worker) as api:
        exporter.clear()
        completion = await sdk(api).chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}]
        )
        assert completion.choices[0].message.content == "Lisbon."
        spans = await spans_until(exporter, "POST /v1/chat/completions")

    [server] = [s for s in spans if s.name == "POST /v1/chat/completions"]
    assert server.kind == trace.SpanKind.SERVER and server.context is not None
    trace_id = server.context.trace_id
    of_this_run = [
        s for s in spans if (s.attributes or {}).get("temporalWorkflowID") == completion.id
    ]
    names = {s.name for s in of_this_run}
    assert "StartWorkflow:ChatCompletionWorkflow" in names, names
    assert "RunWorkflow:ChatCompletionWorkflow" in names, names
    assert "RunActivity:invoke_model_activity" in names, names
    # One trace: the request's, and every span of the run is in it.
    assert {s.context.trace_id for s in of_this_run if s.context} == {trace_id}
    # The prompt and the answer are in no attribute of any span.
    for span in spans:
        for value in (span.attributes or {}).values():
            assert "tracing-canary" not in str(value) and "Lisbon" not in str(value)
