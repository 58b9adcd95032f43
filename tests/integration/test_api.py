"""The HTTP API on a real uvicorn server on loopback, in front of a real worker on the
Temporal dev server (embedded model as local, the recording stub as the cloud model and
privacy canary), driven by the `openai` SDK and plain HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import jsonschema
import openai
import pytest
import uvicorn
from agents import Agent, OpenAIChatCompletionsModel, RunConfig, Runner, function_tool

from hybridagent.api.app import create_app
from hybridagent.api.gate import Admission, Caller
from hybridagent.api.key_gate import KeyGate
from hybridagent.api.keys import KeyLimits, KeyStore, open_key_store
from hybridagent.api.limits import MemoryLimiter
from hybridagent.config import Settings
from hybridagent.testing.stub_server import StubServer, text_reply, tool_then_text
from hybridagent.workers.temporal_client import connect
from tests.conftest import RunningWorker
from tests.helpers import replay


class CountingGate(KeyGate):
    """The real gate (keys in SQLite, limits in memory), recording what it settles."""

    def __init__(self, store: KeyStore) -> None:
        super().__init__(store, MemoryLimiter())
        self.settled: list[int] = []
        self.admitted = 0

    async def admit(
        self, caller: Caller, *, estimated_tokens: int, estimated_cost_usd: float
    ) -> Admission:
        admission = await super().admit(
            caller, estimated_tokens=estimated_tokens, estimated_cost_usd=estimated_cost_usd
        )
        self.admitted += 1
        return admission

    async def settle(self, admission: Admission, *, tokens: int, cost_usd: float) -> None:
        self.settled.append(tokens)
        await super().settle(admission, tokens=tokens, cost_usd=cost_usd)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Api:
    url: str
    gate: CountingGate
    key: str  # no limits
    slow_key: str  # two requests per minute


@asynccontextmanager
async def serving_api(worker: RunningWorker | Settings) -> AsyncIterator[Api]:
    """The app under uvicorn on loopback in front of `worker` (or of a worker process
    with these settings), with two fresh keys."""
    settings = worker if isinstance(worker, Settings) else worker.settings
    store = open_key_store(settings)
    _, key = store.create(f"tester-{uuid.uuid4().hex[:6]}")
    _, slow = store.create(f"slow-{uuid.uuid4().hex[:6]}", KeyLimits(rpm=2))
    gate = CountingGate(store)
    app = create_app(settings, gate, client=await connect(settings))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)  # polling a flag uvicorn sets, not waiting out a race
    try:
        yield Api(f"http://127.0.0.1:{port}", gate, key, slow)
    finally:
        server.should_exit = True
        await task
        await gate.aclose()


@pytest.fixture(scope="module")
async def api(worker: RunningWorker) -> AsyncIterator[Api]:
    async with serving_api(worker) as running:
        yield running


def sdk(api: Api, key: str | None = None) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{api.url}/v1", api_key=key or api.key, max_retries=0)


async def test_a_completion_on_a_named_cloud_model(api: Api, stub: StubServer) -> None:
    stub.reply = text_reply("Hello from the cloud.")
    raw = await sdk(api).chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Say hello."}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello from the cloud."
    assert completion.choices[0].finish_reason == "stop"
    assert raw.headers["x-hybridagent-model"] == "openai/gpt-4o-mini"
    assert raw.headers["x-hybridagent-route"] == "cloud"
    assert raw.headers["x-hybridagent-workflow-id"] == completion.id
    assert raw.headers["x-request-id"].startswith("req_")
    [call] = stub.requests
    assert call.body["messages"][-1] == {"role": "user", "content": "Say hello."}


async def test_a_sensitive_prompt_never_reaches_the_cloud(api: Api, stub: StubServer) -> None:
    secret = "DB_PASSWORD=Tr0ub4dor&3"
    raw = await sdk(api).chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": f"Is this config line fine? {secret}"}],
        max_tokens=16,
    )
    assert raw.headers["x-hybridagent-route"] == "local"
    assert raw.headers["x-hybridagent-model"] == "local/smollm2"
    assert stub.requests == []
    # The client is told why a local model answered, in a header and a field its SDK
    # keeps as an extra; neither repeats the prompt.
    assert raw.headers["x-hybridagent-notice"] == "privacy_pinned"
    [notice] = (raw.parse().model_extra or {})["hybridagent_notices"]
    assert notice["code"] == "privacy_pinned"
    assert "openai/gpt-4o-mini" in notice["message"] and "local/smollm2" in notice["message"]
    assert "Tr0ub4dor" not in notice["message"] + str(raw.headers)


async def test_a_plain_completion_carries_no_notice(api: Api, stub: StubServer) -> None:
    stub.reply = text_reply("Plain.")
    raw = await sdk(api).chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Say plain."}]
    )
    assert "x-hybridagent-notice" not in raw.headers
    assert (raw.parse().model_extra or {})["hybridagent_notices"] == []


async def test_a_fallback_is_a_notice(api: Api, stub: StubServer) -> None:
    stub.status = 500  # the cloud model fails every attempt; the local model answers
    raw = await sdk(api).chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini", max_tokens=12,
        messages=[{"role": "user", "content": "Say hello."}],
    )  # fmt: skip
    assert raw.headers["x-hybridagent-model"] == "local/smollm2"
    codes = raw.headers["x-hybridagent-notice"].split(", ")
    assert "fallback" in codes
    notices = (raw.parse().model_extra or {})["hybridagent_notices"]
    [fallback] = [n for n in notices if n["code"] == "fallback"]
    assert fallback["message"].startswith("openai/gpt-4o-mini failed (ProviderServerError)")


async def test_emulated_tool_calls_are_a_notice(api: Api) -> None:
    """The embedded model has no native tool calling: its calls are emulated, and the
    completion says so (streamed: in the finish chunk)."""
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "lookup_order",
                "description": "Find an order by its number.",
                "parameters": {
                    "type": "object", "properties": {"order": {"type": "string"}},
                    "required": ["order"],
                },
            },
        }
    ]  # fmt: skip
    ask: Any = [{"role": "user", "content": "Where is order A-17? Look it up."}]
    raw = await sdk(api).chat.completions.with_raw_response.create(
        model="local/smollm2", tools=tools, messages=ask, max_tokens=64
    )
    assert "tool_emulation" in raw.headers["x-hybridagent-notice"].split(", ")
    notices = (raw.parse().model_extra or {})["hybridagent_notices"]
    assert [n["code"] for n in notices] == ["tool_emulation"]
    stream = await sdk(api).chat.completions.create(
        model="local/smollm2", tools=tools, messages=ask, max_tokens=64, stream=True
    )
    chunks = [chunk async for chunk in stream]
    [finish] = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    codes = [n["code"] for n in (finish.model_extra or {})["hybridagent_notices"]]
    assert codes == ["tool_emulation"]


async def test_client_tools_come_back_as_tool_calls(api: Api, stub: StubServer) -> None:
    stub.reply = tool_then_text("lookup_order", {"order": "A-17"}, "unused")
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "lookup_order",
                "description": "Find an order.",
                "parameters": {"type": "object", "properties": {"order": {"type": "string"}}},
            },
        }
    ]
    completion = await sdk(api).chat.completions.create(
        model="openai/gpt-4o-mini", tools=tools,
        messages=[{"role": "user", "content": "Where is order A-17?"}],
    )  # fmt: skip
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.function.name == "lookup_order"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"order": "A-17"}  # type: ignore[union-attr]
    assert len(stub.requests) == 1  # the client's tool was not run: no second call
    [sent] = stub.requests[0].body["tools"]
    assert sent["function"]["name"] == "lookup_order"


async def test_streamed_completion_on_the_local_model(api: Api) -> None:
    stream = await sdk(api).chat.completions.create(
        model="local/smollm2", stream=True, max_tokens=12,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Count to three."}],
    )  # fmt: skip
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].choices == []  # the usage chunk
    # llama.cpp's stream reports no usage: the limits are charged the estimate.
    assert api.gate.settled[-1] >= len(text) // 4 > 0


async def test_errors_are_one_envelope(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        no_key = await http.post("/v1/chat/completions", json={})
        assert no_key.status_code == 401
        assert no_key.json()["error"]["code"] == "invalid_api_key"
        headers = {"authorization": f"Bearer {api.key}"}
        hello = [{"role": "user", "content": "hi"}]
        bad = await http.post(
            "/v1/chat/completions", headers=headers, json={"model": "nope/x", "messages": hello}
        )
        assert bad.status_code == 404 and bad.json()["error"]["code"] == "model_not_found"
        invalid = await http.post("/v1/chat/completions", headers=headers, json={"model": "auto"})
        assert invalid.status_code == 400
        error = invalid.json()["error"]
        assert error["code"] == "invalid_request" and error["param"] == "messages"
        assert error["request_id"] == invalid.headers["x-request-id"]
        form = await http.post("/v1/runs", headers=headers, content=b'{"prompt": "x"}')
        assert form.status_code == 400
        assert "Content-Type: application/json" in form.json()["error"]["message"]
        huge = await http.post("/v1/chat/completions", headers=headers, content=b"x" * (2 << 20))
        assert huge.status_code == 413
        assert huge.json()["error"]["request_id"] == huge.headers["x-request-id"]


async def test_models_list_auto_the_local_model_and_agents(api: Api) -> None:
    models = [m.id async for m in sdk(api).models.list()]
    assert models[0] == "auto"
    assert "local/smollm2" in models and "openai/gpt-4o-mini" in models
    assert "agent/general" in models


async def test_runs_start_once_per_idempotency_key(api: Api, stub: StubServer) -> None:
    stub.reply = text_reply("Run answer.")
    headers = {"authorization": f"Bearer {api.key}", "idempotency-key": uuid.uuid4().hex}
    body = {"prompt": "Say something.", "model": "openai/gpt-4o-mini"}
    admitted = api.gate.admitted
    async with httpx.AsyncClient(base_url=api.url, timeout=120) as http:
        first = await http.post("/v1/runs", headers=headers, json=body)
        again = await http.post("/v1/runs", headers=headers, json=body)
        assert first.status_code == again.status_code == 202
        run_id = first.json()["id"]
        assert again.json()["id"] == run_id and "/workflows/" in first.json()["web_ui_url"]
        async with http.stream("GET", f"/v1/runs/{run_id}/events", headers=headers) as events:
            kinds = [
                json.loads(line[6:])["type"]
                async for line in events.aiter_lines()
                if line.startswith("data: ")
            ]
        assert "model_call" in kinds and kinds[-1] == "completed"
        run = (await http.get(f"/v1/runs/{run_id}", headers=headers)).json()
        assert run["status"] == "completed" and run["result"]["final_output"] == "Run answer."
        assert run["routing_trail"][0]["model"] == "openai/gpt-4o-mini"
        # Retried after the run finished: the same run again, not a 500 nor a new run.
        late = await http.post("/v1/runs", headers=headers, json=body)
        assert late.status_code == 202 and late.json()["id"] == run_id
    assert len(stub.requests) == 1  # the repeated POSTs started nothing
    assert api.gate.admitted == admitted + 1  # and were admitted (charged) once


async def test_concurrent_posts_with_one_idempotency_key_charge_one_run(
    api: Api, stub: StubServer
) -> None:
    stub.reply = text_reply("Once.")
    headers = {"authorization": f"Bearer {api.key}", "idempotency-key": uuid.uuid4().hex}
    body = {"prompt": "Say something.", "model": "openai/gpt-4o-mini"}
    admitted, settled = api.gate.admitted, len(api.gate.settled)
    async with httpx.AsyncClient(base_url=api.url, timeout=120) as http:
        answers = await asyncio.gather(
            *(http.post("/v1/runs", headers=headers, json=body) for _ in range(5))
        )
        assert {a.status_code for a in answers} == {202}
        assert len({a.json()["id"] for a in answers}) == 1
    charged = api.gate.admitted - admitted

    def settlements() -> list[int]:
        return api.gate.settled[settled:]

    deadline = asyncio.get_running_loop().time() + 120
    while len(settlements()) < charged or not any(settlements()):
        assert asyncio.get_running_loop().time() < deadline, settlements()
        await asyncio.sleep(0.05)
    assert len(stub.requests) == 1
    # However many raced past the repeat check, the run's usage is charged once; the
    # others' reservations are given back.
    assert len([t for t in settlements() if t > 0]) == 1, settlements()


async def sse_events(http: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[Any]:
    """The data of every event of an SSE response, in order."""
    async with http.stream("GET", path, headers=headers) as events:
        return [
            json.loads(line[6:]) async for line in events.aiter_lines() if line.startswith("data: ")
        ]


async def test_run_events_stream_the_models_text_before_the_end(
    api: Api, worker: RunningWorker
) -> None:
    """The embedded model's words arrive as text_delta events while the run goes on;
    together they are the run's final output, and they all come before `completed`."""
    headers = {"authorization": f"Bearer {api.key}"}
    body = {
        "prompt": "Name three colours.", "model": "local/smollm2", "max_turns": 1,
        "spec": {"name": "plain", "instructions": "Answer in one short sentence."},
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=api.url, timeout=180) as http:
        run_id = (await http.post("/v1/runs", headers=headers, json=body)).json()["id"]
        events = await sse_events(http, f"/v1/runs/{run_id}/events", headers)
        kinds = [event["type"] for event in events]
        assert kinds[-1] == "completed"
        deltas = [event["delta"] for event in events if event["type"] == "text_delta"]
        assert len(deltas) > 1  # streamed, not one block at the end
        assert {event["call"] for event in events if event["type"] == "text_delta"} == {1}
        assert kinds.index("model_call") < kinds.index("text_delta")
        assert "".join(deltas) == events[-1]["final_output"] != ""
        run = (await http.get(f"/v1/runs/{run_id}", headers=headers)).json()
        assert run["result"]["final_output"] == "".join(deltas)
        # Read again after the end: the same deltas, from the finished run's stream.
        again = await sse_events(http, f"/v1/runs/{run_id}/events", headers)
        assert [e["delta"] for e in again if e["type"] == "text_delta"] == deltas
    client = await connect(worker.settings)
    await replay(await client.get_workflow_handle(run_id).fetch_history(), worker.settings)


