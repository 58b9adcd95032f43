"""Limits across two real `hybridagent serve` processes sharing one key database, one Redis
and one Temporal task queue, in front of a real worker (the recording stub as the cloud).

The stub's `hold` keeps every admitted request waiting at the "provider" until the test
has seen all admissions decided, so the counts below are exact, not a race's outcome.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from hybridagent.api.costs import cost_usd
from hybridagent.api.keys import ApiKey, KeyLimits, KeyStore, open_key_store
from hybridagent.api.limits_redis import RedisLimiter
from hybridagent.api.routes_completions import ChatCompletionRequest, prompt_tokens
from hybridagent.testing.stub_server import StubServer, completion
from tests.conftest import CLOSED_PORT, RunningWorker
from tests.integration.test_api import free_port

ROOT = Path(__file__).resolve().parents[2]
MODEL = "openai/gpt-4o-mini"
WAIT_SECONDS = 300.0  # an upper bound on a shared 2-core machine, not a wait


@dataclass
class ServeProcess:
    url: str
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)


def serve_env(worker: RunningWorker, redis_url: str, port: int) -> dict[str, str]:
    """`hybridagent serve`'s environment: the worker's Temporal and task queue, its state
    dir (the key database and the key secret), the shared Redis; no provider key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYBRIDAGENT_", "TEMPORAL_"))}
    env.pop("OPENAI_API_KEY", None)
    env.update(
        PYTHONPATH=str(ROOT),
        OLLAMA_HOST=f"http://127.0.0.1:{CLOSED_PORT}",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        TEMPORAL_ADDRESS=worker.settings.temporal_address,
        HYBRIDAGENT_TASK_QUEUE=worker.settings.task_queue,
        HYBRIDAGENT_STATE_DIR=str(worker.settings.state_dir),
        HYBRIDAGENT_REDIS_URL=redis_url,
        HYBRIDAGENT_API_HOST="127.0.0.1",
        HYBRIDAGENT_API_PORT=str(port),
    )
    return env


def start_serve(env: dict[str, str]) -> ServeProcess:
    """Start `hybridagent serve` and return once it says it listens (its stderr line)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hybridagent.runners.cli", "serve"],
        env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    served = ServeProcess(f"http://127.0.0.1:{env['HYBRIDAGENT_API_PORT']}", process)
    assert process.stderr is not None
    for line in process.stderr:
        served.log.append(line)
        if line.startswith("HTTP API at "):
            break
    else:
        raise AssertionError(f"hybridagent serve did not start: {''.join(served.log)}")
    stderr = process.stderr

    def drain() -> None:  # the rest of its log, kept for the secret checks
        served.log.extend(stderr)

    threading.Thread(target=drain, daemon=True).start()
    return served


@dataclass
class Apis:
    urls: list[str]
    store: KeyStore
    limiter: RedisLimiter
    processes: list[ServeProcess]

    def key(self, **limits: Any) -> tuple[ApiKey, str]:
        return self.store.create(f"two-{uuid.uuid4().hex[:8]}", KeyLimits(**limits))


@pytest.fixture(scope="module")
async def apis(worker: RunningWorker, redis_url: str) -> AsyncIterator[Apis]:
    store = open_key_store(worker.settings)  # makes the key secret both processes read
    envs = [serve_env(worker, redis_url, free_port()) for _ in range(2)]
    processes = await asyncio.gather(*(asyncio.to_thread(start_serve, env) for env in envs))
    limiter = RedisLimiter.from_url(redis_url)  # the namespace `serve` uses
    try:
        yield Apis([p.url for p in processes], store, limiter, list(processes))
    finally:
        for served in processes:
            served.process.terminate()
        for served in processes:
            await asyncio.to_thread(served.process.wait, 60)
        await limiter.aclose()
        store.close()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=WAIT_SECONDS, limits=limits) as client:
        yield client


def chat(max_tokens: int, *, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Say hello to the team."}],
        "max_tokens": max_tokens,
    }
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


def reserved_tokens(body: dict[str, Any]) -> int:
    """What the route reserves: the prompt's estimate plus max_tokens."""
    return prompt_tokens(ChatCompletionRequest(**body)) + int(body["max_tokens"])


async def held_wave(
    stub: StubServer, n: int, send: Callable[[int], Awaitable[httpx.Response]]
) -> list[httpx.Response]:
    """Send `n` requests at once while the stub holds every call it receives; release it
    once each request is either refused (answered) or waiting at the stub."""
    hold = threading.Event()
    stub.hold = hold
    before = len(stub.requests)
    tasks = [asyncio.create_task(send(i)) for i in range(n)]
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while len(stub.requests) - before + sum(t.done() for t in tasks) < n:
                await asyncio.sleep(0.05)  # polling a condition, not waiting out a race
    finally:
        stub.hold = None
        hold.set()
    return await asyncio.gather(*tasks)


def sse_data(response: httpx.Response) -> list[Any]:
    lines = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


