"""Secrets and content out of a real worker's log: a worker process at INFO (the SDK's
own lines included, tracebacks kept) in JSON format runs an AgentWorkflow with a tool
call, one whose provider answers with an error echoing a key and a `?key=` URL, and one
whose prompt holds a key. Every line it writes is JSON; none holds a marker of a prompt,
a tool argument or an answer, nor either key; the failure the caller sees holds neither
key."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowFailureError

from hybridagent.testing.stub_server import StubServer, text_reply, tool_then_text
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput
from tests.conftest import make_settings
from tests.integration.test_api import serving_api
from tests.integration.test_cli import cli_env
from tests.integration.test_encryption import marker
from tests.integration.test_worker_crash import start_worker, until

FAKE_KEY = "sk-proj-" + "Zx81Qw7Lm2Np4Rt6Vb9Kc3Hd5Fg1Js0"
GOOGLE_KEY = "AIzaSyD" + "Lq0Wm3Xn5Ct7Bv9Zr2Ts4Yp6Uk8Hj1Gf3D"
ECHOING_ERROR = (
    f"Incorrect API key provided: {FAKE_KEY}. Request to "
    f"https://gen.example/v1beta/models/g:generateContent?key={GOOGLE_KEY} was refused."
)
WEATHER = {"name": "weather", "instructions": "Use tools.", "tools": ["get_weather"]}


def failure_text(error: BaseException) -> str:
    """Every message in a failure's cause chain."""
    parts = []
    current: BaseException | None = error
    while current is not None:
        parts.append(str(current))
        current = current.__cause__
    return "\n".join(parts)


