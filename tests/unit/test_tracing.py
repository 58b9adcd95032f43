"""Traces are off by default and cost nothing then: no interceptor, no instrumentation,
no OpenTelemetry exporter or instrumentation module imported (the SDK itself is loaded
anyway: temporalio.openai_agents imports it); the standard variables turn them on,
OTEL_SDK_DISABLED off again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from temporalio.contrib.opentelemetry import TracingInterceptor

from hybridagent.tracing import temporal_interceptors, tracing_enabled


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "True"},
            False,
        ),
    ],
)
def test_the_standard_variables_decide(environ: dict[str, str], on: bool) -> None:
    assert tracing_enabled(environ) is on


PROBE = """
import json, sys
from hybridagent.api.app import create_app
from hybridagent.config import Settings
from hybridagent.tracing import start_tracing, temporal_interceptors
app = create_app(Settings(_env_file=None), gate=None, client=None)
started = start_tracing("probe")
loaded = sorted(m for m in sys.modules if m.startswith((
    "opentelemetry.exporter", "opentelemetry.instrumentation")))
print(json.dumps({"started": started, "interceptors": len(temporal_interceptors()),
                  "loaded": loaded}))
"""


def probe(**env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_off_by_default_nothing_is_imported_nor_intercepted() -> None:
    assert probe() == {"started": False, "interceptors": 0, "loaded": []}


def test_an_endpoint_turns_on_the_exporter_the_interceptor_and_the_instrumentation() -> None:
    # Nothing is exported here: no span is made before the process exits.
    found = probe(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert found["started"] is True and found["interceptors"] == 1
    loaded = found["loaded"]
    assert isinstance(loaded, list)
    assert "opentelemetry.instrumentation.fastapi" in loaded
    assert "opentelemetry.exporter.otlp.proto.http.trace_exporter" in loaded


def test_the_interceptor_is_temporals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    [interceptor] = temporal_interceptors()
    assert isinstance(interceptor, TracingInterceptor)
