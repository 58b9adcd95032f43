"""`hybridagent result ID`: wait for a run started earlier and print what `run` would have."""

from __future__ import annotations

import json
import sys
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from hybridagent.config import Settings
from hybridagent.runners.pickup import pickup_problem
from hybridagent.runners.run_errors import UnknownRunError
from hybridagent.runners.start import RunOutcome, failure_sentence, report, temporal_lost
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.coordinator import CoordinatorOutput
from hybridagent.workflows.io import AgentRunOutput

AGENT_RUNS = {"AgentWorkflow", "LocalHaikuWorkflow", "LitellmHaikuWorkflow"}


async def run_result(settings: Settings, workflow_id: str) -> tuple[str, bool]:
    """The text to print for the run's outcome, and whether it succeeded."""
    client = await connect(settings)
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise UnknownRunError(
                f"There is no run {workflow_id!r} in namespace {settings.temporal_namespace!r} "
                f"at {settings.temporal_address}; `temporal workflow list` shows the runs."
            ) from None
        raise
    kind = description.workflow_type
    if kind == "ChatSessionWorkflow":
        return (
            f"{workflow_id} is a chat session: `hybridagent sessions show {workflow_id}`.",
            True,
        )
    url = settings.workflow_url(workflow_id)
    try:
        if description.status == WorkflowExecutionStatus.RUNNING:
            # `result` waits as asked, but says so when no worker has taken the run.
            problem = await pickup_problem(
                client, handle, description.task_queue, settings.pickup_seconds
            )
            if problem:
                print(
                    f"warning: {problem} Waiting; Ctrl-C stops waiting and the run stays queued.",
                    file=sys.stderr,
                    flush=True,
                )
        result = await handle.result()
    except WorkflowFailureError as err:
        return f"{failure_sentence(err)}\nWeb UI: {url}", False
    except RPCError as err:
        raise temporal_lost(settings, workflow_id, err) from None
    return _render(kind, result, workflow_id, url), True


def _render(kind: str, result: Any, workflow_id: str, url: str) -> str:
    from hybridagent.runners.coordinate import coordinator_report

    if kind in AGENT_RUNS:
        output = AgentRunOutput.model_validate(result)
        return report(RunOutcome(workflow_id, url, result=output))
    if kind == "CoordinatorWorkflow":
        return coordinator_report(CoordinatorOutput.model_validate(result), url)
    return json.dumps(result, indent=2, ensure_ascii=False, default=str) + f"\nWeb UI: {url}"