async def test_a_json_worker_log_holds_no_content_and_no_key(
    temporal_address: str, stub: StubServer, tmp_path: Path
) -> None:
    queue = f"logs-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    worker = start_worker(
        cli_env(
            TEMPORAL_ADDRESS=temporal_address,
            HYBRIDAGENT_TASK_QUEUE=queue,
            HYBRIDAGENT_EMBEDDED="off",
            HYBRIDAGENT_STATE_DIR=str(tmp_path),
            OPENAI_API_KEY="sk-test-stub-key",
            OPENAI_BASE_URL=stub.base_url,
            HYBRIDAGENT_MODEL_RETRY_INITIAL_SECONDS="0.1",
            HYBRIDAGENT_LOG_FORMAT="json",
            HYBRIDAGENT_LOG_LEVEL="INFO",
            HYBRIDAGENT_SDK_LOG_LEVEL="INFO",
        ),
        log,
    )
    markers: list[str] = []
    try:
        await until(lambda: "worker on task queue" in log.read_text(), "the worker to start")
        client = await connect(make_settings(temporal_address, tmp_path, task_queue=queue))
        markers += await _tool_run(client, queue, stub)
        markers += await _provider_error_run(client, queue, stub)
        markers += await _key_in_prompt_run(client, queue)
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    lines = [line for line in log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    everything = "\n".join(lines)
    for secret in (FAKE_KEY, GOOGLE_KEY, "sk-test-stub-key", *markers):
        assert secret not in everything, f"{secret} in the worker's log"
    # The log did see the failed attempt, its traceback and the echoing error: scrubbed.
    failed = [e for e in entries if "Completing activity as failed" in e["message"]]
    assert failed and any("[redacted]" in e.get("exception", "") for e in failed), failed
    # Correlated: the SDK's activity lines and lines of other loggers inside an activity
    # (httpx's, calling the model) name the run.
    assert all(e["workflow_id"].startswith("logs-") and e["run_id"] for e in failed), failed
    calls = [e for e in entries if "/chat/completions" in e["message"]]
    assert calls and all(e.get("workflow_id", "").startswith("logs-") for e in calls), calls
    assert any(e["logger"] == "hybridagent.status" for e in entries)
    assert any(e["logger"] == "temporalio.core" for e in entries)  # forwarded, not printed


async def _tool_run(client: Client, queue: str, stub: StubServer) -> list[str]:
    """Markers in the prompt, the tool's argument (so its result) and the answer."""
    prompt, city, answer = marker("prompt"), marker("city"), marker("answer")
    stub.reply = tool_then_text("get_weather", {"city": city}, f"It is {answer}.")
    result = await client.execute_workflow(
        "AgentWorkflow",
        {"prompt": f"Weather for {prompt}?", "model": "openai/gpt-4o-mini", "spec": WEATHER},
        id=f"logs-{uuid.uuid4().hex[:10]}",
        task_queue=queue,
        result_type=AgentRunOutput,
    )
    assert result.final_output == f"It is {answer}."
    sent = json.dumps([r.body for r in stub.requests])
    assert prompt in sent and f"The weather in {city}" in sent  # the real tool ran
    return [prompt, city, answer]


async def _provider_error_run(client: Client, queue: str, stub: StubServer) -> list[str]:
    prompt = marker("errprompt")
    stub.reset()
    stub.status, stub.error_message = 401, ECHOING_ERROR
    with pytest.raises(WorkflowFailureError) as caught:
        await client.execute_workflow(
            "AgentWorkflow",
            {"prompt": prompt, "model": "openai/gpt-4o-mini"},
            id=f"logs-{uuid.uuid4().hex[:10]}",
            task_queue=queue,
        )
    said = failure_text(caught.value)
    assert stub.requests and "rejected the API key" in said, said
    assert FAKE_KEY not in said and GOOGLE_KEY not in said
    stub.reset()
    return [prompt]


async def _key_in_prompt_run(client: Client, queue: str) -> list[str]:
    """A key in the prompt: private, so no cloud model takes it, and this worker has no
    local one; neither the log nor the error repeats the key."""
    prompt = marker("keyprompt")
    with pytest.raises(WorkflowFailureError) as caught:
        await client.execute_workflow(
            "AgentWorkflow",
            {"prompt": f"{prompt}: is {FAKE_KEY} a valid key?", "model": "openai/gpt-4o-mini"},
            id=f"logs-{uuid.uuid4().hex[:10]}",
            task_queue=queue,
        )
    said = failure_text(caught.value)
    assert "call must stay local" in said and FAKE_KEY not in said, said
    return [prompt]


async def test_the_workers_lines_of_an_api_request_carry_its_request_id(
    temporal_address: str, stub: StubServer, tmp_path: Path
) -> None:
    """A JSON worker process at INFO behind the API: the lines of a completion's run (the
    routing decision, the model activity's HTTP call) carry the request ID the client
    sent, and a chat message's lines that message's ID, not the one that opened it."""
    queue = f"reqid-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    worker = start_worker(
        cli_env(
            TEMPORAL_ADDRESS=temporal_address, HYBRIDAGENT_TASK_QUEUE=queue,
            HYBRIDAGENT_EMBEDDED="off", HYBRIDAGENT_STATE_DIR=str(tmp_path),
            OPENAI_API_KEY="sk-test-stub-key", OPENAI_BASE_URL=stub.base_url,
            HYBRIDAGENT_LOG_FORMAT="json", HYBRIDAGENT_LOG_LEVEL="INFO",
        ),
        log,
    )  # fmt: skip
    completion_id, opened_id, message_id = (f"req_{uuid.uuid4().hex}" for _ in range(3))
    stub.reply = text_reply("Hello.")
    try:
        await until(lambda: "worker on task queue" in log.read_text(), "the worker to start")
        settings = make_settings(temporal_address, tmp_path, task_queue=queue)
        async with (
            serving_api(settings) as api,
            httpx.AsyncClient(
                base_url=api.url, headers={"Authorization": f"Bearer {api.key}"}, timeout=120
            ) as http,
        ):
            body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
            done = await http.post(
                "/v1/chat/completions", json=body, headers={"x-request-id": completion_id}
            )
            assert done.status_code == 200, done.text
            assert done.headers["x-request-id"] == completion_id
            run = done.headers["x-hybridagent-workflow-id"]
            opened = await http.post(
                "/v1/sessions", json={"model": "openai/gpt-4o-mini"},
                headers={"x-request-id": opened_id},
            )  # fmt: skip
            session = opened.json()["id"]
            sent = await http.post(
                f"/v1/sessions/{session}/messages", json={"content": "Hi again"},
                headers={"x-request-id": message_id},
            )  # fmt: skip
            assert sent.status_code == 200, sent.text
        assert len(stub.requests) == 2

        def lines_of(workflow_id: str) -> list[dict[str, Any]]:
            entries = [json.loads(line) for line in log.read_text().splitlines() if line]
            return [e for e in entries if e.get("workflow_id") == workflow_id]

        def written(workflow_id: str) -> bool:
            messages = [e["message"] for e in lines_of(workflow_id)]
            return any(m.startswith("routing: ") for m in messages) and any(
                "/chat/completions" in m for m in messages
            )

        await until(lambda: written(run) and written(session), "the runs' lines in the log")
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    # Every line of the completion's run names its request; the model activity's HTTP
    # call and the routing decision among them.
    assert {e.get("request_id") for e in lines_of(run)} == {completion_id}, lines_of(run)
    # The session's message: the lines of the `send` Update name the message's request.
    calls = [e for e in lines_of(session) if "/chat/completions" in e["message"]]
    routed = [e for e in lines_of(session) if e["message"].startswith("routing: ")]
    assert calls and routed
    assert {e.get("request_id") for e in calls + routed} == {message_id}, calls + routed
