"""Where one ChatCompletionWorkflow's time goes: a step-by-step timeline of the worker.

The HTTP API's completion is one run of ChatCompletionWorkflow; bench/gateway.py says
what it costs end to end and bench/temporal_steps.py what a trivial run costs. This
one runs the real worker (workers.main.serve, local activities, the recording stub as
the cloud model, its own process) in this process, starts runs one after another from
a client here, and stamps each step the worker's side of the Temporal SDK takes: an
activation polled from the SDK's core, the workflow code run on it (in the workflow
thread), its completion sent and acknowledged, each local activity's function. The
median of each gap over the runs is the breakdown; the rest of a run is the server's
(start, the workflow task's completion, the result's long poll).

The stamps wrap private methods of temporalio 1.35's worker (`temporalio.bridge.worker
.Worker`, `temporalio.worker._workflow`): fine for a bench, which prints figures and
never gates anything; a newer SDK that renames them fails here loudly.

Usage: python bench/completion_steps.py [--runs 200 | --quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import temporalio.bridge.worker as bridge  # noqa: E402
import temporalio.worker._activity as activity_worker  # noqa: E402
import temporalio.worker._workflow as workflow_worker  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from hybridagent.config import Settings  # noqa: E402
from hybridagent.providers.embedded import free_loopback_port  # noqa: E402
from hybridagent.runners.devserver import DEV_SERVER_ARGS, temporal_binary  # noqa: E402
from hybridagent.workers.main import serve  # noqa: E402
from hybridagent.workers.temporal_client import connect  # noqa: E402
from hybridagent.workflows.completion_io import CompletionInput, CompletionOutput  # noqa: E402

MODEL = "openai/gpt-4o-mini"
QUEUE = "completion-steps"
Timeline = list[tuple[float, str]]  # (perf_counter, step)
STAMPS: Timeline = []
STUB = (
    "import sys\nfrom hybridagent.testing.stub_server import StubServer\n"
    "with StubServer() as stub:\n    print(stub.base_url, flush=True)\n    sys.stdin.readline()\n"
)


def stamp(label: str) -> None:
    STAMPS.append((time.perf_counter(), label))


def stamp_async(owner: Any, name: str, label: Callable[..., str]) -> None:
    original = getattr(owner, name)

    async def stamped(self: Any, *args: Any) -> Any:
        result = await original(self, *args)
        stamp(label(result, *args))
        return result

    setattr(owner, name, stamped)


def instrument() -> None:
    """Stamps at each step of the SDK's worker (see the module docstring)."""

    def jobs(activation: Any) -> str:
        return ",".join(job.WhichOneof("variant") for job in activation.jobs)

    def commands(completion: Any) -> str:
        found = completion.successful.commands if completion.HasField("successful") else []
        return ",".join(command.WhichOneof("variant") for command in found) or "-"

    stamp_async(bridge.Worker, "poll_workflow_activation", lambda a: f"activation [{jobs(a)}]")
    original_complete = bridge.Worker.complete_workflow_activation

    async def complete(self: Any, completion: Any) -> None:
        stamp(f"completion sent [{commands(completion)}]")
        await original_complete(self, completion)
        stamp("completion acknowledged")

    bridge.Worker.complete_workflow_activation = complete  # type: ignore[method-assign,assignment]
    original_activate = workflow_worker._RunningWorkflow.activate

    def activate(self: Any, activation: Any) -> Any:
        stamp("workflow code begins (thread)")
        try:
            return original_activate(self, activation)
        finally:
            stamp("workflow code ends")

    workflow_worker._RunningWorkflow.activate = activate  # type: ignore[method-assign,assignment]
    original_execute = activity_worker._ActivityInboundImpl.execute_activity

    async def execute(self: Any, input: Any) -> Any:
        stamp("activity function begins")
        try:
            return await original_execute(self, input)
        finally:
            stamp("activity function ends")

    activity_worker._ActivityInboundImpl.execute_activity = execute  # type: ignore[method-assign]


