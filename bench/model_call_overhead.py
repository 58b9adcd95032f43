"""Per-call cost of running an agent through Temporal, side by side in one run.

An instant in-process model answers every call, so what is measured is orchestration:
  direct             Runner.run in-process, no Temporal
  plugin/regular     the official plugin with a bare ModelProvider, regular activities
  plugin/local       the same with use_local_activity=True
  hybrid/regular     hybridagent's AgentWorkflow + HybridModelProvider, regular activities
  hybrid/local       the same with local activities
whole AgentWorkflow runs with and without the payload codec (AES-256-GCM on every
payload and failure, security/codec.py), and, without Temporal, the provider layer
alone (HybridModelProvider.get_model plus our model wrappers against the bare scripted
model) and the codec alone on one payload.

Usage: python bench/model_call_overhead.py [--runs 200 | --quick]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from agents import Agent, ModelSettings, ModelTracing, Runner, set_trace_processors
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# The sandbox re-imports this module to check LoopWorkflow: the package is passed
# through, as the package's own workflow modules do.
with workflow.unsafe.imports_passed_through():
    from hybridagent.config import Settings
    from hybridagent.providers.guarded import GuardedModel
    from hybridagent.providers.hybrid import HybridModelProvider
    from hybridagent.runners.devserver import DEV_SERVER_ARGS, temporal_binary
    from hybridagent.security.codec import EncryptionCodec, with_encryption
    from hybridagent.security.keys import KeyRing, generate_ring
    from hybridagent.testing.scripted_model import (
        ScriptedBackend,
        ScriptedModel,
        ScriptedProvider,
    )
    from hybridagent.workers.plugin import build_plugin, build_worker

CALLS_PER_RUN = 10
QUICK_RUNS = 5  # one timed run per block
QUICK_HELP = "a few iterations, under a minute: checks the bench still runs (make bench-quick)"


@workflow.defn
class LoopWorkflow:
    """`calls` model calls in one run: the per-call cost without workflow start-up."""

    @workflow.run
    async def run(self, model: str, calls: int) -> int:
        agent = Agent(name="bench", instructions="Be brief.", model=model)
        for _ in range(calls):
            await Runner.run(agent, "hi")
        return calls


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


async def timed(runs: int, call: Callable[[], Awaitable[Any]], warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


Call = Callable[[], Awaitable[Any]]


def client_with(
    env: WorkflowEnvironment, plugin: OpenAIAgentsPlugin, ring: KeyRing | None = None
) -> Client:
    config = env.client.config()
    config["plugins"] = [plugin]
    config["data_converter"] = with_encryption(config["data_converter"], ring)
    return Client(**config)


def loop_call(client: Client, queue: str, model: str) -> Call:
    return lambda: client.execute_workflow(
        LoopWorkflow.run, args=[model, CALLS_PER_RUN], id=f"b-{uuid.uuid4().hex}", task_queue=queue
    )


def plain_worker(env: WorkflowEnvironment, local: bool) -> tuple[list[Worker], Call]:
    """The baseline: the official plugin with a bare ModelProvider."""
    plugin = OpenAIAgentsPlugin(
        model_params=ModelActivityParameters(
            start_to_close_timeout=timedelta(seconds=30), use_local_activity=local
        ),
        model_provider=ScriptedProvider(ScriptedModel()),
    )
    client = client_with(env, plugin)
    queue = f"bench-plain-{uuid.uuid4().hex[:6]}"
    worker = Worker(client, task_queue=queue, workflows=[LoopWorkflow])
    return [worker], loop_call(client, queue, "m")


def hybrid_workers(
    env: WorkflowEnvironment, local: bool, ring: KeyRing | None = None
) -> tuple[list[Worker], Call, Call]:
    """hybridagent's provider in the same loop, and AgentWorkflow end to end."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        task_queue=f"bench-hybrid-{uuid.uuid4().hex[:6]}",
        use_local_activities=local,
        model_start_to_close_seconds=30.0,
    )
    provider = HybridModelProvider({"local": ScriptedBackend(ScriptedModel())}, "local/scripted")
    client = client_with(env, build_plugin(settings, provider), ring)
    loop_queue = settings.task_queue + "-loop"
    workers = [
        build_worker(client, settings, provider),
        Worker(client, task_queue=loop_queue, workflows=[LoopWorkflow]),
    ]

    def agent_workflow() -> Awaitable[Any]:
        return client.execute_workflow(
            "AgentWorkflow",
            {"prompt": "hi"},
            id=f"b-{uuid.uuid4().hex}",
            task_queue=settings.task_queue,
        )

    return workers, loop_call(client, loop_queue, "local/scripted"), agent_workflow


def hybrid_loop(env: WorkflowEnvironment, local: bool) -> tuple[list[Worker], Call]:
    workers, loop, _ = hybrid_workers(env, local)
    return workers, loop


def hybrid_run(
    env: WorkflowEnvironment, local: bool, ring: KeyRing | None = None
) -> tuple[list[Worker], Call]:
    workers, _, run = hybrid_workers(env, local, ring)
    return workers, run


Variant = Callable[[], tuple[list[Worker], Call]]


async def in_blocks(
    runs: int, variants: dict[str, Variant], blocks: int = 5
) -> dict[str, list[float]]:
    """Variants take turns in blocks, so drift on a busy machine hits all alike.

    One variant's workers run at a time: the plugin installs its model parameters as a
    process-wide default while its worker runs, so two plugins must not overlap.
    """
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(blocks):
        for name, make in variants.items():
            workers, call = make()
            for worker in workers:
                await worker.__aenter__()
            try:
                per_block = runs // blocks
                samples[name] += await timed(per_block, call, warmup=min(5, max(1, per_block)))
            finally:
                for worker in reversed(workers):
                    await worker.__aexit__(None, None, None)
    return samples


