"""`hybridagent models pull NAME`: start (or join) PullModelWorkflow and show its progress.

The figures are the pull activity's heartbeat details, read from the workflow's
description: a workflow cannot see its activities' heartbeats, so it has nothing to
answer a query with, and this is what the Web UI shows too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle

from hybridagent.activity_io import PullProgress, PullResult, full_name
from hybridagent.config import Settings
from hybridagent.routing.names import BUILTIN_NAMES, UnknownModelError
from hybridagent.runners.start import failure_sentence, warn_without_workers
from hybridagent.workers.ollama_models import start_pull
from hybridagent.workers.temporal_client import connect

POLL_SECONDS = 0.5


@dataclass
class Seen:
    """What the pending pull activity last reported."""

    progress: PullProgress
    attempt: int
    worker: str


@dataclass
class PullOutcome:
    workflow_id: str
    url: str
    result: PullResult | None = None
    error: str | None = None


def ollama_model_name(name: str) -> str:
    """`llama3.2`, `ollama/llama3.2:3b`, `library/llama3.2`; other prefixes are refused."""
    prefix = name.split("/", 1)[0]
    if "/" in name and prefix in BUILTIN_NAMES.prefixes and prefix != "ollama":
        raise UnknownModelError(
            f"Only Ollama models can be pulled, and {name!r} is not one "
            "(name an Ollama model, e.g. llama3.2:3b)."
        )
    return full_name(name)


async def poll_pull(
    client: Client, handle: WorkflowHandle[Any, PullResult]
) -> tuple[bool, Seen | None]:
    """(still running, the running attempt's last heartbeat details if any)."""
    description = await handle.describe()
    if description.status != WorkflowExecutionStatus.RUNNING:
        return False, None
    for pending in description.raw_description.pending_activities:
        if pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED:
            continue  # waiting for a worker: the details are an earlier attempt's
        if not pending.heartbeat_details.payloads:
            return True, None
        [progress] = await client.data_converter.decode(
            pending.heartbeat_details.payloads, [PullProgress]
        )
        return True, Seen(progress, pending.attempt, pending.last_worker_identity)
    return True, None


async def pull_model(
    settings: Settings, name: str, on_progress: Callable[[Seen], None]
) -> PullOutcome:
    model = ollama_model_name(name)
    client = await connect(settings)
    handle = await start_pull(client, settings, model)
    outcome = PullOutcome(handle.id, settings.workflow_url(handle.id, handle.result_run_id))
    await warn_without_workers(client, settings.task_queue)
    while True:
        running, seen = await poll_pull(client, handle)
        if not running:
            break
        if seen is not None:
            on_progress(seen)
        await asyncio.sleep(POLL_SECONDS)  # another process's progress: nothing to await
    try:
        outcome.result = await handle.result()
    except WorkflowFailureError as err:
        outcome.error = failure_sentence(err)
    return outcome


def _percent(progress: PullProgress) -> int | None:
    if not progress.total:
        return None
    return min(100, int(100 * (progress.completed or 0) / progress.total))


def status_text(progress: PullProgress) -> str:
    """Ollama's status with the layer's digest shortened, as `ollama pull` shows it."""
    digest = progress.digest
    if not digest:
        return progress.status
    return progress.status.replace(digest, digest.removeprefix("sha256:")[:12])


def progress_line(seen: Seen) -> str:
    progress = seen.progress
    percent = _percent(progress)
    figures = (
        f" {percent}% of {progress.total / 1e6:.1f} MB"
        if percent is not None and progress.total
        else ""
    )
    again = f" (attempt {seen.attempt})" if seen.attempt > 1 else ""
    return f"{status_text(progress)}{figures}{again}"


@contextmanager
def show_progress(console: Console) -> Iterator[Callable[[Seen], None]]:
    """A rich progress bar on a terminal; elsewhere (logs, CI) a line per status and per
    10 %, so the output stays readable."""
    if not console.is_terminal:
        printed: set[str] = set()

        def print_line(seen: Seen) -> None:
            percent = _percent(seen.progress)
            key = f"{seen.attempt} {seen.progress.status} {(percent or 0) // 10}"
            if key not in printed:
                printed.add(key)
                console.print(progress_line(seen), highlight=False, soft_wrap=True)

        yield print_line
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("waiting for a worker", total=None)

        def update(seen: Seen) -> None:
            again = f" (attempt {seen.attempt})" if seen.attempt > 1 else ""
            bar.update(
                task,
                description=status_text(seen.progress)[:40] + again,
                total=seen.progress.total,
                completed=seen.progress.completed or 0,
            )

        yield update


def report_pull(outcome: PullOutcome) -> str:
    result = outcome.result
    assert result is not None
    resumed = ""
    if result.resumed_from is not None:
        where = progress_line(Seen(result.resumed_from, 1, ""))
        resumed = f"; resumed where an interrupted attempt stopped ({where})"
    return (
        f"pulled {result.model}: {result.layers} layers, {result.bytes / 1e6:.1f} MB{resumed}\n"
        f"Web UI: {outcome.url}"
    )
