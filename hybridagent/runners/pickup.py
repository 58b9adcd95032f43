"""Telling a user within seconds that no worker is taking their work.

A worker that was killed stays listed as a poller of its task queue for minutes, so the
poller list alone cannot say whether anyone will run a workflow. What can: a live worker
starts a new run's first workflow task within milliseconds. When that has not happened
after a few seconds, the poller list's last-access times say why.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHandle

from hybridagent.runners.run_errors import NoWorkerError, result_hint


@dataclass(frozen=True)
class QueueView:
    """Who has polled a task queue: how many pollers and how long since the latest poll."""

    pollers: int
    last_poll_seconds: float | None


async def queue_view(client: Client, task_queue: str) -> QueueView:
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    seen = [p.last_access_time.ToDatetime(UTC) for p in described.pollers]
    if not seen:
        return QueueView(0, None)
    latest = max(seen)
    return QueueView(len(seen), max(0.0, (datetime.now(UTC) - latest).total_seconds()))


def no_worker_sentence(task_queue: str, view: QueueView, waited: float) -> str:
    """Why nothing happened, in one sentence, with what to start."""
    start = "start one with `hybridagent worker` or `hybridagent dev`"
    if view.pollers == 0 or view.last_poll_seconds is None:
        return f"No worker is polling task queue {task_queue!r}; {start}."
    return (
        f"No worker took it within {waited:.0f} s: task queue {task_queue!r} was last polled "
        f"{view.last_poll_seconds:.0f} s ago (a stopped worker stays listed for a few "
        f"minutes); {start}."
    )


async def picked_up(handle: WorkflowHandle[Any, Any], within: float) -> bool:
    """Whether a worker starts the run's first workflow task within `within` seconds.

    Follows the history with a long poll (each new event arrives as it is written), so
    a live worker is noticed at once and a missing one costs exactly `within`.
    """
    try:
        async with asyncio.timeout(within):
            async for event in handle.fetch_history_events(wait_new_event=True):
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                    return True
    except TimeoutError:
        return False
    return True  # the run closed (e.g. terminated) before any worker saw it


async def pickup_problem(
    client: Client, handle: WorkflowHandle[Any, Any], task_queue: str, within: float
) -> str | None:
    """Why no worker took the run within `within` seconds, or None if one did."""
    if await picked_up(handle, within):
        return None
    return no_worker_sentence(task_queue, await queue_view(client, task_queue), within)


async def require_pickup(
    client: Client, handle: WorkflowHandle[Any, Any], task_queue: str, within: float
) -> None:
    """NoWorkerError, naming the run and how to get its result, if no worker took it."""
    sentence = await pickup_problem(client, handle, task_queue, within)
    if sentence is None:
        return
    raise NoWorkerError(f"{sentence}\nRun {handle.id} stays queued; {result_hint(handle.id)}")
