"""Added latency of a fallback, beside LiteLLM's Router in the same run.

Every model is an instant OpenAI-compatible stub on loopback (in its own process); the
"primary" is a loopback port nothing listens on, so its calls are refused.

In-process (what LiteLLM's Router does; no Temporal):
  openai client           the bare `openai` client calling the stub (the floor)
  LiteLLM Router          Router.acompletion on the fallback group directly
  LiteLLM refused         Router.acompletion on the refused primary, fallback configured
  LiteLLM cooled down     the same with the Router's cooldown of the failed deployment
  ours direct             hybridagent's provider model (GuardedModel) on the stub
  ours refused            a refused call typed as ProviderUnreachableError, then the stub
  ours circuit open       CircuitOpenError without a request, then the stub
Through Temporal (hybridagent's real path: every attempt a visible activity), one
AgentWorkflow run with one model call, regular and local activities:
  run direct              the model is the stub
  run refused primary     the model is refused, the run falls back to the stub
  run circuit open        the same on a worker whose circuit for it is open: the run's
                          setup leaves it out

Usage: python bench/fallback.py [--runs 200 | --quick]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from agents import ModelSettings, ModelTracing, set_trace_processors  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from hybridagent.config import Settings  # noqa: E402
from hybridagent.providers.circuit import CircuitBreaker  # noqa: E402
from hybridagent.providers.embedded import free_loopback_port  # noqa: E402
from hybridagent.providers.errors import CircuitOpenError, ProviderUnreachableError  # noqa: E402
from hybridagent.providers.openai import OpenAIBackend  # noqa: E402
from hybridagent.runners.devserver import DEV_SERVER_ARGS, temporal_binary  # noqa: E402
from hybridagent.workers.main import serve  # noqa: E402
from hybridagent.workers.temporal_client import connect  # noqa: E402

Call = Callable[[], Awaitable[Any]]
QUICK_RUNS = 5  # one timed run per block
QUICK_HELP = "a few iterations, under a minute: checks the bench still runs (make bench-quick)"
MESSAGES = [{"role": "user", "content": "hi"}]


def _serve_stub(port_queue: Any) -> None:
    from hybridagent.testing.stub_server import StubServer

    stub = StubServer().start()
    port_queue.put(stub.base_url)
    while True:
        time.sleep(3600)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.99 * len(ordered)))]


async def timed(runs: int, call: Call, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def in_process(runs: int, stub_url: str, refused_url: str) -> dict[str, list[float]]:
    from litellm import Router

    client = AsyncOpenAI(base_url=stub_url, api_key="sk-bench", max_retries=0)

    async def openai_direct() -> None:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]

    def deployment(name: str, base: str) -> dict[str, Any]:
        params = {"model": "openai/gpt-4o-mini", "api_base": base, "api_key": "sk-bench"}
        return {"model_name": name, "litellm_params": params}

    deployments = [deployment("primary", refused_url), deployment("fallback", stub_url)]
    fallbacks = [{"primary": ["fallback"]}]
    no_cooldown = Router(
        model_list=deployments, fallbacks=fallbacks, num_retries=0, disable_cooldowns=True
    )
    cooling = Router(model_list=deployments, fallbacks=fallbacks, num_retries=0, allowed_fails=0)

    async def router_direct() -> None:
        await no_cooldown.acompletion(model="fallback", messages=MESSAGES)

    async def router_refused() -> None:
        await no_cooldown.acompletion(model="primary", messages=MESSAGES)

    async def router_cooled() -> None:
        await cooling.acompletion(model="primary", messages=MESSAGES)

    circuits = CircuitBreaker(failure_threshold=1, cooldown_seconds=3600)
    ours = OpenAIBackend("sk-bench", stub_url).get_model("gpt-4o-mini")
    refused = OpenAIBackend("sk-bench", refused_url).get_model("gpt-4o-mini")
    tripped = OpenAIBackend("sk-bench", refused_url, circuits=circuits).get_model("gpt-4o-mini")
    args = (None, "hi", ModelSettings(), [], None, [], ModelTracing.DISABLED)
    kwargs: dict[str, Any] = {"previous_response_id": None, "conversation_id": None, "prompt": None}

    async def ours_direct() -> None:
        await ours.get_response(*args, **kwargs)

    async def ours_refused() -> None:
        try:
            await refused.get_response(*args, **kwargs)
        except ProviderUnreachableError:
            await ours.get_response(*args, **kwargs)

    async def ours_circuit_open() -> None:
        try:
            await tripped.get_response(*args, **kwargs)
        except (CircuitOpenError, ProviderUnreachableError):
            await ours.get_response(*args, **kwargs)

    variants: dict[str, Call] = {
        "openai client": openai_direct,
        "LiteLLM Router": router_direct,
        "LiteLLM refused": router_refused,
        "LiteLLM cooled down": router_cooled,
        "ours direct": ours_direct,
        "ours refused": ours_refused,
        "ours circuit open": ours_circuit_open,
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(5):  # take turns in blocks so drift hits every variant alike
        for name, call in variants.items():
            samples[name] += await timed(runs // 5, call)
    return samples


async def through_temporal(
    runs: int, stub_url: str, refused_port: int, env: WorkflowEnvironment, local: bool
) -> dict[str, list[float]]:
    """Two workers in this process: on one the refused model's circuit is closed (every
    run tries it first), on the other it is open (the run's setup leaves it out)."""

    def settings_for(queue: str) -> Settings:
        return Settings(  # type: ignore[call-arg]
            _env_file=None,
            temporal_address=env.client.service_client.config.target_host,
            task_queue=f"bench-{queue}-{uuid.uuid4().hex[:6]}",
            embedded="off",
            embedded_url=f"http://127.0.0.1:{refused_port}/v1",
            ollama_host=f"http://127.0.0.1:{refused_port}",
            openai_api_key="sk-bench",
            openai_base_url=stub_url,
            cloud_model="openai/gpt-4o-mini",
            use_local_activities=local,
            circuit_failure_threshold=10**9,
            state_dir=Path(tempfile.mkdtemp()),
        )

    stop = asyncio.Event()
    stacks: list[Any] = []
    tasks = []
    queues = []
    for name in ("closed", "open"):
        settings = settings_for(name)
        ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        tasks.append(asyncio.create_task(serve(settings, stop=stop, on_ready=ready.set_result)))
        stacks.append(await ready)
        queues.append(settings.task_queue)
    circuits: CircuitBreaker = stacks[1].circuits
    circuits.failure_threshold = 1
    circuits.cooldown_seconds = 3600
    circuits.failure(f"The embedded model server http://127.0.0.1:{refused_port}/v1/", "bench")
    assert circuits.snapshot()[0].state == "open", circuits.snapshot()
    client = await connect(settings)

    def run(model: str, queue: str) -> Call:
        return lambda: client.execute_workflow(
            "AgentWorkflow", {"prompt": "hi", "model": model},
            id=f"b-{uuid.uuid4().hex}", task_queue=queue,
        )  # fmt: skip

    shapes = {
        "run direct": ("openai/gpt-4o-mini", queues[0]),
        "run refused primary": ("local/smollm2", queues[0]),
        "run circuit open": ("local/smollm2", queues[1]),
    }
    variants = {name: run(*shape) for name, shape in shapes.items()}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for _ in range(5):
            for name, call in variants.items():
                samples[name] += await timed(runs // 5, call)
        for name, (model, queue) in shapes.items():
            handle = await client.start_workflow(
                "AgentWorkflow", {"prompt": "hi", "model": model},
                id=f"b-{uuid.uuid4().hex}", task_queue=queue,
            )  # fmt: skip
            await handle.result()
            events = [e async for e in handle.fetch_history_events()]
            calls = sum(
                e.activity_task_scheduled_event_attributes.activity_type.name
                == "invoke_model_activity"
                for e in events
                if e.HasField("activity_task_scheduled_event_attributes")
            )
            markers = sum(e.HasField("marker_recorded_event_attributes") for e in events)
            print(
                f"  {name}: {len(events)} history events, {calls} model-call activities, "
                f"{markers} local activities"
            )
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return samples


def show(title: str, samples: dict[str, list[float]], pairs: dict[str, str]) -> None:
    print(f"\n{title}")
    print(f"{'variant':24} {'p50 ms':>8} {'p99 ms':>8} {'added p50':>10}")
    p50s = {name: percentiles(values)[0] for name, values in samples.items()}
    for name, values in samples.items():
        p50, p99 = percentiles(values)
        added = f"{p50 - p50s[pairs[name]]:+10.2f}" if name in pairs else ""
        print(f"{name:24} {p50:8.2f} {p99:8.2f} {added}")


async def main(runs: int) -> None:
    set_trace_processors([])
    ports: Any = multiprocessing.Queue()
    stub_process = multiprocessing.Process(target=_serve_stub, args=(ports,), daemon=True)
    stub_process.start()
    stub_url = ports.get(timeout=30)
    refused_port = free_loopback_port()
    refused_url = f"http://127.0.0.1:{refused_port}/v1"
    print(f"# fallback  {platform.machine()}  Python {platform.python_version()}  runs={runs}")
    try:
        samples = await in_process(runs, stub_url, refused_url)
        show(
            "in process (no Temporal)",
            samples,
            {
                "LiteLLM refused": "LiteLLM Router",
                "LiteLLM cooled down": "LiteLLM Router",
                "ours refused": "ours direct",
                "ours circuit open": "ours direct",
            },
        )
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_binary()),
            dev_server_extra_args=DEV_SERVER_ARGS,
            dev_server_log_level="error",
        )
        try:
            for local in (False, True):
                temporal = await through_temporal(runs, stub_url, refused_port, env, local)
                show(
                    f"AgentWorkflow, one model call, {'local' if local else 'regular'} activities",
                    temporal,
                    {"run refused primary": "run direct", "run circuit open": "run direct"},
                )
        finally:
            await env.shutdown()
    finally:
        stub_process.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = parser.parse_args()
    asyncio.run(main(QUICK_RUNS if args.quick else args.runs))