def settings_for(address: str, state: Path, stub_url: str) -> Settings:
    closed = free_loopback_port()
    return Settings(
        _env_file=None, temporal_address=address, embedded="off", state_dir=state,
        ollama_host=f"http://127.0.0.1:{closed}", openai_api_key="sk-bench-fake",
        openai_base_url=stub_url, cloud_model=MODEL, task_queue=QUEUE,
        use_local_activities=True, model_start_to_close_seconds=60.0,
    )  # fmt: skip


async def timed_runs(
    settings: Settings, runs: int
) -> tuple[list[float], list[list[tuple[float, str]]]]:
    client = await connect(settings)
    arg = CompletionInput(model=MODEL, messages=[{"role": "user", "content": "Say hello."}])
    payload = arg.model_dump(mode="json", exclude_defaults=True)
    totals: list[float] = []
    timelines: list[Timeline] = []
    for i in range(runs + 5):  # the first five warm up
        STAMPS.clear()
        began = time.perf_counter()
        stamp("client starts the run")
        output = await client.execute_workflow(
            "ChatCompletionWorkflow", payload, id=f"steps-{uuid.uuid4().hex}",
            task_queue=QUEUE, result_type=CompletionOutput,
        )  # fmt: skip
        stamp("client has the result")
        if output.content != "stub answer":
            raise RuntimeError(f"unexpected completion: {output}")
        if i >= 5:
            totals.append((time.perf_counter() - began) * 1000)
            timelines.append(list(STAMPS))
    return totals, timelines


def report(totals: list[float], timelines: list[Timeline]) -> None:
    """The most common sequence of steps, with the median gap before each."""
    shapes: dict[tuple[str, ...], list[Timeline]] = {}
    for stamped in timelines:
        # The last run's eviction from the worker's cache may land after this run's
        # start: left out, so that most runs share one sequence.
        first = next((i for i, (_, label) in enumerate(stamped) if "initialize" in label), 1)
        timeline = stamped[:1] + stamped[first:]
        shapes.setdefault(tuple(label for _, label in timeline), []).append(timeline)
    shape, found = max(shapes.items(), key=lambda item: len(item[1]))
    print(f"# {platform.machine()}, Python {platform.python_version()}, local activities")
    p99 = sorted(totals)[round(0.99 * (len(totals) - 1))]
    median = statistics.median(totals)
    print(f"whole run, client side: p50 {median:.2f} ms, p99 {p99:.2f} ms ({len(totals)} runs)")
    print(
        f"steps of the most common sequence ({len(found)} of {len(timelines)} runs), "
        "median ms since the step before:"
    )
    for j, label in enumerate(shape):
        gap = statistics.median((t[j][0] - t[j - 1][0]) * 1000 for t in found) if j else 0.0
        print(f"  +{gap:6.2f}  {label}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="a few runs: the bench still runs")
    args = parser.parse_args()
    instrument()
    stub = subprocess.Popen(
        [sys.executable, "-c", STUB], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )  # fmt: skip
    assert stub.stdout is not None and stub.stdin is not None
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        dev_server_extra_args=DEV_SERVER_ARGS,
        dev_server_log_level="error",
    )
    stop = asyncio.Event()
    up = asyncio.Event()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-steps-") as tmp:
            address = env.client.service_client.config.target_host
            settings = settings_for(address, Path(tmp), stub.stdout.readline().strip())
            ready: Callable[[Any], Awaitable[None] | None] = lambda _: up.set()  # noqa: E731
            worker = asyncio.create_task(serve(settings, stop=stop, on_ready=ready))
            await up.wait()
            totals, timelines = await timed_runs(settings, 8 if args.quick else args.runs)
            stop.set()
            await worker
    finally:
        await env.shutdown()
        stub.stdin.close()
        stub.wait(30)
    report(totals, timelines)


if __name__ == "__main__":
    asyncio.run(main())
    # The clients' Rust threads can abort interpreter teardown (temporalio/sdk-python#300).
    sys.stdout.flush()
    os._exit(0)