async def provider_layer(runs: int) -> tuple[list[float], list[float]]:
    """get_model + get_response, bare scripted provider vs HybridModelProvider + wrapper."""
    bare_provider = ScriptedProvider(ScriptedModel())
    guarded = GuardedModel(ScriptedModel(), backend="bench", endpoint="-", model="scripted")
    hybrid = HybridModelProvider({"local": ScriptedBackend(guarded)}, "local/scripted")
    args = ("Be brief.", "hi", ModelSettings(), [], None, [], ModelTracing.DISABLED)
    kwargs: dict[str, Any] = {"previous_response_id": None, "conversation_id": None, "prompt": None}

    async def bare() -> None:
        await bare_provider.get_model("m").get_response(*args, **kwargs)

    async def ours() -> None:
        await hybrid.get_model("local/scripted").get_response(*args, **kwargs)

    return await timed(runs * 10, bare, 100), await timed(runs * 10, ours, 100)


async def codec_alone(runs: int) -> list[float]:
    """Encrypt and decrypt one 2 KB JSON payload (a model call's input is about that)."""
    codec = EncryptionCodec(generate_ring())
    payload = Payload(metadata={"encoding": b"json/plain"}, data=b'"' + b"x" * 2048 + b'"')

    async def round_trip() -> None:
        await codec.decode(await codec.encode([payload]))

    return await timed(runs * 10, round_trip, 100)


async def main(runs: int) -> None:
    set_trace_processors([])
    ring = generate_ring()
    agent = Agent(name="direct", instructions="Be brief.", model=ScriptedModel())

    async def direct() -> None:
        for _ in range(CALLS_PER_RUN):
            await Runner.run(agent, "hi")

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        dev_server_extra_args=DEV_SERVER_ARGS,
        dev_server_log_level="error",
    )
    try:
        loops: dict[str, Variant] = {}
        whole_runs: dict[str, Variant] = {}
        for local in (False, True):
            kind = "local" if local else "regular"
            loops[f"plugin, {kind} activity"] = lambda local=local: plain_worker(env, local)  # type: ignore[misc]
            loops[f"hybridagent, {kind} activity"] = lambda local=local: hybrid_loop(env, local)  # type: ignore[misc]
            whole_runs[f"AgentWorkflow run, {kind}"] = lambda local=local: hybrid_run(env, local)  # type: ignore[misc]
            whole_runs[f"AgentWorkflow run, {kind}, encrypted"] = (
                lambda local=local: hybrid_run(env, local, ring)  # type: ignore[misc]
            )
        per_loop = {"direct Runner.run": await timed(runs, direct)}
        per_loop.update(await in_blocks(runs, loops))
        per_run = await in_blocks(runs, whole_runs)
    finally:
        await env.shutdown()
    bare, ours = await provider_layer(runs)
    sealing = await codec_alone(runs)

    print(
        f"# model_call_overhead  runs={runs} x {CALLS_PER_RUN} calls  "
        f"{platform.machine()}  Python {platform.python_version()}"
    )
    per_call = {name: [v / CALLS_PER_RUN for v in values] for name, values in per_loop.items()}
    direct_p50 = percentiles(per_call["direct Runner.run"])[0]
    print(f"{'per model call':34} {'p50 ms':>8} {'p99 ms':>8} {'x direct':>9}")
    for name, samples in per_call.items():
        p50, p99 = percentiles(samples)
        print(f"{name:34} {p50:8.2f} {p99:8.2f} {p50 / direct_p50:9.1f}")
    for kind in ("regular", "local"):
        ours_p50 = percentiles(per_call[f"hybridagent, {kind} activity"])[0]
        plain_p50 = percentiles(per_call[f"plugin, {kind} activity"])[0]
        print(f"hybridagent - plugin ({kind}) p50: {ours_p50 - plain_p50:+.2f} ms per call")
    print(f"{'whole AgentWorkflow run (1 call)':38} {'p50 ms':>8} {'p99 ms':>8}")
    for name, samples in per_run.items():
        p50, p99 = percentiles(samples)
        print(f"{name:38} {p50:8.2f} {p99:8.2f}")
    for kind in ("regular", "local"):
        sealed = percentiles(per_run[f"AgentWorkflow run, {kind}, encrypted"])[0]
        open_p50 = percentiles(per_run[f"AgentWorkflow run, {kind}"])[0]
        print(f"payload codec ({kind}) p50: {sealed - open_p50:+.2f} ms per AgentWorkflow run")
    seal_p50, seal_p99 = percentiles(sealing)
    print(
        f"codec alone, 2 KB payload encrypt+decrypt: {seal_p50 * 1000:.1f}/"
        f"{seal_p99 * 1000:.1f} us (p50/p99)"
    )
    bare_p50, bare_p99 = percentiles(bare)
    ours_p50, ours_p99 = percentiles(ours)
    print(
        f"provider layer alone: bare {bare_p50 * 1000:.1f}/{bare_p99 * 1000:.1f} us, "
        f"hybrid {ours_p50 * 1000:.1f}/{ours_p99 * 1000:.1f} us (p50/p99); "
        f"adds {(ours_p50 - bare_p50) * 1000:+.1f} us p50 per call"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = parser.parse_args()
    asyncio.run(main(QUICK_RUNS if args.quick else args.runs))