async def test_run_events_number_each_model_response(api: Api, stub: StubServer) -> None:
    """A tool-using run: the tool's call, then a second model response whose deltas
    (the highest `call`) are the final output."""
    stub.reply = tool_then_text("get_weather", {"city": "Tokyo"}, "It is sunny in Tokyo.")
    headers = {"authorization": f"Bearer {api.key}"}
    body = {
        "prompt": "What's the weather in Tokyo?", "model": "openai/gpt-4o-mini",
        "spec": {"name": "weather", "instructions": "Use the tools.", "tools": ["get_weather"]},
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=api.url, timeout=120) as http:
        run_id = (await http.post("/v1/runs", headers=headers, json=body)).json()["id"]
        events = await sse_events(http, f"/v1/runs/{run_id}/events", headers)
    kinds = [event["type"] for event in events]
    assert kinds.count("model_call") == 2 and "tool_call" in kinds
    assert kinds[-1] == "completed"
    deltas = [event for event in events if event["type"] == "text_delta"]
    last = max(event["call"] for event in deltas)
    assert last == 2  # the first response was the tool call
    final = "".join(event["delta"] for event in deltas if event["call"] == last)
    assert final == events[-1]["final_output"] == "It is sunny in Tokyo."
    assert all(r.body.get("stream") for r in stub.requests)  # both calls streamed


