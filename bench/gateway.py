"""The HTTP gateway's cost, side by side in one run, against one instant loopback stub.

The recording stub server (hybridagent/testing/stub_server.py) answers every chat
completion at once with the same reply, in its own process, so every figure is what
sits in front of the model:
  direct                  the stub called directly (httpx, the same client as below)
  ours/regular, ours/local  POST /v1/chat/completions on `hybridagent serve`'s app
                          (uvicorn on loopback, keys in SQLite, limits in Redis), model
                          openai/gpt-4o-mini routed to the stub, on a worker with
                          regular activities / with local activities
  temporal/regular, temporal/local  the same ChatCompletionWorkflow started from a
                          Temporal client in this process, no HTTP: ours minus this is
                          the HTTP layer (auth, limits, validation, serialisation)
  litellm-proxy           LiteLLM's proxy (litellm[proxy]==1.83.0, its own venv under
                          ~/.cache/hybridagent, made on the first full run) in front of
                          the same stub, master key auth, no database
Each at 1, 10 and 50 concurrent clients: p50/p99 per request and requests/s. Also the
limit check alone (admit + reconcile against the same Redis) and the issue's goals.
Worker, API, stub and proxy each run in their own process; this one is the load.

Nothing leaves loopback: the workers know only the stub, Ollama points at a closed
port, LiteLLM reads its bundled cost map, has telemetry off and a dead loopback proxy
for anything that honours HTTP(S)_PROXY, and its connections are checked with `ss`.

Usage: python bench/gateway.py [--requests 300 | --quick]
(--quick: only the local-activities worker, 1 and 10 clients, 5 requests: it checks that
the bench runs, in under a minute; its figures are not the ones to quote.)
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hybridagent.api.keys import ApiKey, KeyLimits, open_key_store
from hybridagent.api.limits_redis import RedisLimiter
from hybridagent.config import Settings
from hybridagent.providers.embedded import free_loopback_port
from hybridagent.runners.devserver import DEV_SERVER_ARGS, temporal_binary
from hybridagent.testing.redis_server import redis_server
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.completion_io import CompletionInput, CompletionOutput

MODEL = "openai/gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello."}]
CONCURRENCY = (1, 10, 50)
ROUNDS = 4  # every target takes a turn per round, so drift on a busy machine hits all
SCALE = {1: 1, 10: 2, 50: 3}  # requests per target at each concurrency, x --requests
LIMIT_CHECKS = 2000
LITELLM_VERSION = "1.83.0"
LITELLM_VENV = Path.home() / ".cache" / "hybridagent" / "litellm-proxy-venv"
LITELLM_KEY = "sk-bench-master-key"  # the proxy's master key: its auth, as ours has keys
QUICK_REQUESTS = 5
KINDS = ("regular", "local")  # worker activity kinds, each with its own worker and API
# --quick starts one worker and API (starting them is most of a quick run) and skips the
# 50-client level: it checks the bench runs, its figures are not the ones to quote.
QUICK_KINDS = ("local",)
QUICK_CONCURRENCY = (1, 10)
QUICK_HELP = "a few iterations, under a minute: checks the bench still runs (make bench-quick)"
# Never let a child reach a cost map, telemetry or a hub; anything that honours the
# proxy variables meets a closed loopback port instead.
CLOSED_PORT = free_loopback_port()
QUIET_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_MODE": "PRODUCTION",  # no .env loading
    "LITELLM_LOG": "ERROR",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
    "OLLAMA_HOST": f"http://127.0.0.1:{CLOSED_PORT}",
}
DEAD_PROXY_ENV = {
    **{name: f"http://127.0.0.1:{CLOSED_PORT}" for name in ("HTTP_PROXY", "HTTPS_PROXY")},
    **{name: f"http://127.0.0.1:{CLOSED_PORT}" for name in ("http_proxy", "https_proxy")},
    "ALL_PROXY": f"http://127.0.0.1:{CLOSED_PORT}",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}

Call = Callable[[], Awaitable[None]]


# --- the child processes ------------------------------------------------------------


async def until_stdin_closes() -> None:
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


def phase(what: str, since: float) -> None:
    print(f"# {what}: {time.monotonic() - since:.1f} s", file=sys.stderr, flush=True)


def ready(**what: Any) -> None:
    print("BENCH " + json.dumps(what), flush=True)


async def child_stub() -> None:
    from hybridagent.testing.stub_server import StubServer

    with StubServer() as stub:
        ready(url=stub.base_url)
        await until_stdin_closes()


async def child_worker(settings: Settings) -> None:
    from hybridagent.workers.main import serve

    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop=stop, on_ready=lambda _: ready(ok=True)))
    await until_stdin_closes()
    stop.set()
    await task


async def child_api(settings: Settings) -> None:
    from hybridagent.runners.serve import serve_api

    stop = asyncio.Event()
    task = asyncio.create_task(serve_api(settings, stop=stop, on_ready=lambda url: ready(url=url)))
    await until_stdin_closes()
    stop.set()
    await task


class Child:
    """A process of this script (--role); it says BENCH {...} when ready, and stops
    when its stdin closes."""

    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process, self.name = process, name

    @classmethod
    async def start(cls, role: str, settings: dict[str, Any] | None = None) -> tuple[Child, Any]:
        args = [__file__, "--role", role, json.dumps(settings or {}, default=str)]
        process = await asyncio.create_subprocess_exec(
            sys.executable, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, **QUIET_ENV},
        )  # fmt: skip
        child = cls(process, role)
        assert process.stdout is not None
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), 180)).decode()
            if not line:
                raise RuntimeError(f"the {role} process exited ({await process.wait()})")
            if line.startswith("BENCH "):
                return child, json.loads(line[6:])

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


# --- LiteLLM's proxy ----------------------------------------------------------------


def litellm_binary(quick: bool) -> tuple[Path | None, str]:
    """The proxy's `litellm` command, installed into its own venv on the first full run
    (it pins versions the shared venv must not get), or why there is none."""
    marker = LITELLM_VENV / ".installed"
    binary = LITELLM_VENV / "bin" / "litellm"
    if marker.exists() and marker.read_text().strip() == LITELLM_VERSION and binary.exists():
        return binary, ""
    if quick:
        return None, f"not installed in {LITELLM_VENV} (the first full run installs it)"
    python = shutil.which("python3.11")
    if python is None:
        return None, "python3.11 was not found to make its venv"
    print(f"# installing litellm[proxy]=={LITELLM_VERSION} into {LITELLM_VENV} (once)")
    shutil.rmtree(LITELLM_VENV, ignore_errors=True)
    steps = [
        [python, "-m", "venv", str(LITELLM_VENV)],
        [str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
         f"litellm[proxy]=={LITELLM_VERSION}"],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, env={**os.environ, **QUIET_ENV})
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return None, f"`{' '.join(step[:4])}` failed: {' | '.join(tail)}"
    marker.write_text(LITELLM_VERSION + "\n")
    return binary, ""


class LiteLLMProxy:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log

    @classmethod
    async def start(cls, binary: Path, stub_url: str, workdir: Path) -> LiteLLMProxy:
        config = {  # YAML is a superset of JSON
            "model_list": [
                {
                    "model_name": MODEL,
                    "litellm_params": {"model": MODEL, "api_base": stub_url, "api_key": "sk-fake"},
                }
            ],
            "general_settings": {"master_key": LITELLM_KEY},
            "litellm_settings": {"telemetry": False, "drop_params": True},
        }
        path = workdir / "litellm.yaml"
        path.write_text(json.dumps(config))
        port = free_loopback_port()
        log = workdir / "litellm.log"
        args = [str(binary), "--config", str(path), "--host", "127.0.0.1", "--port", str(port),
                "--num_workers", "1"]  # fmt: skip
        env = {**os.environ, **QUIET_ENV, **DEAD_PROXY_ENV}
        for name in ("DATABASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
            env.pop(name, None)
        with log.open("wb") as out:
            process = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, env=env
            )
        proxy = cls(process, f"http://127.0.0.1:{port}", log)
        async with httpx.AsyncClient(trust_env=False) as client:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:  # polling a port that opens, no race
                if process.poll() is not None:
                    raise RuntimeError(f"LiteLLM's proxy exited: {proxy.log_tail()}")
                try:
                    if (await client.get(f"{proxy.url}/health/liveliness")).status_code == 200:
                        return proxy
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        proxy.stop()
        raise RuntimeError(f"LiteLLM's proxy did not answer in 180 s: {proxy.log_tail()}")

    def log_tail(self) -> str:
        return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-5:])

    def remote_peers(self) -> list[str]:
        """TCP peers of the proxy's processes that are not loopback (`ss`)."""
        pids = set(process_tree(self.process.pid))
        out = subprocess.run(["ss", "-tanpH"], capture_output=True, text=True).stdout
        peers = []
        for line in out.splitlines():
            if any(f"pid={pid}," in line for pid in pids):
                host = line.split()[4].rsplit(":", 1)[0].strip("[]")
                if host not in ("*", "0.0.0.0", "::") and not is_loopback(host):
                    peers.append(line.split()[4])
        return peers

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def process_tree(pid: int) -> Iterator[int]:
    yield pid
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            yield from process_tree(int(child))


