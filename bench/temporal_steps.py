"""What one Temporal step costs on the dev server, run back to back: a workflow that
returns at once, one with a local activity, one with an activity. Each on a dev server
as it starts by default and on one started with hybridagent's DEV_SERVER_ARGS, in the
same run, so the ratio shows what the dev server's transfer-queue poll rate costs.

Every figure is client side: start_workflow until the result arrives, one run after
another (the way one client of the HTTP API sends its requests). The worker runs in
this process with trivial workflows, so nothing of hybridagent's own is measured.

Usage: python bench/temporal_steps.py [--runs 200 | --quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hybridagent.runners.devserver import DEV_SERVER_ARGS, temporal_binary  # noqa: E402

QUEUE = "temporal-steps"


@activity.defn
async def echo(text: str) -> str:
    return text


@workflow.defn
class Returns:
    @workflow.run
    async def run(self, text: str) -> str:
        return text


@workflow.defn
class OneLocalActivity:
    @workflow.run
    async def run(self, text: str) -> str:
        return await workflow.execute_local_activity(
            echo, text, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn
class OneActivity:
    @workflow.run
    async def run(self, text: str) -> str:
        return await workflow.execute_activity(
            echo, text, start_to_close_timeout=timedelta(seconds=30)
        )


WORKFLOWS = (Returns, OneLocalActivity, OneActivity)


async def timed_runs(client: Client, workflow_class: type, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        await client.execute_workflow(
            workflow_class.run, "x", id=f"steps-{uuid.uuid4().hex}", task_queue=QUEUE
        )
        times.append((time.perf_counter() - began) * 1000)
    return times


async def measure(extra_args: tuple[str, ...], runs: int, rounds: int) -> dict[str, list[float]]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        dev_server_extra_args=extra_args,
        dev_server_log_level="error",
    )
    found: dict[str, list[float]] = {w.__name__: [] for w in WORKFLOWS}
    try:
        async with Worker(
            env.client,
            task_queue=QUEUE,
            workflows=list(WORKFLOWS),
            activities=[echo],
            workflow_runner=UnsandboxedWorkflowRunner(),  # trivial workflows of this file
        ):
            await timed_runs(env.client, Returns, 3)  # warm-up
            for _ in range(rounds):  # interleaved, so drift hits every workflow alike
                for workflow_class in WORKFLOWS:
                    found[workflow_class.__name__] += await timed_runs(
                        env.client, workflow_class, runs // rounds
                    )
    finally:
        await env.shutdown()
    return found


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per workflow and server")
    parser.add_argument("--quick", action="store_true", help="a few runs: the bench still runs")
    args = parser.parse_args()
    runs, rounds = (8, 2) if args.quick else (args.runs, 4)
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    results = {
        "default": await measure((), runs, rounds),
        "DEV_SERVER_ARGS": await measure(DEV_SERVER_ARGS, runs, rounds),
    }
    print(f"{'workflow':<18} {'dev server':<16} {'p50 ms':>8} {'p99 ms':>8} {'× tuned':>8}")
    for workflow_class in WORKFLOWS:
        name = workflow_class.__name__
        tuned = statistics.median(results["DEV_SERVER_ARGS"][name])
        for server, found in results.items():
            times = found[name]
            median = statistics.median(times)
            print(
                f"{name:<18} {server:<16} {median:8.2f} {p(times, 0.99):8.2f} {median / tuned:8.2f}"
            )


if __name__ == "__main__":
    asyncio.run(main())
    # The clients' Rust threads can abort interpreter teardown ("PyGILState_Release:
    # thread state ... must be current", temporalio/sdk-python#300): skip it.
    sys.stdout.flush()
    os._exit(0)
