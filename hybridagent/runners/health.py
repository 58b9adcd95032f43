"""The workers' view for `hybridagent health` and `hybridagent models`: is Temporal
reachable, who polls the task queue, and one worker's own report (HealthWorkflow).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import TimeoutError

from hybridagent.config import Settings
from hybridagent.routing.names import BUILTIN_NAMES
from hybridagent.runners.start import failure_sentence
from hybridagent.worker_health import CircuitStatus, LoadedModel, ModelListing, WorkerHealth
from hybridagent.workers.temporal_client import TemporalUnreachableError, connect

# A live worker answers in well under a second; a poller the server still lists for a
# worker that has died (it does so for minutes) must not make the CLI hang.
HEALTH_WAIT = timedelta(seconds=5)


@dataclass
class Poller:
    identity: str
    seconds_ago: float


@dataclass
class WorkersView:
    settings: Settings
    temporal_reachable: bool = False
    pollers: list[Poller] = field(default_factory=list)
    health: WorkerHealth | None = None
    problem: str | None = None  # one sentence: why there is no health report


async def task_queue_pollers(client: Client, task_queue: str) -> list[Poller]:
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    now = time.time()
    return [
        Poller(p.identity, max(0.0, now - p.last_access_time.ToSeconds()))
        for p in described.pollers
    ]


async def ask_workers(settings: Settings) -> WorkersView:
    """Never raises for an unreachable Temporal or absent workers: `problem` says which."""
    view = WorkersView(settings)
    queue = settings.task_queue
    try:
        client = await connect(settings)
    except TemporalUnreachableError as err:
        view.problem = str(err)
        return view
    view.temporal_reachable = True
    view.pollers = await task_queue_pollers(client, queue)
    if not view.pollers:
        view.problem = (
            f"No worker is polling task queue {queue!r}; start one with `hybridagent worker` "
            "or `hybridagent dev`."
        )
        return view
    try:
        view.health = await client.execute_workflow(
            "HealthWorkflow",
            id=f"health-{uuid.uuid4().hex[:12]}",
            task_queue=queue,
            execution_timeout=HEALTH_WAIT,
            result_type=WorkerHealth,
        )
    except WorkflowFailureError as err:
        if isinstance(err.cause, TimeoutError):
            view.problem = (
                f"No worker on task queue {queue!r} answered within "
                f"{HEALTH_WAIT.total_seconds():.0f} s (the pollers listed may have stopped)."
            )
        else:
            view.problem = f"The worker's health check failed: {failure_sentence(err)}"
    return view


def circuit_cell(circuit: CircuitStatus) -> str:
    """One provider's circuit in a few words: `open (ProviderUnreachableError, retry in
    25 s)`, `closed`, `closed (2 failures: ...)`."""
    if circuit.state == "open":
        return f"open ({circuit.last_failure}, retry in {circuit.retry_in_seconds:.0f} s)"
    if circuit.state == "half-open":
        return f"half-open ({circuit.last_failure}; next call probes)"
    if circuit.failures:
        return f"closed ({circuit.failures} failed: {circuit.last_failure})"
    return "closed"


def _size(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e8 else f"{size / 1e6:.0f} MB"


def loaded_line(models: list[LoadedModel]) -> str:
    if not models:
        return "none"
    parts = []
    for m in models:
        until = f", until {m.expires_at.astimezone():%H:%M:%S}" if m.expires_at else ""
        vram = f", {_size(m.size_vram)} in VRAM" if m.size_vram else ""
        parts.append(f"{m.name} ({_size(m.size)}{vram}{until})")
    return ", ".join(parts)


def circuits_table(health: WorkerHealth) -> Table:
    table = Table("provider", "state", "failures", "last failure", "retry in", "endpoint")
    prefixes = BUILTIN_NAMES.prefixes  # a backend registered on the worker: under others
    others = [c for c in health.circuits if c.provider not in prefixes]
    for prefix in prefixes:
        mine = [c for c in health.circuits if c.provider == prefix]
        for c in mine or [CircuitStatus(key="", provider=prefix, state="closed")]:
            table.add_row(
                prefix,
                c.state,
                str(c.failures),
                c.last_failure or "-",
                f"{c.retry_in_seconds:.0f} s" if c.state == "open" else "-",
                c.key or "-",
            )
    for c in others:
        table.add_row(c.provider, c.state, str(c.failures), c.last_failure or "-", "-", c.key)
    return table


def workers_summary(view: WorkersView) -> list[str]:
    """Temporal and task-queue lines of `hybridagent health`."""
    settings = view.settings
    if not view.temporal_reachable:
        return [f"Temporal     not reachable at {settings.temporal_address}"]
    lines = [
        f"Temporal     reachable at {settings.temporal_address} "
        f"(namespace {settings.temporal_namespace})"
    ]
    pollers = ", ".join(f"{p.identity} ({p.seconds_ago:.0f} s ago)" for p in view.pollers)
    count = len(view.pollers)
    lines.append(
        f"Task queue   {settings.task_queue!r}: {count} worker{'s' if count != 1 else ''} polling"
        + (f": {pollers}" if pollers else "")
    )
    return lines


def embedded_line(health: WorkerHealth) -> str:
    """`Embedded     up (pid 4242, 1 restart; last: killed by SIGKILL) at http://…`."""
    embedded = health.embedded
    if embedded is None:
        return "Embedded     not running on this worker"
    state = embedded.summary()
    log = f"; log {embedded.log_path}" if embedded.log_path else ""
    return f"Embedded     {state} at {embedded.endpoint}{log}"


def backend_line(row: ModelListing) -> str:
    """`fake         reachable at in-process: fake/echo` for a backend whose spec reports
    health (providers/registry.py)."""
    state = "reachable" if row.reachable else "not reachable"
    shown = ", ".join(row.models) or row.detail
    return f"{row.provider:<12} {state} at {row.endpoint}" + (f": {shown}" if shown else "")


def health_report(health: WorkerHealth) -> RenderableType:
    """The worker's own report: identity, default model, Ollama, the embedded model
    server, other backends that report health, circuits."""
    who = health.identity
    if who != f"{health.pid}@{health.hostname}":
        who += f" (pid {health.pid} on {health.hostname})"
    lines = [f"Worker       {who}; default model {health.default_model or 'none'}"]
    ollama = health.ollama
    if ollama is None:
        lines.append("Ollama       not configured on this worker")
    elif not ollama.reachable:
        lines.append(f"Ollama       {ollama.detail or 'not reachable'} at {ollama.host}")
    else:
        lines.append(f"Ollama       reachable at {ollama.host}")
        lines.append(f"  installed  {', '.join(ollama.installed) or 'none'}")
        lines.append(f"  loaded     {loaded_line(ollama.loaded)}")
        if ollama.detail:
            lines.append(f"  note       {ollama.detail}")
    lines.append(embedded_line(health))
    lines.extend(backend_line(row) for row in health.backends)
    lines.append("Circuits     (this worker process; a provider that keeps failing is skipped)")
    return Group(*(Text(line) for line in lines), circuits_table(health))


def models_footer(view: WorkersView) -> str:
    """The one line `hybridagent models` prints under its table about the workers."""
    health = view.health
    if health is None:
        return f"Workers: {view.problem} Circuit states come from a running worker."
    ollama = health.ollama
    loaded = loaded_line(ollama.loaded) if ollama and ollama.reachable else "Ollama not reachable"
    return (
        f"Worker {health.identity} on task queue {health.task_queue!r}: "
        f"default model {health.default_model or 'none'}; Ollama loaded: {loaded}"
    )
