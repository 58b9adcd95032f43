"""One logging setup for every process hybridagent starts (the worker, `serve`, `dev`,
the CLI): readable text by default, one JSON object per line when asked for
(HYBRIDAGENT_LOG_FORMAT=json), and every record scrubbed of secrets on its way out.

The scrubbing is a filter on the handler, not on loggers, so it sees every record that
reaches the output — ours, the Temporal SDK's, LiteLLM's, uvicorn's — after the message
is formatted and with its exception text: a key in an argument or in a traceback's
chained provider error is gone before anything is written.
"""

from __future__ import annotations

import json
import logging
import sys
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
    json_lines = log_format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
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
