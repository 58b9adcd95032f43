"""Histories recorded from real runs (dev server, embedded model, worker of commit
1c509b1, 2026-12-02) replay on today's workflows without non-determinism: refactors of
routing, providers and workflows must keep old runs replayable. Recorded by
tests/data/record_histories.py; re-record only on an intended, documented break of
replay compatibility."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from hybridagent.config import Settings
from tests.helpers import replay

HISTORIES = Path(__file__).parent.parent / "data" / "histories"
RECORDED = sorted(HISTORIES.glob("*.json"))


def test_the_recorded_set_covers_every_kind_of_run() -> None:
    assert {path.stem for path in RECORDED} >= {
        "agent_haiku_tool",  # a tool call as an activity
        "agent_fallback",  # a failed model call, then the fallback model
        "agent_private",  # a privacy-pinned run
        "agent_structured",  # an output schema
        "local_haiku",
        "coordinator",  # child workflows and the synthesis
        "chat_session",  # Updates, then end
    }


@pytest.mark.parametrize("path", RECORDED, ids=[path.stem for path in RECORDED])
async def test_every_recorded_history_replays(path: Path) -> None:
    """Each file is the history of the finished run `recorded-<file name>`."""
    history = WorkflowHistory.from_json(f"recorded-{path.stem}", path.read_text())
    await replay(history, Settings(_env_file=None))  # type: ignore[call-arg]
