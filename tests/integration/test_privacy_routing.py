# ruff: noqa: E501  (one labelled prompt per line reads best)
"""The privacy promise end to end on the real dev server: with a cloud model forced, a
prompt of every category — its value stated (direct) or only described (contextual) —
never reaches the recording stub; and a run recorded under one learned model replays
under another, because the verdict is in the history."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle

from hybridagent.routing.categories import category_of
from hybridagent.routing.learned import MODEL_FILE
from hybridagent.routing.privacy import rule_findings
from hybridagent.testing.stub_server import StubServer
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput, RoutingRecord
from tests.conftest import RunningWorker, make_settings, running_worker
from tests.helpers import local_activity_results, replay

# (category, kind, prompt, a piece of it the cloud must never see)
PROMPTS = [
    ("contact", "direct", "Text Ingrid that I'm late, her mobile is +47 912 34 567.", "912 34 567"),
    (
        "contact",
        "contextual",
        "Email my ex-wife at her work address, the one at the hospital where she moved last spring, and ask about the custody weekend.",
        "custody weekend",
    ),
    (
        "identification",
        "direct",
        "My passport number is X4409127, fill it into the visa form.",
        "X4409127",
    ),
    (
        "identification",
        "contextual",
        "Put my social security number on the form, it's the one on the card in my wallet that starts with my birth month.",
        "birth month",
    ),
    (
        "financial",
        "direct",
        "Pay the rent from my IBAN DE89 3704 0044 0532 0130 00 on Friday.",
        "0532 0130",
    ),
    (
        "financial",
        "contextual",
        "Use the account number my bank sent, the one ending in the year I was born, to set up the direct debit.",
        "year I was born",
    ),
    (
        "authentication",
        "direct",
        "export API_TOKEN=Zx81kQ2mPa9 and then run the deploy for me",
        "Zx81kQ2mPa9",
    ),
    (
        "authentication",
        "contextual",
        "My email password is my dog's name followed by the year we got him, help me remember which year that was.",
        "dog's name",
    ),
    (
        "health",
        "direct",
        "I was diagnosed with bipolar disorder in May; draft a note to my manager asking for reduced hours.",
        "bipolar",
    ),
    (
        "health",
        "contextual",
        "since my breakdown in march i have been seeing someone every week and my manager does not know, help me ask for a quiet desk",
        "breakdown in march",
    ),
    (
        "location_network",
        "direct",
        "Deliver the sofa to 221 Maple Street, Springfield, I'm home after six.",
        "221 Maple Street",
    ),
    (
        "location_network",
        "contextual",
        "Tell the courier my flat is the blue door above the bakery on the corner by the station, second floor on the left.",
        "blue door above the bakery",
    ),
    (
        "account_profile",
        "direct",
        "My loyalty number is 88120045 with the airline, add the missing miles.",
        "88120045",
    ),
    (
        "account_profile",
        "contextual",
        "Write my dating profile: divorced twice, 43, nurse at the children's hospital downtown, two kids who live with me.",
        "divorced twice",
    ),
    (
        "device_incident",
        "direct",
        "My phone's serial number is F2LXK3J9HG7Q, tell Apple support it was stolen yesterday.",
        "F2LXK3J9HG7Q",
    ),
    (
        "device_incident",
        "contextual",
        "Our doorbell camera recorded my neighbour's son taking packages from our porch last night; write the police report.",
        "neighbour's son",
    ),
    (
        "media_content",
        "direct",
        "Summarise this chat with my sister: 'Mum's test came back positive, don't tell Dad until Sunday.'",
        "don't tell Dad",
    ),
    (
        "media_content",
        "contextual",
        "Go through the voice memos I recorded during my divorce hearings and list what my ex admitted to.",
        "what my ex admitted",
    ),
    (
        "ancillary",
        "direct",
        "My brother Karim was arrested for drink driving last week; write a character letter for the court.",
        "Karim",
    ),
    (
        "ancillary",
        "contextual",
        "my son Theo has autism and gets bullied at Hillcrest Primary, write to his teacher",
        "Hillcrest Primary",
    ),
]


@pytest.fixture(scope="module")
async def client(worker: RunningWorker) -> Client:
    return await connect(worker.settings)


async def start(client: Client, queue: str, prompt: str) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        "AgentWorkflow",
        {"prompt": prompt, "routing": {"force_provider": "cloud"}},
        id=f"privacy-{uuid.uuid4().hex[:10]}",
        task_queue=queue,
        result_type=AgentRunOutput,
    )


def leaked(stub: StubServer, value: str) -> bool:
    return any(value in json.dumps(r.body, ensure_ascii=False) for r in stub.requests)


@pytest.mark.parametrize(
    ("category", "kind", "prompt", "value"), PROMPTS, ids=[f"{c}-{k}" for c, k, _, _ in PROMPTS]
)
async def test_private_prompts_never_reach_the_cloud_even_when_it_is_forced(
    client: Client, worker: RunningWorker, stub: StubServer,
    category: str, kind: str, prompt: str, value: str,
) -> None:  # fmt: skip
    stub.requests.clear()
    handle = await start(client, worker.settings.task_queue, prompt)
    result = await handle.result()
    assert result.models_used == ["local/smollm2"]
    [record] = await handle.query("routing_trail", result_type=list[RoutingRecord])
    assert record.local_only and record.finding_types
    assert "force_provider=cloud refused: the call must stay local" in record.reasons
    assert stub.requests == [] and not leaked(stub, value)
    # Findings name a category, never the text.
    assert all(category_of(kind) for kind in record.finding_types)
    assert value not in json.dumps(record.model_dump(), ensure_ascii=False)


def scan_results(history: Any) -> list[dict[str, Any]]:
    """The recorded privacy verdicts of the run: its scan_privacy local activities' and
    the one its start_run made of the prompt."""
    results = []
    for name, result in local_activity_results(history):
        if name == "scan_privacy":
            results.append(result)
        elif name == "start_run" and result["prescan"]:
            results.append(result["prescan"]["result"])
    return results


async def test_a_history_recorded_under_another_model_replays(
    client: Client,
    worker: RunningWorker,
    temporal_address: str,
    embedded_url: str,
    cloud_stub: StubServer,
    stub: StubServer,
    tmp_path: Path,
) -> None:
    # An "older" model: the packaged table under another version, far less sensitive.
    packaged = Path(__file__).resolve().parents[2] / "hybridagent/routing/data" / MODEL_FILE
    table = json.loads(gzip.decompress(packaged.read_bytes()))
    table.update(version="lr-older", threshold=0.9999)
    older = tmp_path / "older.json.gz"
    older.write_bytes(gzip.compress(json.dumps(table).encode()))
    settings = make_settings(
        temporal_address, tmp_path, embedded_url=embedded_url, openai_api_key="sk-test-stub-key",
        openai_base_url=cloud_stub.base_url, cloud_model="openai/gpt-4o-mini", privacy_model=older,
    )  # fmt: skip
    # A contextual disclosure only the learned stage sees (the rules find nothing in it).
    _, _, prompt, value = next(p for p in PROMPTS if p[0] == "health" and p[1] == "contextual")
    assert not rule_findings(prompt)  # else the older model's verdict would not matter
    async with running_worker(settings) as running:
        stub.requests.clear()
        handle = await start(client, running.settings.task_queue, prompt)
        assert (await handle.result()).models_used == ["openai/gpt-4o-mini"]
        assert leaked(stub, value)  # the older model let it out: that is what it recorded
    history = await handle.fetch_history()
    [recorded] = scan_results(history)
    assert recorded["model_version"] == "lr-older"
    assert base64.b64encode(value.encode()).decode() not in str(recorded)
    # Replayed by workflow code that would now decide differently: the recorded verdict
    # holds, so the replay does not diverge.
    await replay(history, worker.settings)
    stub.requests.clear()
    now = await start(client, worker.settings.task_queue, prompt)
    assert (await now.result()).models_used == ["local/smollm2"]
    [current] = scan_results(await now.fetch_history())
    assert current["model_version"] != "lr-older" and stub.requests == []