async def test_a_session_over_http(api: Api, stub: StubServer) -> None:
    stub.reply = text_reply("Session reply.")
    headers = {"authorization": f"Bearer {api.key}"}
    async with httpx.AsyncClient(base_url=api.url, timeout=120) as http:
        created = await http.post(
            "/v1/sessions", headers=headers, json={"model": "openai/gpt-4o-mini"}
        )
        assert created.status_code == 201
        session = created.json()["id"]
        reply = await http.post(
            f"/v1/sessions/{session}/messages", headers=headers, json={"content": "Hi!"}
        )
        assert reply.status_code == 200 and reply.json()["reply"] == "Session reply."
        assert reply.headers["x-hybridagent-route"] == "cloud"
        state = (await http.get(f"/v1/sessions/{session}", headers=headers)).json()
        assert [m["role"] for m in state["messages"]] == ["user", "assistant"]
        ended = await http.delete(f"/v1/sessions/{session}", headers=headers)
        assert ended.json()["state"]["ended"] is True


async def test_a_key_over_its_rate_limit_gets_429(api: Api, stub: StubServer) -> None:
    stub.reply = text_reply("ok")
    client = sdk(api, api.slow_key)
    hello: Any = [{"role": "user", "content": "hi"}]
    first = await client.chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini", messages=hello
    )
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    await client.chat.completions.create(model="openai/gpt-4o-mini", messages=hello)
    with pytest.raises(openai.RateLimitError) as refused:
        await client.chat.completions.create(model="openai/gpt-4o-mini", messages=hello)
    response = refused.value.response
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(response.headers["retry-after"]) > 0
    assert len(stub.requests) == 2  # the refused request reached no model
    # Listing does not count against the requests per minute.
    assert [m.id async for m in client.models.list()][0] == "auto"
    async with httpx.AsyncClient(base_url=api.url) as http:
        revoked = await http.get("/v1/models", headers={"authorization": "Bearer hya_nope"})
    assert revoked.status_code == 401


