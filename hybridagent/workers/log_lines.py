"""Known faults in the worker's log as one line, not a traceback.

The Temporal SDK logs every failed activity attempt at WARNING with its traceback
("Completing activity as failed (…)"). For a fault hybridagent knows and names in a
sentence (a provider that does not answer, a model's own mistake, an attempt cut off by
its timeout) the traceback tells a user nothing the sentence does not, and buries the
lines that matter. Anything unexpected keeps its traceback, and `hybridagent -v` keeps
them all.
"""

from __future__ import annotations

import asyncio
import logging

from temporalio.exceptions import ApplicationError

from hybridagent.providers.errors import ProviderError

# Failures whose message is the whole story: ours, and errors raised as sentences.
KNOWN_FAULTS: tuple[type[BaseException], ...] = (
    ProviderError,
    ApplicationError,
    asyncio.CancelledError,
)
SDK_LOGGERS = ("temporalio.activity", "temporalio.worker._activity")


class KnownFaultsInOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, KNOWN_FAULTS):
            kind, why = type(error).__name__, str(error)
            if isinstance(error, ApplicationError):
                kind, why = error.type or kind, error.message
            why = why or "cancelled (its timeout passed, or the run no longer needs it)"
            record.msg = f"{record.getMessage()}: {kind}: {why}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def known_faults_in_one_line(verbose: bool) -> None:
    """Install the filter on the SDK's activity loggers, unless `verbose`."""
    if verbose:
        return
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, KnownFaultsInOneLine) for f in logger.filters):
            logger.addFilter(KnownFaultsInOneLine())
