"""What can go wrong while the CLI waits for a run; each is one sentence for the user.

Plain exceptions in a module of their own, so the CLI can name them without importing
the Temporal client stack.
"""

from __future__ import annotations

from hybridagent.errors import UserError, UserMistake


class NoWorkerError(UserError, RuntimeError):
    """No worker took a run (or answered a session) in time; the work stays queued."""


class TemporalLostError(UserError, RuntimeError):
    """Temporal stopped answering while we waited for a run; the run itself goes on."""


class UnknownRunError(UserMistake, RuntimeError):
    """No workflow with that ID exists in the namespace."""


def result_hint(workflow_id: str) -> str:
    return f"its result, once it finishes: hybridagent result {workflow_id}"
