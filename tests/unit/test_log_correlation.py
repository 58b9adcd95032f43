"""Log correlation: a record carries the request ID of the API request being handled and
the workflow and run IDs of the workflow or activity it came from, as JSON fields or a
short text suffix; values given in `extra` are kept."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from hybridagent.api.app import create_app
from hybridagent.config import Settings
from hybridagent.logs import (
    CorrelationFilter,
    JsonFormatter,
    RedactingFilter,
    TextFormatter,
    bind_workflow_id,
    request_context,
)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Every record of the `tests.correlation` logger, after the correlation filter."""
    kept: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(record)

    handler = Keep()
    handler.addFilter(CorrelationFilter())
    logger = logging.getLogger("tests.correlation")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield kept
    logger.removeHandler(handler)
    logger.propagate = True


log = logging.getLogger("tests.correlation")


def line(formatter: logging.Formatter, **extra: Any) -> str:
    """What a handler like configure_logging's writes for one record."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.addFilter(CorrelationFilter())
    handler.setFormatter(formatter)
    logger = logging.getLogger("tests.correlation.line")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("answered", extra=extra)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


def test_outside_any_request_or_run_nothing_is_added(records: list[logging.LogRecord]) -> None:
    log.info("plain")
    [record] = records
    assert (record.request_id, record.workflow_id, record.run_id) == (None, None, None)  # type: ignore[attr-defined]
    assert line(JsonFormatter()).count("request_id") == 0
    assert line(TextFormatter()).rstrip().endswith("answered")


def test_a_request_context_names_the_request_and_the_workflow_bound_in_it(
    records: list[logging.LogRecord],
) -> None:
    with request_context("req_0001abcd"):
        log.info("before the start")
        bind_workflow_id("chatcmpl-42")
        log.info("after the start")
    log.info("after the request")
    before, after, outside = records
    assert (before.request_id, before.workflow_id) == ("req_0001abcd", None)  # type: ignore[attr-defined]
    assert (after.request_id, after.workflow_id) == ("req_0001abcd", "chatcmpl-42")  # type: ignore[attr-defined]
    assert (outside.request_id, outside.workflow_id) == (None, None)  # type: ignore[attr-defined]


def test_the_sdk_loggers_extra_names_the_workflow_and_run(
    records: list[logging.LogRecord],
) -> None:
    # What temporalio's workflow.logger and activity.logger put in `extra`.
    workflow = {"workflow_id": "wf-1", "run_id": "run-1", "workflow_type": "W", "attempt": 1}
    log.info("in workflow code", extra={"temporal_workflow": workflow})
    act = {"activity_id": "3", "workflow_id": "wf-2", "workflow_run_id": "run-2"}
    log.info("in an activity", extra={"temporal_activity": act})
    first, second = records
    assert (first.workflow_id, first.run_id) == ("wf-1", "run-1")  # type: ignore[attr-defined]
    assert (second.workflow_id, second.run_id) == ("wf-2", "run-2")  # type: ignore[attr-defined]


async def test_a_plain_logger_inside_an_activity_names_its_workflow_and_run(
    records: list[logging.LogRecord],
) -> None:
    @activity.defn
    async def answer() -> None:
        log.info("our own logger, no extra")

    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="wf-act", workflow_run_id="run-act")
    await env.run(answer)
    [record] = records
    assert (record.workflow_id, record.run_id) == ("wf-act", "run-act")  # type: ignore[attr-defined]


def test_values_given_in_extra_are_kept(records: list[logging.LogRecord]) -> None:
    with request_context("req_from_context"):
        log.info("handler outside the middleware", extra={"request_id": "req_given"})
    [record] = records
    assert record.request_id == "req_given"  # type: ignore[attr-defined]


def test_json_lines_have_fields_and_text_lines_a_suffix() -> None:
    with request_context("req_0002abcd"):
        bind_workflow_id("run-this")
        entry = json.loads(line(JsonFormatter(), run_id="r-1"))
        text = line(TextFormatter(), run_id="r-1")
    assert (entry["request_id"], entry["workflow_id"], entry["run_id"]) == (
        "req_0002abcd",
        "run-this",
        "r-1",
    )
    assert entry["message"] == "answered"
    assert text.rstrip().endswith(
        "answered [request_id=req_0002abcd workflow_id=run-this run_id=r-1]"
    )


def test_a_secret_in_a_workflow_id_is_scrubbed() -> None:
    key = "sk-proj-" + "Zx81Qw7Lm2Np4Rt6Vb9Kc3Hd5Fg"
    entry = json.loads(line(JsonFormatter(), workflow_id=f"run-{key}"))
    with request_context("req_0003abcd"):
        bind_workflow_id(f"run-{key}")
        bound = json.loads(line(JsonFormatter()))
    assert key not in json.dumps(entry) and key not in json.dumps(bound)


def app_that_logs() -> FastAPI:
    app = create_app(Settings(_env_file=None), gate=Any, client=Any)  # type: ignore[arg-type]

    @app.get("/logs-a-line")
    async def logs_a_line() -> dict[str, str]:
        log.warning("inside the route")
        return {}

    @app.get("/fails")
    async def fails() -> dict[str, str]:
        raise RuntimeError("a bug")

    return app


async def test_an_api_requests_log_lines_carry_its_request_id(
    records: list[logging.LogRecord],
) -> None:
    app = app_that_logs()
    errors = logging.getLogger("hybridagent.api.errors")
    errors_seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            errors_seen.append(record)

    keep = Keep()
    keep.addFilter(CorrelationFilter())
    errors.addHandler(keep)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
            given = f"trace-{uuid.uuid4().hex[:12]}"
            ok = await api.get("/logs-a-line", headers={"x-request-id": given})
            failed = await api.get("/fails")
    finally:
        errors.removeHandler(keep)
    [record] = records
    assert ok.headers["x-request-id"] == given == record.request_id  # type: ignore[attr-defined]
    # The unexpected-error handler runs outside the middleware; its line names it too.
    [error] = [r for r in errors_seen if r.levelno == logging.ERROR]
    assert failed.status_code == 500
    assert error.request_id == failed.headers["x-request-id"]  # type: ignore[attr-defined]
