"""The logging setup: every record leaves redacted (message, arguments, exception text),
as readable text or one JSON object per line, through one handler however often it is
configured; LiteLLM's own handler gives way to it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from hybridagent import logs
from hybridagent.config import Settings
from hybridagent.logs import (
    JsonFormatter,
    RedactingFilter,
    announce,
    configure_logging,
    scrub,
)

FAKE_KEY = "sk-proj-" + "Zx81Qw7Lm2Np4Rt6Vb9Kc3Hd5Fg"
GOOGLE_URL = "https://gen.example/v1beta/models?key=AIzaSyD" + "q" * 32 + "&alt=sse"


@pytest.fixture
def isolated_root() -> Iterator[None]:
    """configure_logging changes the root logger: put it back for the next test."""
    root = logging.getLogger()
    handlers, level, fmt = list(root.handlers), root.level, logs._format
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logs._format = fmt
    logging.captureWarnings(False)


def emitted(handler: logging.Handler, *args: object, exc: BaseException | None = None) -> str:
    """What `handler` writes for one WARNING record built like a logger call would."""
    stream = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if exc is None:
            logger.warning(*args)
        else:
            try:
                raise exc
            except BaseException:
                logger.exception(*args)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


def plain_handler(formatter: logging.Formatter | None = None) -> logging.Handler:
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(formatter or logging.Formatter("%(message)s"))
    return handler


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"calling with {FAKE_KEY}", "calling with [redacted]"),
        (
            f"GET {GOOGLE_URL} failed",
            "GET https://gen.example/v1beta/models?key=[redacted]&alt=sse failed",
        ),  # noqa: E501
        ("Authorization: Bearer abc.DEF-123_xyz", "Authorization: Bearer [redacted]"),
        ("postgresql://app:hunter2@db:5432/x", "postgresql://app:[redacted]@db:5432/x"),
        # the privacy detector's rules: a named secret, an AWS pair, a password in prose
        ("export DB_PASSWORD=Tr0ub4dor-and-3", "export DB_PASSWORD=[redacted]"),
        (
            "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "[redacted] [redacted]",
        ),
        ('the password is "Ember-8824" now', 'the password is "[redacted]" now'),
    ],
)
def test_scrub_removes_keys_tokens_and_what_the_detector_calls_a_secret(
    text: str, kept: str
) -> None:
    assert scrub(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "worker on task queue 'test-1a2b3c4d' at 127.0.0.1:7233; default model local/smollm2",
        "Completing activity as failed ({'activity_id': '1', 'workflow_id': 'enc-3f2a9c1b0d', "
        "'run_id': '0190c5e2-7a3b-7c1d-9e8f-1234567890ab', 'activity_type': 'invoke_model'})",
        'HTTP Request: POST http://127.0.0.1:43211/v1/chat/completions "HTTP/1.1 200 OK"',
    ],
)
def test_scrub_keeps_ordinary_lines(text: str) -> None:
    assert scrub(text) == text


def test_the_filter_scrubs_the_formatted_message_and_its_arguments() -> None:
    out = emitted(plain_handler(), "provider %s answered %d for %s", "gemini", 400, GOOGLE_URL)
    assert out == "provider gemini answered 400 for " + scrub(GOOGLE_URL) + "\n"
    assert "AIza" not in out


def test_arguments_that_do_not_fit_the_format_are_not_shown() -> None:
    out = emitted(plain_handler(), "two %s %s", FAKE_KEY)
    assert FAKE_KEY not in out and "not shown" in out and "Logging error" not in out


def test_the_filter_scrubs_exception_text_and_its_chained_causes() -> None:
    try:
        raise ConnectionError(f"401 from {GOOGLE_URL} with key {FAKE_KEY}")
    except ConnectionError as cause:
        error = RuntimeError("the provider failed")
        error.__cause__ = cause
    out = emitted(plain_handler(), "model call failed", exc=error)
    assert "Traceback" in out and "ConnectionError: 401 from" in out
    assert FAKE_KEY not in out and "AIza" not in out and "[redacted]" in out


def test_json_lines_parse_and_keep_exceptions_on_one_line() -> None:
    out = emitted(
        plain_handler(JsonFormatter()), "line one\nline two %s", FAKE_KEY, exc=ValueError("bad")
    )
    assert out.count("\n") == 1
    entry = json.loads(out)
    assert entry["level"] == "ERROR" and entry["logger"] == "tests.logs"
    assert entry["message"] == "line one\nline two [redacted]"
    assert entry["exception"].startswith("Traceback") and "ValueError: bad" in entry["exception"]
    assert entry["time"].endswith("+00:00")


def test_json_lines_carry_the_temporal_context_of_a_record() -> None:
    handler = plain_handler(JsonFormatter())
    record = logging.LogRecord("temporalio.activity", logging.WARNING, __file__, 1, "m", None, None)
    record.temporal_activity = {"activity_id": "3", "workflow_id": "w-1", "attempt": 2}
    assert handler.filter(record)
    entry = json.loads(handler.format(record))
    assert entry["temporal"] == {"activity_id": "3", "workflow_id": "w-1", "attempt": 2}


@pytest.mark.usefixtures("isolated_root")
def test_configure_logging_is_one_redacting_handler_however_often_it_runs() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", "text", stream=first)
    configure_logging("INFO", "json", stream=second)
    ours = [h for h in logging.getLogger().handlers if isinstance(h, logs._Handler)]
    assert len(ours) == 1
    logging.getLogger("hybridagent.test").info("using %s", FAKE_KEY)
    logging.getLogger("hybridagent.test").debug("below the level")
    assert first.getvalue() == ""
    lines = second.getvalue().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["using [redacted]"]


@pytest.mark.usefixtures("isolated_root")
def test_text_lines_are_readable(capsys: pytest.CaptureFixture[str]) -> None:
    stream = io.StringIO()
    configure_logging("WARNING", "text", stream=stream)
    logging.getLogger("hybridagent.worker").warning("Ollama is %s", "away")
    assert stream.getvalue().endswith(" WARNING hybridagent.worker: Ollama is away\n")
    announce("worker on task queue 'q'")
    assert capsys.readouterr().err == "worker on task queue 'q'\n"


@pytest.mark.usefixtures("isolated_root")
def test_start_up_lines_are_json_records_in_json_format_whatever_the_level() -> None:
    stream = io.StringIO()
    configure_logging("ERROR", "json", stream=stream)
    announce("worker on task queue 'q'")
    entry = json.loads(stream.getvalue())
    assert entry["message"] == "worker on task queue 'q'" and entry["level"] == "INFO"


@pytest.mark.usefixtures("isolated_root")
def test_litellm_records_reach_our_handler_only() -> None:
    import litellm._logging

    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    for name in logs.LITELLM_LOGGERS:
        assert litellm._logging.handler not in logging.getLogger(name).handlers
    logging.getLogger("LiteLLM").info("calling %s", GOOGLE_URL)
    assert json.loads(stream.getvalue())["message"] == f"calling {scrub(GOOGLE_URL)}"


def test_settings_read_level_and_format_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDAGENT_LOG_FORMAT", "JSON")
    monkeypatch.setenv("HYBRIDAGENT_LOG_LEVEL", "info")
    settings = Settings(_env_file=None)
    assert (settings.log_format, settings.log_level) == ("json", "INFO")
    monkeypatch.setenv("HYBRIDAGENT_LOG_LEVEL", "warn")
    assert Settings(_env_file=None).log_level == "WARNING"
