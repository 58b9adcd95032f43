"""Known faults in the worker's log are one line; anything else keeps its traceback."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest
from temporalio.exceptions import ApplicationError

from hybridagent.providers.errors import ProviderUnreachableError
from hybridagent.workers.log_lines import KnownFaultsInOneLine


def record_of(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord(
        "temporalio.activity", logging.WARNING, __file__, 1,
        "Completing activity as failed (%s)", ({"activity_id": "3"},), info,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("error", "ending"),
    [
        (
            ProviderUnreachableError("Ollama is not reachable."),
            "ProviderUnreachableError: Ollama is not reachable.",
        ),
        (
            ApplicationError("There is no task 'x'.", type="NotFound"),
            "NotFound: There is no task 'x'.",
        ),
        (
            asyncio.CancelledError(),
            "CancelledError: cancelled (its timeout passed, or the run no longer needs it)",
        ),
    ],
)
def test_a_known_fault_is_one_line(error: BaseException, ending: str) -> None:
    record = record_of(error)
    assert KnownFaultsInOneLine().filter(record)
    line = logging.Formatter().format(record)
    assert line == "Completing activity as failed ({'activity_id': '3'}): " + ending


def test_an_unexpected_error_keeps_its_traceback() -> None:
    record = record_of(KeyError("surprise"))
    assert KnownFaultsInOneLine().filter(record)
    assert "Traceback" in logging.Formatter().format(record)
