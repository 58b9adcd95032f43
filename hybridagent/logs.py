"""One logging setup for every process hybridagent starts (the worker, `serve`, `dev`,
the CLI): readable text by default, one JSON object per line when asked for
(HYBRIDAGENT_LOG_FORMAT=json), and every record scrubbed of secrets on its way out.

The scrubbing is a filter on the handler, not on loggers, so it sees every record that
reaches the output — ours, the Temporal SDK's, LiteLLM's, uvicorn's — after the message
is formatted and with its exception text: a key in an argument or in a traceback's
chained provider error is gone before anything is written.

A second filter on the handler correlates: a record emitted while the API handles a
request carries that request's ID (a context variable the request middleware sets), and
one emitted in workflow or activity code carries the workflow and run IDs (the SDK's
own `temporal_workflow` / `temporal_activity` extra when its loggers made the record,
else the running workflow's or activity's info). JSON lines get them as fields
(`request_id`, `workflow_id`, `run_id`), text lines as a short bracketed suffix.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from itertools import chain
from typing import IO, Any, Literal

from hybridagent.routing.assignments import find_secret_assignments
from hybridagent.routing.secrets import find_secrets
from hybridagent.security.redact import MASK, redact

LogFormat = Literal["text", "json"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

# Start-up lines a person waits for ("worker on task queue …"): printed as they are in
# text, a record of this logger (always at INFO) in JSON, so every line stays JSON.
STATUS_LOGGER = "hybridagent.status"
# The Temporal SDK's Rust core, forwarded here (workers/temporal_client.py) instead of
# writing to the terminal itself.
CORE_LOGGER = "temporalio.core"
# LiteLLM puts a handler of its own on these at import; ours replaces it.
LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_format: LogFormat | None = None  # None until configure_logging ran in this process

# The correlation fields, in the order a text line's suffix shows them.
CORRELATION_FIELDS = ("request_id", "workflow_id", "run_id")
_request_id: ContextVar[str | None] = ContextVar("hybridagent_request_id", default=None)
_workflow_id: ContextVar[str | None] = ContextVar("hybridagent_workflow_id", default=None)


@contextmanager
def request_context(request_id: str) -> Iterator[None]:
    """Records emitted inside the block (and in tasks it starts) carry `request_id`, and
    the workflow ID once bind_workflow_id named one."""
    token, workflow_token = _request_id.set(request_id), _workflow_id.set(None)
    try:
        yield
    finally:
        _workflow_id.reset(workflow_token)
        _request_id.reset(token)


def current_request_id() -> str | None:
    """The request ID of the current context: the API's request, or on a worker the
    request whose workflow handler or activity this is (hybridagent/request_ids.py)."""
    return _request_id.get()


def bind_request_id(request_id: str) -> None:
    """For the rest of the current context (a workflow handler's or an activity's task),
    records carry `request_id`: the worker's side of request_context."""
    _request_id.set(request_id)


def bind_workflow_id(workflow_id: str) -> None:
    """For the rest of the current request (its context), records also carry the ID of
    the workflow it started or addressed."""
    _workflow_id.set(workflow_id)


def scrub(text: str) -> str:
    """`text` without the secrets the privacy detector's rules find (keys, tokens,
    named secrets, connection strings) nor those security/redact.py knows (bearer
    tokens, `?key=` parameters, passwords in URLs). The learned stage is not run: it
    looks for personal prose, not for secrets, and costs a model per line."""
    text = redact(text)
    found = chain(find_secrets(text), find_secret_assignments(text))
    spans = sorted((f.start, f.end) for f in found)
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + MASK + text[end:]
    return text