async def test_rpm_50_across_two_serve_processes_admits_exactly_50(
    apis: Apis, stub: StubServer, http: httpx.AsyncClient
) -> None:
    key, secret = apis.key(rpm=50)
    headers = {"authorization": f"Bearer {secret}"}

    async def send(i: int) -> httpx.Response:
        url = apis.urls[i % 2]
        return await http.post(f"{url}/v1/chat/completions", headers=headers, json=chat(16))

    responses = await asyncio.gather(*(send(i) for i in range(200)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 50, sorted(set(statuses))
    assert statuses.count(429) == 150
    for refused in (r for r in responses if r.status_code == 429):
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert int(refused.headers["retry-after"]) > 0
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert len(stub.requests) == 50  # a refused request reached no model
    usage = await apis.limiter.usage(key)
    assert usage.requests == 50 and usage.in_flight == 0
    # Each process answered its half; both refused requests (they share the window).
    for n, url in enumerate(apis.urls):
        mine = responses[n::2]
        assert len(mine) == 100 and any(r.status_code == 429 for r in mine), url
    for served in apis.processes:
        assert secret not in "".join(served.log) and "Traceback" not in "".join(served.log)


async def test_tpm_with_streamed_responses_reserves_then_reconciles(
    apis: Apis, stub: StubServer, http: httpx.AsyncClient
) -> None:
    body = chat(200, stream=True)
    reserve = reserved_tokens(body)
    tpm = reserve * 9 // 2  # room for 4 reservations, not 5
    key, secret = apis.key(tpm=tpm)
    headers = {"authorization": f"Bearer {secret}"}

    async def send(i: int) -> httpx.Response:
        return await http.post(
            f"{apis.urls[i % 2]}/v1/chat/completions", headers=headers, json=body
        )

    first = await held_wave(stub, 12, send)
    admitted = [r for r in first if r.status_code == 200]
    assert len(admitted) == 4, [r.status_code for r in first]
    for refused in (r for r in first if r.status_code != 200):
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    for response in admitted:
        events = sse_data(response)
        assert events[-1] == "[DONE]"
        assert events[-2]["usage"]["total_tokens"] == 18  # the stub's streamed usage
        text = "".join(
            c["choices"][0]["delta"].get("content") or "" for c in events[:-1] if c["choices"]
        )
        assert text == "stub answer"
    # The streamed calls were charged what they used, not what they reserved ...
    assert (await apis.limiter.usage(key)).tokens == 4 * 18
    # ... so the room their reservations held is free again.
    second = await held_wave(stub, 12, send)
    assert [r.status_code for r in second].count(200) == (tpm - 4 * 18) // reserve
    assert len(stub.requests) == 8


async def test_a_budget_crossed_by_concurrent_requests_is_not_overshot(
    apis: Apis, stub: StubServer, http: httpx.AsyncClient
) -> None:
    body = chat(400)
    prompt = reserved_tokens(body) - 400
    reservation = cost_usd(MODEL, prompt, 400)
    budget = reservation * 4.5
    # The provider reports about half of what was reserved.
    used = {"prompt_tokens": prompt, "completion_tokens": 200, "total_tokens": prompt + 200}
    actual = cost_usd(MODEL, prompt, 200)

    def reply(sent: dict[str, Any]) -> dict[str, Any]:
        return completion(sent["model"], {"role": "assistant", "content": "ok"}) | {"usage": used}

    stub.reply = reply
    key, secret = apis.key(budget_usd=budget)
    headers = {"authorization": f"Bearer {secret}"}

    async def send(i: int) -> httpx.Response:
        return await http.post(
            f"{apis.urls[i % 2]}/v1/chat/completions", headers=headers, json=body
        )

    first = await held_wave(stub, 12, send)
    assert [r.status_code for r in first].count(200) == 4  # 4 reservations fit, not 5
    for refused in (r for r in first if r.status_code != 200):
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "budget_exceeded"
        assert "retry-after" not in refused.headers  # waiting does not help a budget
    assert (await apis.limiter.usage(key)).spent_usd == pytest.approx(4 * actual)
    # Now unheld: requests settle while others are admitted.
    second = await asyncio.gather(*(send(i) for i in range(12)))
    admitted = 4 + [r.status_code for r in second].count(200)
    for _ in range(10):  # then one at a time, until the budget refuses
        last = await send(0)
        if last.status_code != 200:
            break
        admitted += 1
    assert last.status_code == 429 and last.json()["error"]["code"] == "budget_exceeded"
    usage = await apis.limiter.usage(key)
    assert usage.spent_usd == pytest.approx(admitted * actual)
    assert usage.reserved_usd == 0 and usage.in_flight == 0
    assert usage.spent_usd <= budget + reservation  # not overshot by more than one
    assert usage.spent_usd <= budget  # (and here, not at all: usage < reservation)
    assert budget - usage.spent_usd < reservation  # it was used up, not refused early
    assert len(stub.requests) == admitted
