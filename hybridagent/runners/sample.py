"""Shared body of the run-a-sample scripts: start, wait, print answer and Web UI link."""

from __future__ import annotations

import asyncio
import uuid

from temporalio.client import WorkflowFailureError

from hybridagent.config import Settings
from hybridagent.runners.cli import exit_now, fail, run_cli_command
from hybridagent.runners.start import failure_sentence
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput, HaikuInput


async def _run(workflow: str, argv: list[str]) -> None:
    settings = Settings()
    request = HaikuInput(**dict(zip(("prompt", "model"), argv, strict=False)))
    client = await connect(settings)
    workflow_id = f"{workflow.lower()}-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        workflow,
        request,
        id=workflow_id,
        task_queue=settings.task_queue,
        result_type=AgentRunOutput,
    )
    url = settings.workflow_url(workflow_id, handle.first_execution_run_id)
    try:
        result = await handle.result()
    except WorkflowFailureError as err:
        fail(f"{failure_sentence(err)}\nWeb UI: {url}")
    print(result.final_output.strip())
    print(f"model: {', '.join(result.models_used)}\nWeb UI: {url}")


def run_sample(workflow: str, argv: list[str]) -> None:
    exit_now(lambda: run_cli_command(lambda: asyncio.run(_run(workflow, argv))))