class RedactingFilter(logging.Filter):
    """Scrubs a record's formatted message (its arguments merged in), exception text and
    stack; the record leaves with no arguments and no live exception to re-render."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            message = f"{record.msg} (its arguments do not fit the format; not shown)"
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class CorrelationFilter(logging.Filter):
    """Sets `request_id`, `workflow_id` and `run_id` on every record (None when not
    known), scrubbed like the message (a client names its session's ID); values a caller
    put in `extra` win."""

    def filter(self, record: logging.LogRecord) -> bool:
        found = {"request_id": _request_id.get(), "workflow_id": _workflow_id.get()}
        found.update(_temporal_ids(record))
        for name in CORRELATION_FIELDS:
            value = getattr(record, name, None)
            if value is None:
                value = found.get(name)
            setattr(record, name, scrub(value) if isinstance(value, str) else None)
        return True


def _temporal_ids(record: logging.LogRecord) -> dict[str, str]:
    """The workflow and run IDs of the record's Temporal context: the SDK loggers' extra,
    else the workflow or activity running in this thread or task. The SDK modules are
    looked up, not imported: a process that never imported them runs neither."""
    activity_extra = getattr(record, "temporal_activity", None)
    if isinstance(activity_extra, Mapping):
        return _ids(activity_extra.get("workflow_id"), activity_extra.get("workflow_run_id"))
    workflow_extra = getattr(record, "temporal_workflow", None)
    if isinstance(workflow_extra, Mapping):
        return _ids(workflow_extra.get("workflow_id"), workflow_extra.get("run_id"))
    activity = sys.modules.get("temporalio.activity")
    if activity is not None and activity.in_activity():
        info = activity.info()
        return _ids(info.workflow_id, info.workflow_run_id)
    workflow = sys.modules.get("temporalio.workflow")
    if workflow is not None and workflow.in_workflow():
        winfo = workflow.info()
        return _ids(winfo.workflow_id, winfo.run_id)
    return {}


def _ids(workflow_id: object, run_id: object) -> dict[str, str]:
    pairs = (("workflow_id", workflow_id), ("run_id", run_id))
    return {name: value for name, value in pairs if isinstance(value, str) and value}


def correlation(record: logging.LogRecord) -> dict[str, str]:
    """The correlation fields CorrelationFilter set on `record`, the unknown left out."""
    fields = ((name, getattr(record, name, None)) for name in CORRELATION_FIELDS)
    return {name: value for name, value in fields if isinstance(value, str)}


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, then ` [request_id=… workflow_id=… run_id=…]` with what is known."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - stdlib name
        line = super().formatMessage(record)
        # The SDK's workflow and activity lines already name their IDs in the message.
        known = {k: v for k, v in correlation(record).items() if str(v) not in line}
        if not known:
            return line
        return f"{line} [{' '.join(f'{name}={value}' for name, value in known.items())}]"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and
    exception / stack when there is one, plus the Temporal SDK's workflow or activity
    context (IDs and types, never payloads) when the record carries it."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **correlation(record),
        }
        for extra in ("temporal_workflow", "temporal_activity"):
            context = getattr(record, extra, None)
            if isinstance(context, dict):
                entry["temporal"] = {k: _scrubbed(v) for k, v in context.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def _scrubbed(value: Any) -> Any:
    return scrub(value) if isinstance(value, str) else value


class _Handler(logging.StreamHandler[IO[str]]):
    """Ours, so a second configure_logging replaces it rather than adding another."""


def configure_logging(
    level: LogLevel = "WARNING", log_format: LogFormat = "text", *, stream: IO[str] | None = None
) -> logging.Handler:
    """Every record of the process to one handler on the root logger (stderr unless
    `stream`), at `level` and above, redacted, as text or JSON. Idempotent."""
    global _format
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(stream if stream is not None else sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.addFilter(CorrelationFilter())
    json_lines = log_format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger(STATUS_LOGGER).setLevel(logging.INFO)
    logging.captureWarnings(True)  # warnings.warn(...) as records, redacted and formatted
    _format = log_format
    adopt_litellm_logging()
    return handler


def adopt_litellm_logging() -> None:
    """Drop the handler LiteLLM adds to its loggers at import, once ours is in place:
    its records reach ours through the root logger (redacted, in our format), not twice."""
    if _format is None or "litellm._logging" not in sys.modules:
        return
    for name in LITELLM_LOGGERS:
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if not isinstance(h, _Handler)]:
            logger.removeHandler(handler)


def announce(message: str) -> None:
    """A start-up line for the person or the log collector watching: plain on stderr in
    text format (as it always was), a JSON record in JSON format."""
    if _format == "json":
        logging.getLogger(STATUS_LOGGER).info(message)
    else:
        print(message, file=sys.stderr, flush=True)
