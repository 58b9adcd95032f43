"""`hybridagent coordinate`: one request to several specialists through CoordinatorWorkflow."""

from __future__ import annotations

import uuid

from temporalio.client import WorkflowFailureError

from hybridagent.config import Settings
from hybridagent.runners.pickup import require_pickup
from hybridagent.runners.start import failure_sentence, model_calls
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.coordinator import CoordinatorInput, CoordinatorOutput


async def coordinate(settings: Settings, request: CoordinatorInput) -> tuple[str, bool]:
    """The text to print, and whether the run succeeded."""
    client = await connect(settings)
    workflow_id = f"hybridagent-coord-{uuid.uuid4().hex[:12]}"
    handle = await client.start_workflow(
        "CoordinatorWorkflow", request, id=workflow_id, task_queue=settings.task_queue,
        result_type=CoordinatorOutput,
    )  # fmt: skip
    url = settings.workflow_url(workflow_id, handle.first_execution_run_id)
    await require_pickup(client, handle, settings.task_queue, settings.pickup_seconds)
    try:
        result = await handle.result()
    except WorkflowFailureError as err:
        return f"{failure_sentence(err)}\nWeb UI: {url}", False
    return coordinator_report(result, url), True


def coordinator_report(result: CoordinatorOutput, url: str) -> str:
    """What `coordinate` and `result` print for a finished CoordinatorWorkflow."""
    lines = [f"specialists ({result.chosen_by}): {', '.join(s.agent for s in result.specialists)}"]
    if result.pinned_local:
        lines.append("private data found: every specialist stayed on local models")
    for answer in result.specialists:
        lines += ["", f"## {answer.agent} ({', '.join(answer.models_used)})", answer.final_output]
    usage = result.usage
    lines += [
        "",
        "## answer",
        result.final_output.strip(),
        "",
        f"models: {', '.join(result.models_used)}  tokens: {usage.total_tokens} "
        f"({model_calls(usage)})",
        f"Web UI: {url}",
    ]
    return "\n".join(lines)
