"""Payloads encrypted at rest, on a real worker (embedded model as local, the recording
stub as the cloud) on the real dev server: the raw history holds no marker of a prompt,
tool argument, answer or failure message (read without a codec, by the Python SDK and by
the `temporal` CLI), and decodes to them with the codec, the codec server and a rotated
key ring. Streams (a chat session, the HTTP API's SSE) work through the codec too."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.exceptions import ApplicationError

from hybridagent.config import Settings
from hybridagent.dev_state import db_path
from hybridagent.providers.embedded import free_loopback_port
from hybridagent.runners.chat_client import session_summaries
from hybridagent.runners.devserver import DevServer, temporal_binary
from hybridagent.security.codec import PayloadKeyError
from hybridagent.security.codec_server import serve_codec
from hybridagent.security.keys import KeyRing, generate_ring, rotated
from hybridagent.testing.stub_server import StubServer, text_reply, tool_then_text
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.chat_session import MODEL_EVENTS_TOPIC, ChatReply, SessionState
from hybridagent.workflows.coordinator import CoordinatorOutput
from hybridagent.workflows.io import AgentRunOutput
from tests.conftest import RunningWorker, make_settings, running_worker
from tests.helpers import replay
from tests.integration.test_api import (
    Api,
    serving_api,
    test_runs_start_once_per_idempotency_key,
    test_streamed_completion_on_the_local_model,
)

# The HTTP API's streamed completion (local model) and run events (SSE), re-run here
# through an encrypting worker and API client: the `api` fixture below is theirs.
__all__ = [
    "test_runs_start_once_per_idempotency_key",
    "test_streamed_completion_on_the_local_model",
]

TOKEN = "codec-test-token"


def ring_text(ring: KeyRing) -> str:
    return ring.serialise().strip().replace("\n", ",")


@pytest.fixture(scope="module")
def ring_a() -> KeyRing:
    return generate_ring()


@pytest.fixture(scope="module")
async def enc_worker(
    temporal_address: str,
    embedded_url: str,
    cloud_stub: StubServer,
    tmp_path_factory: pytest.TempPathFactory,
    ring_a: KeyRing,
) -> AsyncIterator[RunningWorker]:
    settings = make_settings(
        temporal_address,
        tmp_path_factory.mktemp("encrypted"),
        embedded_url=embedded_url,
        openai_api_key="sk-test-stub-key",
        openai_base_url=cloud_stub.base_url,
        litellm_api_base=cloud_stub.base_url,
        litellm_api_key="sk-test-stub-key",
        cloud_model="openai/gpt-4o-mini",
        encryption_keys=ring_text(ring_a),
        codec_port=free_loopback_port(),
        codec_token=TOKEN,
    )
    async with running_worker(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def client(enc_worker: RunningWorker) -> Client:
    return await connect(enc_worker.settings)


@pytest.fixture(scope="module")
async def plain_client(temporal_address: str) -> Client:
    """No codec: what anyone reading the Temporal server sees."""
    return await Client.connect(temporal_address)


@pytest.fixture(scope="module")
async def codec_server(enc_worker: RunningWorker) -> AsyncIterator[str]:
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve_codec(enc_worker.settings, stop=stop, on_ready=ready.set_result)
    )
    yield await ready
    stop.set()
    await task


def settings_with(worker: RunningWorker, ring: KeyRing) -> Settings:
    return worker.settings.model_copy(update={"encryption_keys": _secret(ring_text(ring))})


def _secret(text: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(text)


def marker(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


async def temporal_show(worker: RunningWorker, workflow_id: str, *codec: str) -> str:
    """In a thread: the codec server it may call runs on this event loop."""
    done = await asyncio.to_thread(
        subprocess.run,
        [str(temporal_binary()), "workflow", "show", "-w", workflow_id, "-o", "json",
         "--address", worker.settings.temporal_address, *codec],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return str(done.stdout)


def readable_text(value: Any) -> Iterator[str]:
    """Every string in a JSON document, and the base64 strings decoded, recursively."""
    if isinstance(value, dict):
        for item in value.values():
            yield from readable_text(item)
    elif isinstance(value, list):
        for item in value:
            yield from readable_text(item)
    elif isinstance(value, str):
        yield value
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return
        yield raw.decode("utf-8", errors="replace")


def assert_nowhere(markers: list[str], *documents: str | bytes) -> None:
    for document in documents:
        for found in markers:
            needle = found.encode() if isinstance(document, bytes) else found
            assert needle not in document, f"{found} in plain text"


async def raw_history_bytes(plain_client: Client, workflow_id: str) -> bytes:
    history = await plain_client.get_workflow_handle(workflow_id).fetch_history()
    return b"".join(event.SerializeToString() for event in history.events)


# The workflow IDs of a run (a coordinator's children too) and the markers it carried.
Run = tuple[list[str], list[str]]


async def agent_tool_run(
    client: Client, queue: str, stub: StubServer
) -> tuple[WorkflowHandle[Any, Any], list[str]]:
    """An AgentWorkflow whose model calls get_weather: markers in prompt, tool
    argument (and so the tool's result) and the answer."""
    prompt, city, answer = marker("prompt"), marker("city"), marker("answer")
    stub.reset()
    stub.reply = tool_then_text("get_weather", {"city": city}, f"It is {answer}.")
    handle = await client.start_workflow(
        "AgentWorkflow",
        {"prompt": f"Weather for {prompt}?", "agent": "haiku", "model": "openai/gpt-4o-mini"},
        id=f"enc-{uuid.uuid4().hex[:10]}",
        task_queue=queue,
        result_type=AgentRunOutput,
    )
    result = await handle.result()
    assert result.final_output == f"It is {answer}."
    sent = json.dumps([r.body for r in stub.requests])
    assert prompt in sent and f"The weather in {city}" in sent  # the real tool ran
    return handle, [prompt, city, answer]


async def chat_run(client: Client, queue: str, stub: StubServer) -> Run:
    """A chat session of three messages, a marker in each and in each reply (and the
    first message in the session's memo, as its title)."""
    said = [marker(f"said{n}") for n in range(3)]
    answers = {one: marker(f"reply{n}") for n, one in enumerate(said)}

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        last = json.dumps(body["messages"][-1])
        answer = next(a for s, a in answers.items() if s in last)
        return text_reply(f"Noted, {answer}.")(body)

    stub.reset()
    stub.reply = reply
    handle = await client.start_workflow(
        "ChatSessionWorkflow", {"model": "openai/gpt-4o-mini"},
        id=f"enc-chat-{uuid.uuid4().hex[:10]}", task_queue=queue, result_type=SessionState,
    )  # fmt: skip
    for one in said:
        got = await handle.execute_update("send", f"Remember {one}.", result_type=ChatReply)
        assert got.reply == f"Noted, {answers[one]}."
    await handle.execute_update("end", result_type=SessionState)
    await handle.result()
    return [handle.id], [*said, *answers.values()]


async def coordinator_run(client: Client, queue: str, stub: StubServer) -> Run:
    """Two specialists (child AgentWorkflows) and a synthesis, on the stub."""
    prompt, answer = marker("coordprompt"), marker("coordanswer")
    stub.reset()
    stub.reply = text_reply(f"Answer {answer}.")
    workflow_id = f"enc-coord-{uuid.uuid4().hex[:10]}"
    names = ["math-tutor", "creative-writer"]
    result = await client.execute_workflow(
        "CoordinatorWorkflow",
        {"prompt": f"Explain {prompt}.", "specialists": names, "model": "openai/gpt-4o-mini"},
        id=workflow_id, task_queue=queue, result_type=CoordinatorOutput,
    )  # fmt: skip
    assert result.final_output == f"Answer {answer}." and len(result.specialists) == 2
    assert prompt in json.dumps([r.body for r in stub.requests])
    return [workflow_id, *(f"{workflow_id}-{name}" for name in names)], [prompt, answer]


async def failing_run(client: Client, queue: str) -> Run:
    """An unknown model: the failure message names it, encrypted."""
    prompt, model = marker("failprompt"), marker("failmodel")
    handle = await client.start_workflow(
        "AgentWorkflow", {"prompt": prompt, "model": f"gemini/{model}"},
        id=f"enc-{uuid.uuid4().hex[:10]}", task_queue=queue,
    )  # fmt: skip
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "UnknownModelError"
    assert f"gemini/{model}" in cause.message  # decoded back for the codec's reader
    return [handle.id], [prompt, model]


async def assert_encrypted_at_rest(
    run: Run, plain_client: Client, worker: RunningWorker, codec_server: str
) -> None:
    """No marker in the raw history (the SDK's bytes, `temporal workflow show -o json`
    with base64 decoded); all of them with the codec server; the history replays."""
    workflow_ids, markers = run
    for workflow_id in workflow_ids:
        assert_nowhere(markers, await raw_history_bytes(plain_client, workflow_id))
    shown = [await temporal_show(worker, workflow_id) for workflow_id in workflow_ids]
    plain = "\n".join(t for one in shown for t in readable_text(json.loads(one)))
    assert_nowhere(markers, plain)
    assert "binary/encrypted" in plain
    decoded = [
        await temporal_show(
            worker,
            workflow_id,
            "--codec-endpoint",
            codec_server,
            "--codec-auth",
            f"Bearer {TOKEN}",
        )  # fmt: skip
        for workflow_id in workflow_ids
    ]
    text = "\n".join(t for one in decoded for t in readable_text(json.loads(one)))
    for found in markers:
        assert found in text, f"{found} not decoded"
    for workflow_id in workflow_ids:
        history = await plain_client.get_workflow_handle(workflow_id).fetch_history()
        await replay(history, worker.settings)


@pytest.fixture(scope="module")
async def tool_run(
    client: Client, enc_worker: RunningWorker, cloud_stub: StubServer
) -> tuple[WorkflowHandle[Any, Any], list[str]]:
    return await agent_tool_run(client, enc_worker.settings.task_queue, cloud_stub)


async def test_the_raw_history_holds_no_marker_and_the_codec_reads_it(
    tool_run: tuple[WorkflowHandle[Any, Any], list[str]],
    plain_client: Client,
    enc_worker: RunningWorker,
    codec_server: str,
) -> None:
    handle, markers = tool_run
    await assert_encrypted_at_rest(([handle.id], markers), plain_client, enc_worker, codec_server)
    with pytest.raises(Exception):  # noqa: B017 - the default converter cannot read it
        await plain_client.get_workflow_handle(handle.id).result()


async def test_a_failure_message_is_encrypted_too(
    client: Client, plain_client: Client, enc_worker: RunningWorker, codec_server: str
) -> None:
    run = await failing_run(client, enc_worker.settings.task_queue)
    assert b"Encoded failure" in await raw_history_bytes(plain_client, run[0][0])
    await assert_encrypted_at_rest(run, plain_client, enc_worker, codec_server)


async def test_a_chat_session_of_three_messages_is_encrypted_at_rest(
    client: Client, plain_client: Client, enc_worker: RunningWorker, stub: StubServer,
    codec_server: str,
) -> None:  # fmt: skip
    run = await chat_run(client, enc_worker.settings.task_queue, stub)
    await assert_encrypted_at_rest(run, plain_client, enc_worker, codec_server)
    # A client without the key lists sessions without failing, and leaves out the one
    # whose owner and title it cannot read; with the key it is listed.
    [session_id], _ = run
    deadline = asyncio.get_running_loop().time() + 60
    while session_id not in [s.session_id for s in await session_summaries(client)]:
        assert asyncio.get_running_loop().time() < deadline, "the session never got listed"
        await asyncio.sleep(0.2)  # visibility is eventually consistent
    assert session_id not in [s.session_id for s in await session_summaries(plain_client)]


async def test_a_coordinator_run_and_its_children_are_encrypted_at_rest(
    client: Client, plain_client: Client, enc_worker: RunningWorker, stub: StubServer,
    codec_server: str,
) -> None:  # fmt: skip
    run = await coordinator_run(client, enc_worker.settings.task_queue, stub)
    await assert_encrypted_at_rest(run, plain_client, enc_worker, codec_server)


async def test_a_rotated_ring_reads_old_runs_and_without_the_old_key_says_which(
    tool_run: tuple[WorkflowHandle[Any, Any], list[str]],
    enc_worker: RunningWorker,
    ring_a: KeyRing,
) -> None:
    handle, markers = tool_run
    ring_ab = rotated(ring_a)
    settings_ab = settings_with(enc_worker, ring_ab)
    reader = await connect(settings_ab)
    result = await reader.get_workflow_handle(handle.id, result_type=AgentRunOutput).result()
    assert markers[2] in result.final_output
    await replay(await handle.fetch_history(), settings_ab)

    only_b = KeyRing(active=ring_ab.active, keys={ring_ab.active: ring_ab.keys[ring_ab.active]})
    stranger = await connect(settings_with(enc_worker, only_b))
    with pytest.raises(PayloadKeyError) as caught:
        await stranger.get_workflow_handle(handle.id).result()
    assert str(caught.value).startswith(
        f"This payload is encrypted with key {ring_a.active!r}, which is not in the "
    )


async def test_a_plain_json_start_from_the_temporal_cli_still_runs(
    client: Client, enc_worker: RunningWorker, stub: StubServer
) -> None:
    stub.reply = text_reply("Plain start answered.")
    workflow_id = f"enc-cli-{uuid.uuid4().hex[:10]}"
    subprocess.run(
        [str(temporal_binary()), "workflow", "start", "--type", "AgentWorkflow",
         "--task-queue", enc_worker.settings.task_queue, "-w", workflow_id,
         "--address", enc_worker.settings.temporal_address,
         "--input", json.dumps({"prompt": "Say hi.", "model": "openai/gpt-4o-mini"})],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    handle = client.get_workflow_handle(workflow_id, result_type=AgentRunOutput)
    assert (await handle.result()).final_output == "Plain start answered."
    await replay(await handle.fetch_history(), enc_worker.settings)


async def test_a_streamed_chat_session_through_the_codec(
    client: Client, plain_client: Client, enc_worker: RunningWorker
) -> None:
    handle = await client.start_workflow(
        "ChatSessionWorkflow", {"stream": True}, id=f"enc-chat-{uuid.uuid4().hex[:10]}",
        task_queue=enc_worker.settings.task_queue, result_type=SessionState,
    )  # fmt: skip
    deltas: list[str] = []
    stream = WorkflowStreamClient.create(client, handle.id)

    async def read() -> None:
        async for item in stream.subscribe(MODEL_EVENTS_TOPIC, poll_cooldown=timedelta(0)):
            if item.data.get("type") == "response.output_text.delta":
                deltas.append(item.data["delta"])
            if item.data.get("type") == "response.completed":
                return

    reader = asyncio.create_task(read())
    said = marker("sea")
    reply: ChatReply = await handle.execute_update(
        "send", f"Write one sentence about the sea, {said}.", result_type=ChatReply
    )
    await asyncio.wait_for(reader, timeout=30)
    assert "".join(deltas) == reply.reply and len(deltas) > 1
    await handle.execute_update("end", result_type=SessionState)
    await handle.result()
    assert_nowhere([said], await raw_history_bytes(plain_client, handle.id))
    await replay(await handle.fetch_history(), enc_worker.settings)


@pytest.fixture(scope="module")
async def api(enc_worker: RunningWorker) -> AsyncIterator[Api]:
    """test_api's fixture on the encrypting worker."""
    async with serving_api(enc_worker) as running:
        yield running


def test_the_key_file_path_is_in_the_state_directory(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, state_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.key_file == tmp_path / "encryption-keys"


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """The dev server as `hybridagent dev` runs it: histories in a SQLite file."""
    server = DevServer(
        tmp_path_factory.mktemp("sqlite"), port=free_loopback_port(), ui_port=free_loopback_port()
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def sqlite_worker(
    sqlite_server: DevServer, enc_worker: RunningWorker
) -> AsyncIterator[RunningWorker]:
    """enc_worker's settings (ring, stub, embedded model) on the SQLite dev server."""
    settings = enc_worker.settings.model_copy(
        update={
            "temporal_address": sqlite_server.address,
            "task_queue": f"sq-{uuid.uuid4().hex[:8]}",
        }
    )
    async with running_worker(settings) as running:
        yield running


async def test_the_dev_servers_sqlite_file_holds_no_marker(
    sqlite_server: DevServer, sqlite_worker: RunningWorker, stub: StubServer, codec_server: str
) -> None:
    client = await connect(sqlite_worker.settings)
    plain_client = await Client.connect(sqlite_worker.settings.temporal_address)
    queue = sqlite_worker.settings.task_queue
    handle, tool_markers = await agent_tool_run(client, queue, stub)
    runs = [
        ([handle.id], tool_markers),
        await chat_run(client, queue, stub),
        await coordinator_run(client, queue, stub),
        await failing_run(client, queue),
    ]
    for run in runs:
        await assert_encrypted_at_rest(run, plain_client, sqlite_worker, codec_server)
    # A control: an input started without a codec is in the file as sent.
    control = marker("plaincontrol")
    unserved = await plain_client.start_workflow(
        "NoWorkerServesThis", {"prompt": control}, id=f"enc-plain-{uuid.uuid4().hex[:8]}",
        task_queue=f"nobody-{uuid.uuid4().hex[:8]}",
    )  # fmt: skip
    await unserved.terminate()

    database = db_path(sqlite_server.state_dir)

    def raw_bytes() -> bytes:
        found = []
        for path in sorted(database.parent.glob(f"{database.name}*")):  # -journal, -wal …
            try:
                found.append(path.read_bytes())
            except FileNotFoundError:  # a journal SQLite removed after the listing
                continue
        return b"\n".join(found)

    # A checkpoint between reading the file and its -wal can hide a page from one read:
    # read again until the control is seen (it was committed before terminate returned).
    deadline = asyncio.get_running_loop().time() + 60
    raw = raw_bytes()
    while not (control.encode() in raw and handle.id.encode() in raw):
        assert asyncio.get_running_loop().time() < deadline, "the control never reached the file"
        await asyncio.sleep(0.2)
        raw = raw_bytes()
    assert_nowhere([m for _, markers in runs for m in markers], raw)
