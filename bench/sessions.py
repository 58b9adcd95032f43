"""Durable chat sessions (ChatSessionWorkflow): per-message cost, agent and model
switches mid-conversation, and the worker's memory with many sessions open.

The worker runs in its own process (this script with --worker) on the real dev server,
with an instant scripted model, so every figure is orchestration, not model time:
  trivial Update     a no-op Update on a tiny workflow on the same worker (the floor)
  chat send          execute_update("send") on one session; the whole conversation goes
                     to the agent on every message, so later messages carry more
  AgentWorkflow run  one AgentWorkflow per message (start + result), no session
Switch: `change` (agent general <-> math-tutor, or model) plus the next `send`, minus
the `send` just before it on the same session. Memory: the worker's RSS idle, warmed up,
and with N sessions open (a few messages each, so their state is in the worker's cache).

Usage: python bench/sessions.py [--messages 200] [--switches 20] [--sessions 100]
           [--per-session 3] [--activities regular|local|both] [--context 1000000]
       python bench/sessions.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from temporalio import workflow

# The sandbox re-imports this module for PingWorkflow: everything else passes through.
with workflow.unsafe.imports_passed_through():
    from agents import set_trace_processors
    from temporalio.api.enums.v1 import EventType
    from temporalio.api.history.v1 import HistoryEvent
    from temporalio.client import Client, WorkflowHandle
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from hybridagent.config import Settings
    from hybridagent.providers.hybrid import HybridModelProvider
    from hybridagent.runners.devserver import DEV_SERVER_ARGS, temporal_binary
    from hybridagent.testing.scripted_model import ScriptedBackend, ScriptedModel
    from hybridagent.workers.plugin import (
        HEARTBEAT_THROTTLE,
        WORKFLOWS,
        activities,
        build_plugin,
        workflow_runner,
    )
    from hybridagent.workers.temporal_client import connect
    from hybridagent.workflows.chat_session import ChatReply, SessionState

Call = Callable[[], Awaitable[Any]]
T = TypeVar("T")
BLOCKS = 5
MAX_CACHED_DEFAULT = 1000  # temporalio's Worker default; build_worker leaves it alone
QUICK_SIZES = {"messages": 5, "switches": 2, "sessions": 4, "per_session": 1}
QUICK_HELP = "a few iterations, under a minute: checks the bench still runs (make bench-quick)"


@workflow.defn
class PingWorkflow:
    """The floor: an Update that does nothing on a workflow that does nothing."""

    def __init__(self) -> None:
        self._done = False
        self._count = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._done)
        return self._count

    @workflow.update
    def ping(self) -> int:
        self._count += 1
        return self._count

    @workflow.update
    def done(self) -> None:
        self._done = True


# --- the worker process -------------------------------------------------------------


def rss_kib() -> int:
    """This process's resident set size (psutil is not installed here)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


async def run_worker(address: str, queue: str, local: bool, max_cached: int, context: int) -> None:
    """hybridagent's worker as build_worker makes it, plus PingWorkflow, on a scripted model.
    Answers `stats` on stdin with RSS and cached-workflow count; stops on `stop` or EOF."""
    set_trace_processors([])
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as state_dir:
        await _serve(address, queue, local, max_cached, context, state_dir)


async def _serve(
    address: str, queue: str, local: bool, max_cached: int, context: int, state_dir: str
) -> None:
    settings = Settings(
        _env_file=None,
        temporal_address=address,
        task_queue=queue,
        embedded="off",
        use_local_activities=local,
        model_start_to_close_seconds=30.0,
        embedded_context=context,
        state_dir=Path(state_dir),
    )
    provider = HybridModelProvider({"local": ScriptedBackend(ScriptedModel())}, "local/scripted")
    client = await connect(settings, plugins=[build_plugin(settings, provider)])
    # build_worker's Worker, with PingWorkflow added and the cache size set.
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[*WORKFLOWS, PingWorkflow],
        activities=activities(settings, provider, identity=client.identity),
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        max_cached_workflows=max_cached,
        workflow_runner=workflow_runner(),
    )
    loop = asyncio.get_running_loop()
    async with worker:
        print("BENCH " + json.dumps({"ready": True}), flush=True)
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if line != "stats":
                break
            gc.collect()
            # Private, but the only way to see the cache: run id -> running workflow.
            running = getattr(getattr(worker, "_workflow_worker", None), "_running_workflows", {})
            stats = {"rss_kib": rss_kib(), "cached": len(running), "max_cached": max_cached}
            print("BENCH " + json.dumps(stats), flush=True)


class WorkerProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(
        cls, address: str, queue: str, *, local: bool, max_cached: int, context: int
    ) -> WorkerProcess:
        args = ["--worker", address, "--task-queue", queue, "--max-cached", str(max_cached)]
        args += ["--context", str(context)]
        process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, *args, *(["--local-activities"] if local else []),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        started = cls(process)
        await asyncio.wait_for(started.reply(), 120)
        return started

    async def reply(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            line = (await self.process.stdout.readline()).decode()
            if not line:
                raise RuntimeError(f"the worker process exited ({self.process.returncode})")
            if line.startswith("BENCH "):
                answer: dict[str, Any] = json.loads(line[6:])
                return answer

    async def stats(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(b"stats\n")
        await self.process.stdin.drain()
        return await self.reply()

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        try:
            await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


# --- measuring ----------------------------------------------------------------------


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


async def clock(awaitable: Awaitable[T]) -> tuple[T, float]:
    """The awaitable's result and how long it took, in ms."""
    start = time.perf_counter()
    result = await awaitable
    return result, (time.perf_counter() - start) * 1000


async def timed(runs: int, call: Call) -> list[float]:
    return [(await clock(call()))[1] for _ in range(runs)]


async def open_session(client: Client, queue: str, **input: Any) -> WorkflowHandle[Any, Any]:
    workflow_id = f"bench-chat-{uuid.uuid4().hex[:12]}"
    await client.start_workflow(
        "ChatSessionWorkflow", input, id=workflow_id, task_queue=queue, result_type=SessionState
    )
    # No run id: Updates go to the current run, across continue-as-new.
    return client.get_workflow_handle(workflow_id, result_type=SessionState)


async def send(handle: WorkflowHandle[Any, Any], text: str) -> ChatReply:
    reply: ChatReply = await handle.execute_update("send", text, result_type=ChatReply)
    return reply


async def change(handle: WorkflowHandle[Any, Any], **what: str) -> SessionState:
    state: SessionState = await handle.execute_update("change", what, result_type=SessionState)
    return state


async def end(handle: WorkflowHandle[Any, Any]) -> None:
    await handle.execute_update("end", result_type=SessionState)
    await handle.result()


def ms(event: HistoryEvent) -> float:
    return event.event_time.ToNanoseconds() / 1e6


def update_spans(events: list[HistoryEvent]) -> list[dict[str, float]]:
    """Server-side time of each completed Update, from the workflow task its request
    scheduled to the Update's completion, split by where it went (event timestamps)."""
    spans: list[dict[str, float]] = []
    span: dict[str, float] = defaultdict(float)
    start: float | None = None
    wft_scheduled = wft_started = 0.0
    activity_times: dict[int, float] = {}
    for event in events:
        t, kind = ms(event), event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            wft_scheduled = t
            start = t if start is None else start
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            span["workflow task queued"] += t - wft_scheduled
            wft_started = t
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            span["workflow task on worker"] += t - wft_started
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activity_times[event.event_id] = t
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            scheduled = event.activity_task_started_event_attributes.scheduled_event_id
            span["activity queued"] += t - activity_times[scheduled]
            activity_times[event.event_id] = t
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            started = event.activity_task_completed_event_attributes.started_event_id
            span["activity running"] += t - activity_times[started]
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED and start:
            span["server total"] = t - start
            spans.append(span)
            span, start = defaultdict(float), None
    return spans


async def session_shape(client: Client, handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """Runs, size of the current run, and the server-side spans of every send in order
    (each run's first span left out: it includes the run's start)."""
    runs = [r async for r in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    spans: list[dict[str, float]] = []
    for run in sorted(runs, key=lambda r: r.start_time):
        run_handle = client.get_workflow_handle(handle.id, run_id=run.run_id)
        spans += update_spans([e async for e in run_handle.fetch_history_events()])[1:]
    info = (await handle.describe()).raw_description.workflow_execution_info
    return {
        "runs": len(runs),
        "events": info.history_length,
        "bytes": info.history_size_bytes,
        "spans": spans,
    }


def row(name: str, samples: list[float], base: float | None = None) -> str:
    p50, p99 = percentiles(samples)
    extra = f" {p50 - base:+10.2f} {p50 / base:7.1f}" if base else ""
    return f"{name:34} {p50:8.2f} {p99:8.2f}{extra}"


# --- the three sections -------------------------------------------------------------


async def per_message(
    client: Client, queue: str, messages: int
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    ping = await client.start_workflow(
        PingWorkflow.run, id=f"bench-ping-{uuid.uuid4().hex[:12]}", task_queue=queue
    )
    session = await open_session(client, queue)
    counter = iter(range(10**9))

    async def agent_run() -> None:
        await client.execute_workflow(
            "AgentWorkflow", {"prompt": "hi"}, id=f"bench-run-{uuid.uuid4().hex}", task_queue=queue
        )

    async def chat() -> None:
        await send(session, f"Message {next(counter)}: tell me something.")

    variants: dict[str, Call] = {
        "trivial Update": lambda: ping.execute_update(PingWorkflow.ping),
        "chat send": chat,
        "AgentWorkflow run (start+result)": agent_run,
    }
    warm = await open_session(client, queue)
    for _ in range(5):
        await ping.execute_update(PingWorkflow.ping)
        await send(warm, "warm-up")
        await agent_run()
    await end(warm)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(BLOCKS):  # take turns in blocks, so drift hits every variant alike
        for name, call in variants.items():
            samples[name] += await timed(messages // BLOCKS, call)
    shape = await session_shape(client, session)
    await end(session)
    await ping.execute_update(PingWorkflow.done)
    return samples, shape


async def switches(client: Client, queue: str, count: int) -> dict[str, list[float]]:
    """`count` agent switches, then `count` model switches, each beside a normal send."""
    out: dict[str, list[float]] = {}
    kinds: dict[str, tuple[str, list[str]]] = {
        "agent": ("agent", ["math-tutor", "general"]),
        "model": ("model", ["local/scripted", ""]),  # "" = back to the default
    }
    for kind, (field, targets) in kinds.items():
        session = await open_session(client, queue)
        for n in range(4):
            await send(session, f"Warm-up {n}.")
        normal: list[float] = []
        changing: list[float] = []
        after: list[float] = []
        for n in range(count):
            target = targets[n % 2]
            _, took = await clock(send(session, "A normal message."))
            normal.append(took)
            state, took = await clock(change(session, **{field: target}))
            changing.append(took)
            reply, took = await clock(send(session, "The first message after the switch."))
            after.append(took)
            if kind == "agent":
                assert state.agent == reply.agent == target, (state, reply.agent, target)
        total = [c + a - s for s, c, a in zip(normal, changing, after, strict=True)]
        await end(session)
        out.update({
            f"{kind}: send before the switch": normal,
            f"{kind}: change Update": changing,
            f"{kind}: first send after it": after,
            f"{kind}: switch cost (change+send-send)": total,
        })  # fmt: skip
    return out


async def memory(
    client: Client,
    address: str,
    *,
    kind: str,
    local: bool,
    count: int,
    per_open: int,
    context: int,
) -> list[tuple[str, dict[str, Any]]]:
    """The RSS of a fresh worker process with `count` chat sessions (or PingWorkflows)
    open, `per_open` messages (pings) each, after the same warm-up."""
    queue = f"bench-sessions-mem-{uuid.uuid4().hex[:6]}"
    max_cached = max(MAX_CACHED_DEFAULT, count + 10)
    worker = await WorkerProcess.start(
        address, queue, local=local, max_cached=max_cached, context=context
    )

    async def open_one(kind: str) -> Call:
        """Opens one, returns what ends it."""
        if kind == "chat":
            handle = await open_session(client, queue)
            for n in range(per_open):
                await send(handle, f"Message {n} of a session that stays open.")
            return lambda: end(handle)
        ping = await client.start_workflow(
            PingWorkflow.run, id=f"bench-ping-{uuid.uuid4().hex[:12]}", task_queue=queue
        )
        for _ in range(per_open):
            await ping.execute_update(PingWorkflow.ping)

        async def done() -> None:
            await ping.execute_update(PingWorkflow.done)
            await ping.result()

        return done

    readings = [("worker idle (nothing run yet)", await worker.stats())]
    try:
        for _ in range(3):  # the same warm-up for both kinds
            for warm in ("chat", "ping"):
                await (await open_one(warm))()
            await client.execute_workflow(
                "AgentWorkflow", {"prompt": "hi"}, id=f"bench-run-{uuid.uuid4().hex}",
                task_queue=queue,
            )  # fmt: skip
        readings.append(("warmed up (3 of each ended)", await worker.stats()))
        gate = asyncio.Semaphore(10)
        closers: list[Call] = []

        async def one() -> None:
            async with gate:
                closers.append(await open_one(kind))

        half = count // 2
        await asyncio.gather(*(one() for _ in range(half)))
        readings.append((f"{half} open", await worker.stats()))
        await asyncio.gather(*(one() for _ in range(count - half)))
        readings.append((f"{count} open", await worker.stats()))
        await asyncio.gather(*(close() for close in closers))
        readings.append(("all ended", await worker.stats()))
    finally:
        await worker.stop()
    return readings


# --- main ---------------------------------------------------------------------------


def show_per_message(samples: dict[str, list[float]], shape: dict[str, Any]) -> None:
    base = percentiles(samples["trivial Update"])[0]
    print(f"{'per message':34} {'p50 ms':>8} {'p99 ms':>8} {'- trivial':>10} {'x':>7}")
    for name, values in samples.items():
        print(row(name, values, None if name == "trivial Update" else base))
    sends = samples["chat send"]
    n = min(50, len(sends) // 2)
    if n >= 10:
        print(row(f"chat send, first {n} messages", sends[:n], base))
        print(row(f"chat send, last {n} messages", sends[-n:], base))
    print(
        f"the session: {shape['runs']} run(s) (continue-as-new), current run "
        f"{shape['events']} events, {shape['bytes'] / 1024:.0f} KiB"
    )
    spans: list[dict[str, float]] = shape["spans"]
    n = min(50, len(spans) // 2)
    if n < 10:
        return
    parts = [(sends[:n], spans[:n]), (sends[-n:], spans[-n:])]
    print(f"where a send's time goes, mean ms over the first {n} and the last {n} messages")
    print(f"  {'client round trip':32} {statistics.fmean(parts[0][0]):8.2f} "
          f"{statistics.fmean(parts[1][0]):8.2f}")  # fmt: skip
    keys = sorted({key for span in spans for key in span}, key=lambda k: -spans[-1].get(k, 0))
    for key in keys:
        means = [statistics.fmean(span.get(key, 0.0) for span in part) for _, part in parts]
        label = key if key == "server total" else f"  {key}"
        print(f"  {label:32} {means[0]:8.2f} {means[1]:8.2f}")
    rest = [
        statistics.fmean(trips) - statistics.fmean(span["server total"] for span in part)
        for trips, part in parts
    ]
    print(f"  {'client and RPCs (the rest)':32} {rest[0]:8.2f} {rest[1]:8.2f}")


async def main(args: argparse.Namespace) -> None:
    modes = {"regular": [False], "local": [True], "both": [False, True]}[args.activities]
    print(
        f"# sessions  {platform.machine()}  Python {platform.python_version()}  "
        f"messages={args.messages} switches={args.switches} sessions={args.sessions}  "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        dev_server_extra_args=DEV_SERVER_ARGS,
        dev_server_log_level="error",
    )
    address = env.client.service_client.config.target_host
    try:
        client = await connect(Settings(_env_file=None, temporal_address=address))
        for local in modes:
            kind = "local" if local else "regular"
            queue = f"bench-sessions-{kind}-{uuid.uuid4().hex[:6]}"
            worker = await WorkerProcess.start(
                address, queue, local=local, max_cached=MAX_CACHED_DEFAULT, context=args.context
            )
            try:
                samples, shape = await per_message(client, queue, args.messages)
                switched = await switches(client, queue, args.switches)
            finally:
                await worker.stop()
            print(f"\n## {kind} activities (model call and routing setup)")
            show_per_message(samples, shape)
            print(f"\n{'switch (n=' + str(args.switches) + ')':34} {'p50 ms':>8} {'p99 ms':>8}")
            for name, values in switched.items():
                print(row(name, values))
            print(f"load average now {os.getloadavg()[0]:.2f}")
        memory_readings = {
            kind: await memory(
                client,
                address,
                kind=kind,
                local=modes[0],
                count=args.sessions,
                per_open=args.per_session,
                context=args.context,
            )  # fmt: skip
            for kind in ("chat", "ping")
        }
    finally:
        await env.shutdown()
    print(
        f"\n## worker memory ({'local' if modes[0] else 'regular'} activities; a fresh worker "
        f"process each; {args.per_session} messages per chat session, as many pings per "
        f"PingWorkflow)"
    )
    print(f"{'when':34} {'RSS MiB':>8} {'cached':>7}")
    for kind, readings in memory_readings.items():
        what = "chat sessions" if kind == "chat" else "PingWorkflows"
        for when, stats in readings:
            when = when.replace("open", f"{what} open")
            print(f"{when:34} {stats['rss_kib'] / 1024:8.1f} {stats['cached']:7}")
        warm, half, full = (readings[i][1]["rss_kib"] for i in (1, 2, 3))
        half_n = args.sessions // 2
        print(
            f"  per open {what[:-1]}: {(full - warm) / args.sessions:.0f} KiB (warmed up -> "
            f"{args.sessions}), {(full - half) / (args.sessions - half_n):.0f} KiB "
            f"({half_n} -> {args.sessions})"
        )
    print(f"max_cached_workflows={memory_readings['chat'][0][1]['max_cached']}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200, help="sends timed per variant")
    parser.add_argument("--switches", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=100, help="open sessions for memory")
    parser.add_argument("--per-session", type=int, default=3, help="messages per open session")
    parser.add_argument("--activities", choices=["regular", "local", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    parser.add_argument(
        "--context",
        type=int,
        default=1_000_000,
        help="the scripted model's context window in tokens: routing refuses a longer "
        "conversation, and the default 4096 is too small for 200 messages",
    )
    # The worker process (started by the bench itself).
    parser.add_argument("--worker", metavar="ADDRESS", help=argparse.SUPPRESS)
    parser.add_argument("--task-queue", help=argparse.SUPPRESS)
    parser.add_argument(
        "--max-cached", type=int, default=MAX_CACHED_DEFAULT, help=argparse.SUPPRESS
    )
    parser.add_argument("--local-activities", action="store_true", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.quick:
        vars(parsed).update(QUICK_SIZES)
    if parsed.worker:
        asyncio.run(
            run_worker(
                parsed.worker,
                parsed.task_queue,
                parsed.local_activities,
                parsed.max_cached,
                parsed.context,
            )
        )
    else:
        asyncio.run(main(parsed))
        # The client's Rust threads can abort interpreter teardown ("PyGILState_Release:
        # thread state ... must be current", temporalio/sdk-python#300): skip it.
        sys.stdout.flush()
        os._exit(0)
