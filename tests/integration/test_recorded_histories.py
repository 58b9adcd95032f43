"""Histories recorded from real runs (dev server, embedded model) replay on today's
workflows without non-determinism: refactors of routing, providers and workflows must
keep old runs replayable. Recorded by tests/data/record_histories.py on the worker of
- commit 1c509b1 (2026-12-02): the runs without a prefix below but the two user-agent ones;
- commit 16dd222 (2026-12-03): `agent_user_file` and `chat_user_agent`, runs of a user
  agent that start with resolve_agent, routing_setup and scan_privacy;
- the commit that added start_run (2026-12-03): `start_run_*`, runs that start with
  the one local activity;
- commit ed047e2 (2026-12-03): `chat_completion`, the HTTP API's ChatCompletionWorkflow.
Re-record only on an intended, documented break of replay compatibility."""

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
        "agent_user_file",  # a user agent's file resolved by the worker
        "chat_user_agent",  # the same in a chat session's Updates
        "start_run_private",  # since runs start with one local activity
        "start_run_user_file",
        "start_run_chat",
        "chat_completion",  # the HTTP API's ChatCompletionWorkflow
    }


@pytest.mark.parametrize("path", RECORDED, ids=[path.stem for path in RECORDED])
async def test_every_recorded_history_replays(path: Path) -> None:
    """Each file is the history of the finished run `recorded-<file name>`."""
    history = WorkflowHistory.from_json(f"recorded-{path.stem}", path.read_text())
    await replay(history, Settings(_env_file=None))  # type: ignore[call-arg]