def is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return host == "localhost"
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


# --- measuring ----------------------------------------------------------------------


@dataclass
class Cell:
    samples: list[float] = field(default_factory=list)  # ms per request
    seconds: float = 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        ordered = sorted(self.samples)
        return ordered[round(0.99 * (len(ordered) - 1))]

    @property
    def rps(self) -> float:
        return len(self.samples) / self.seconds


async def load(call: Call, concurrency: int, total: int, cell: Cell, warmup: int) -> None:
    """`concurrency` clients, each sending its next request when its last one answers,
    until `total` are done (after `warmup` requests at once)."""
    await asyncio.gather(*(call() for _ in range(warmup)))
    left = total

    async def client() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            start = time.perf_counter()
            await call()
            cell.samples.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    cell.seconds += time.perf_counter() - start


def http_call(client: httpx.AsyncClient, url: str, key: str, model: str) -> Call:
    body = {"model": model, "messages": MESSAGES}
    headers = {"authorization": f"Bearer {key}"}

    async def call() -> None:
        response = await client.post(url, json=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
        if response.json()["choices"][0]["message"]["content"] != "stub answer":
            raise RuntimeError(f"{url} did not answer with the stub's reply: {response.text[:300]}")

    return call


async def check_route(client: httpx.AsyncClient, api_url: str, key: str) -> None:
    """Ours must have gone to the stub (the cloud route), not elsewhere."""
    response = await client.post(
        f"{api_url}/v1/chat/completions",
        json={"model": MODEL, "messages": MESSAGES},
        headers={"authorization": f"Bearer {key}"},
    )
    route = response.headers.get("x-hybridagent-route")
    if response.status_code != 200 or route != "cloud":
        raise RuntimeError(f"{api_url}: {response.status_code} route={route} {response.text[:300]}")


async def limit_check(redis_url: str, runs: int) -> Cell:
    """What one request pays for its limits in Redis: admit (one Lua script) and
    reconcile, sequential, on a key with every limit set and none reached."""
    limiter = RedisLimiter.from_url(redis_url, namespace=f"benchgw{uuid.uuid4().hex[:6]}")
    limits = KeyLimits(rpm=10**9, tpm=10**12, max_concurrent=1000, budget_usd=10**6)
    key = ApiKey(
        id=f"key_{uuid.uuid4().hex}", name="bench", prefix="hya_benc", limits=limits,
        created_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    cell = Cell()
    try:
        for i in range(runs + runs // 10):  # the first tenth warms up
            start = time.perf_counter()
            admission = await limiter.admit(key, 1200, 0.001)
            assert admission.reservation is not None, admission.message
            await limiter.reconcile(admission.reservation, 800, 0.0007)
            if i >= runs // 10:
                cell.samples.append((time.perf_counter() - start) * 1000)
    finally:
        await limiter.aclose()
    return cell


# --- the run ------------------------------------------------------------------------


def settings_for(address: str, state_dir: Path, stub_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "temporal_address": address, "embedded": "off", "state_dir": str(state_dir),
        "ollama_host": f"http://127.0.0.1:{CLOSED_PORT}", "openai_api_key": "sk-bench-fake",
        "openai_base_url": stub_url, "litellm_api_base": stub_url,
        "litellm_api_key": "sk-bench-fake", "cloud_model": MODEL,
        "model_start_to_close_seconds": 60.0, **extra,
    }  # fmt: skip


def make_settings(values: dict[str, Any]) -> Settings:
    return Settings(_env_file=None, **values)


def temporal_call(client: Any, queue: str) -> Call:
    arg = CompletionInput(model=MODEL, messages=MESSAGES, user="bench").model_dump(
        mode="json", exclude_defaults=True
    )

    async def call() -> None:
        output = await client.execute_workflow(
            "ChatCompletionWorkflow", arg, id=f"chatcmpl-{uuid.uuid4().hex}",
            task_queue=queue, result_type=CompletionOutput,
        )  # fmt: skip
        if output.content != "stub answer" or output.route != "cloud":
            raise RuntimeError(f"unexpected completion: {output}")

    return call


async def run(requests: int, quick: bool) -> None:
    from temporalio.testing import WorkflowEnvironment

    os.environ.update(QUIET_ENV)
    began = time.monotonic()
    binary, litellm_skipped = litellm_binary(quick)
    targets: dict[str, Call] = {}
    with ExitStack() as sync_stack, tempfile.TemporaryDirectory(prefix="bench-gw-") as tmp:
        redis_url = sync_stack.enter_context(redis_server())
        async with AsyncExitStack() as stack:
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=str(temporal_binary()),
                dev_server_extra_args=DEV_SERVER_ARGS,
                dev_server_log_level="error",
            )
            stack.push_async_callback(env.shutdown)
            address = env.client.service_client.config.target_host
            stub, info = await Child.start("stub")
            stack.push_async_callback(stub.stop)
            servers: list[Child] = []  # workers and APIs, stopped together (shutdowns wait)

            async def stop_servers() -> None:
                await asyncio.gather(*(server.stop() for server in servers))

            stack.push_async_callback(stop_servers)
            stub_url: str = info["url"]
            phase("Temporal, Redis and the stub up", began)
            state = Path(tmp) / "state"
            state.mkdir()
            base = settings_for(address, state, stub_url, redis_url=redis_url)
            store = open_key_store(make_settings(base))
            limits = KeyLimits(rpm=10**9, tpm=10**12, max_concurrent=1000, budget_usd=10**6)
            _, key = store.create("bench", limits)
            store.close()
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    timeout=120,
                    trust_env=False,
                    limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
                )  # fmt: skip
            )

            async def ours(kind: str) -> tuple[str, str]:
                queue = f"bench-gw-{kind}-{uuid.uuid4().hex[:6]}"
                values = {**base, "task_queue": queue, "api_port": free_loopback_port(),
                          "use_local_activities": kind == "local"}  # fmt: skip
                worker, _ = await Child.start("worker", values)
                servers.append(worker)
                api, info = await Child.start("api", values)
                servers.append(api)
                return queue, str(info["url"])

            async def proxy() -> LiteLLMProxy | None:
                if binary is None:
                    return None
                started = await LiteLLMProxy.start(binary, stub_url, Path(tmp))
                stack.callback(started.stop)
                return started

            kinds = QUICK_KINDS if quick else KINDS
            levels = QUICK_CONCURRENCY if quick else CONCURRENCY
            started, litellm = await asyncio.gather(
                asyncio.gather(*(ours(kind) for kind in kinds)), proxy()
            )
            phase("workers, APIs and the proxy up", began)
            client = await connect(make_settings(base))
            targets["direct"] = http_call(
                http, f"{stub_url}/chat/completions", "sk-fake", "gpt-4o-mini"
            )
            for kind, (queue, url) in zip(kinds, started, strict=True):
                await check_route(http, url, key)
                targets[f"ours/{kind}"] = http_call(http, f"{url}/v1/chat/completions", key, MODEL)
                targets[f"temporal/{kind}"] = temporal_call(client, queue)
            if litellm is not None:
                targets["litellm-proxy"] = http_call(
                    http, f"{litellm.url}/v1/chat/completions", LITELLM_KEY, MODEL
                )
            cells = {(name, c): Cell() for name in targets for c in levels}
            rounds = 1 if quick else ROUNDS
            for _ in range(rounds):
                for concurrency in levels:
                    total = max(requests * SCALE[concurrency] // rounds, concurrency)
                    for name, call in targets.items():
                        try:
                            warmup = 0 if quick and concurrency > 1 else min(concurrency, 10)
                            await load(call, concurrency, total, cells[(name, concurrency)], warmup)
                        except Exception as err:
                            raise RuntimeError(f"{name} at {concurrency} clients failed") from err
                    phase(f"{concurrency} clients measured", began)
            limit = await limit_check(redis_url, QUICK_REQUESTS * 5 if quick else LIMIT_CHECKS)
            peers = litellm.remote_peers() if litellm is not None else []
    phase("everything stopped", began)
    report(cells, list(targets), limit, litellm_skipped, peers, requests, quick, kinds, levels)


def report(
    cells: dict[tuple[str, int], Cell],
    names: list[str],
    limit: Cell,
    litellm_skipped: str,
    peers: list[str],
    requests: int,
    quick: bool,
    kinds: tuple[str, ...],
    levels: tuple[int, ...],
) -> None:
    print(
        f"# gateway  requests per target: {requests} at c=1, x2 at 10, x3 at 50"
        f"{'' if 50 in levels else ' (50 left out)'}"
        f"{' (quick)' if quick else ''}  "
        f"{platform.machine()}  {os.cpu_count()} CPUs  Python {platform.python_version()}"
    )
    print(f"{'target':18} {'c':>3} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'p50 x direct':>13} "
          f"{'req/s x direct':>15}")  # fmt: skip
    for concurrency in levels:
        direct = cells[("direct", concurrency)]
        for name in names:
            cell = cells[(name, concurrency)]
            print(
                f"{name:18} {concurrency:3d} {cell.p50:8.2f} {cell.p99:8.2f} {cell.rps:8.1f} "
                f"{cell.p50 / direct.p50:13.1f} {cell.rps / direct.rps:15.2f}"
            )
    if litellm_skipped:
        print(f"litellm-proxy skipped: {litellm_skipped}")
    elif peers:
        print(f"litellm-proxy had connections beyond loopback: {peers}")
    else:
        print("litellm-proxy: no TCP connection beyond loopback at the end of the run (ss)")
    print("goals (p50 at c=1 unless said):")
    for kind in kinds:
        http = cells[(f"ours/{kind}", 1)].p50 - cells[(f"temporal/{kind}", 1)].p50
        print(f"  HTTP layer ({kind}): ours - in-process Temporal = {http:+.2f} ms  (goal <= 2 ms)")
    print(f"  limit check, Redis on loopback: {limit.p50:.3f} ms p50, {limit.p99:.3f} ms p99 "
          f"({len(limit.samples)} admit+reconcile)  (goal <= 1 ms)")  # fmt: skip
    for concurrency in levels:
        floor = cells[("direct", concurrency)].p50
        ours = cells[("ours/local", concurrency)].p50 - floor
        line = f"  added over direct at c={concurrency}: ours/local {ours:+.2f} ms"
        if ("litellm-proxy", concurrency) in cells:
            theirs = cells[("litellm-proxy", concurrency)].p50 - floor
            verdict = "met" if ours <= theirs else "not met"
            line += f", litellm-proxy {theirs:+.2f} ms  (goal ours <= theirs: {verdict})"
        print(line)


def child_main(role: str, values: str) -> None:
    if role == "stub":
        asyncio.run(child_stub())
    elif role == "worker":
        asyncio.run(child_worker(make_settings(json.loads(values))))
    elif role == "api":
        asyncio.run(child_api(make_settings(json.loads(values))))
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300, help="per target at 1 client")
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    parser.add_argument("--role", help=argparse.SUPPRESS)
    parser.add_argument("values", nargs="?", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        child_main(args.role, args.values)
    else:
        asyncio.run(run(QUICK_REQUESTS if args.quick else args.requests, args.quick))