async def test_a_completion_replays(api: Api, worker: RunningWorker, stub: StubServer) -> None:
    stub.reply = tool_then_text("lookup", {"q": "x"}, "unused")
    tools: Any = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    completion = await sdk(api).chat.completions.create(
        model="openai/gpt-4o-mini", tools=tools,
        messages=[
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Find x."}
        ],
    )  # fmt: skip
    client = await connect(worker.settings)
    history = await client.get_workflow_handle(completion.id).fetch_history()
    await replay(history, worker.settings)


async def test_agents_are_created_read_updated_and_deleted(api: Api) -> None:
    headers = {"authorization": f"Bearer {api.key}"}
    name = f"api-agent-{uuid.uuid4().hex[:6]}"
    spec = {"name": name, "instructions": "Answer in French.", "tools": ["get_weather"]}
    async with httpx.AsyncClient(base_url=api.url, headers=headers) as http:
        assert (await http.post("/v1/agents", json=spec)).status_code == 201
        again = await http.post("/v1/agents", json=spec)
        assert again.status_code == 400 and "exists already" in again.json()["error"]["message"]
        assert (await http.get(f"/v1/agents/{name}")).json()["instructions"] == "Answer in French."
        changed = await http.put(f"/v1/agents/{name}", json={**spec, "instructions": "Be terse."})
        assert changed.json()["instructions"] == "Be terse."
        listed = [a["name"] for a in (await http.get("/v1/agents")).json()["data"]]
        assert name in listed and "general" in listed
        builtin = await http.delete("/v1/agents/general")
        assert builtin.status_code == 400
        assert (await http.delete(f"/v1/agents/{name}")).json()["deleted"] is True
        gone = await http.get(f"/v1/agents/{name}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "agent_not_found"
        assert str(api.key) not in gone.text


async def test_a_run_is_cancelled_and_another_key_cannot_see_it(api: Api, stub: StubServer) -> None:
    headers = {"authorization": f"Bearer {api.key}"}
    other = {"authorization": f"Bearer {api.slow_key}"}
    # A long local answer, so the run is still going when the cancel arrives.
    body = {"prompt": "Write a long story about the sea.", "model": "local/smollm2"}
    async with httpx.AsyncClient(base_url=api.url, timeout=120) as http:
        run_id = (await http.post("/v1/runs", headers=headers, json=body)).json()["id"]
        hidden = await http.get(f"/v1/runs/{run_id}", headers=other)
        assert hidden.status_code == 404
        cancelled = await http.post(f"/v1/runs/{run_id}/cancel", headers=headers)
        assert cancelled.status_code == 202
        async with http.stream("GET", f"/v1/runs/{run_id}/events", headers=headers) as events:
            last = [line async for line in events.aiter_lines() if line.startswith("data: ")][-1]
        assert json.loads(last[6:])["type"] == "cancelled"
        run = (await http.get(f"/v1/runs/{run_id}", headers=headers)).json()
        assert run["status"] == "cancelled"


async def test_the_agents_sdk_runs_a_client_tool_through_the_gateway(
    api: Api, stub: StubServer
) -> None:
    """OpenAIChatCompletionsModel pointed at the gateway: the model asks for the tool, the
    SDK runs it here, sends its result back, and gets the final text."""
    stub.reply = tool_then_text("get_weather", {"city": "Tokyo"}, "It is sunny in Tokyo.")
    ran: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return f"Sunny, 24 C in {city}."

    model = OpenAIChatCompletionsModel(model="openai/gpt-4o-mini", openai_client=sdk(api))
    agent = Agent(name="assistant", instructions="Use the tools.", tools=[get_weather], model=model)
    result = await Runner.run(
        agent, "What's the weather in Tokyo?", run_config=RunConfig(tracing_disabled=True)
    )
    assert result.final_output == "It is sunny in Tokyo."
    assert ran == ["Tokyo"]  # run by the client, not by the worker
    first, second = stub.requests
    assert first.body["tools"][0]["function"]["name"] == "get_weather"
    [called] = [m for m in second.body["messages"] if m.get("tool_calls")]
    assert called["tool_calls"][0]["id"] == "call_stub_1"
    [answer] = [m for m in second.body["messages"] if m["role"] == "tool"]
    assert answer["tool_call_id"] == "call_stub_1"
    assert answer["content"] == "Sunny, 24 C in Tokyo."


async def test_json_schema_response_format_on_the_local_model(api: Api) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "maxLength": 24},
            "sunny": {"type": "boolean"},
        },
        "required": ["city", "sunny"],
        "additionalProperties": False,
    }
    response_format: Any = {"type": "json_schema", "json_schema": {"name": "w", "schema": schema}}
    raw = await sdk(api).chat.completions.with_raw_response.create(
        model="local/smollm2", max_tokens=96, response_format=response_format,
        messages=[{"role": "user", "content": "Tokyo is sunny today. Answer as JSON."}],
    )  # fmt: skip
    assert raw.headers["x-hybridagent-route"] == "local"
    content = raw.parse().choices[0].message.content
    assert content is not None
    jsonschema.validate(json.loads(content), schema)


async def test_the_sync_openai_client_plain_and_streamed(api: Api, stub: StubServer) -> None:
    stub.reply = text_reply("Hello from the sync client.")

    def call() -> tuple[str | None, list[Any]]:
        # In a thread: this test's event loop serves the API and runs the worker.
        with openai.OpenAI(base_url=f"{api.url}/v1", api_key=api.key, max_retries=0) as client:
            hello: Any = [{"role": "user", "content": "Say hello."}]
            plain = client.chat.completions.create(model="openai/gpt-4o-mini", messages=hello)
            stream = client.chat.completions.create(
                model="openai/gpt-4o-mini", messages=hello, stream=True,
                stream_options={"include_usage": True},
            )  # fmt: skip
            return plain.choices[0].message.content, list(stream)

    content, chunks = await asyncio.to_thread(call)
    assert content == "Hello from the sync client."
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the sync client."
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 18
    assert [r.body.get("stream", False) for r in stub.requests] == [False, True]
