"""A backend is one spec (issue 13): this module adds one, with one model class of its
own, and a real worker on the real dev server routes runs to it, `hybridagent models`'
listing lists it and the health report shows it and files its circuit under it — with
no other file of the package or the tests touched.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import Model, ModelResponse, TResponseInputItem
from agents.items import TResponseStreamEvent
from rich.console import Console
from temporalio.client import Client, WorkflowFailureError

from hybridagent.providers.base import Backend, ModelBackend, ModelListing
from hybridagent.providers.guarded import GuardedModel
from hybridagent.providers.registry import BUILTIN, BackendSpec, BuildContext, BuiltBackend
from hybridagent.providers.stream_events import as_stream
from hybridagent.routing.names import NameRule
from hybridagent.runners.health import ask_workers, health_report
from hybridagent.runners.stack import list_models
from hybridagent.testing.scripted_model import text_response
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.io import AgentRunOutput
from tests.conftest import RunningWorker, make_settings, running_worker
from tests.helpers import replay

ANSWER = "the fake backend's answer"


class FakeModel(Model):
    """Answers every call with ANSWER; refuses to connect when the input says `unplug`,
    as a backend that went away would."""

    async def get_response(
        self, system_instructions: str | None, input: str | list[TResponseInputItem], *args: Any,
        **kwargs: Any,
    ) -> ModelResponse:  # fmt: skip
        if "unplug" in json.dumps(input, default=str):
            raise ConnectionError("the fake backend is unplugged")
        return text_response(ANSWER)

    async def stream_response(
        self, system_instructions: str | None, input: str | list[TResponseInputItem], *args: Any,
        **kwargs: Any,
    ) -> AsyncIterator[TResponseStreamEvent]:  # fmt: skip
        response = await self.get_response(system_instructions, input, *args, **kwargs)
        async for event in as_stream(response, "fake"):
            yield event


async def build_fake(ctx: BuildContext) -> BuiltBackend:
    def make(model: str) -> Model:
        return GuardedModel(
            FakeModel(), backend="Fake", endpoint="in-process", model=model, circuits=ctx.circuits
        )

    return BuiltBackend(ModelBackend("fake", make, models=["echo"]))


async def fake_health(backend: Backend) -> ModelListing:
    return await backend.list_models()


FAKE = BackendSpec(NameRule("fake", local=True), "Fake", build_fake, health=fake_health)


@pytest.fixture(scope="module")
async def fake_worker(
    temporal_address: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningWorker]:
    """A real worker (`serve`) built while FAKE is registered; Ollama is down and the
    embedded model off, so the fake is its only working backend."""
    with BUILTIN.registered(FAKE):
        settings = make_settings(temporal_address, tmp_path_factory.mktemp("fake"))
        async with running_worker(settings) as running:
            yield running


@pytest.fixture(scope="module")
async def client(fake_worker: RunningWorker) -> Client:
    return await connect(fake_worker.settings)


async def run(client: Client, worker: RunningWorker, prompt: str) -> Any:
    return await client.start_workflow(
        "AgentWorkflow", {"prompt": prompt, "model": "fake/echo"},
        id=f"fake-{uuid.uuid4().hex[:10]}", task_queue=worker.settings.task_queue,
        result_type=AgentRunOutput,
    )  # fmt: skip


async def test_a_run_naming_the_fake_model_is_answered_by_it(
    client: Client, fake_worker: RunningWorker
) -> None:
    handle = await run(client, fake_worker, "Say hi.")
    result = await handle.result()
    assert result.final_output == ANSWER
    assert result.models_used == ["fake/echo"]
    assert result.notices == []
    await replay(await handle.fetch_history(), fake_worker.settings)


async def test_the_listing_has_a_row_for_it(fake_worker: RunningWorker) -> None:
    fake = ModelListing("fake", "in-process", True, ["fake/echo"])
    # Without a worker: built from the settings, listed, closed.
    alone = await list_models(fake_worker.settings)
    assert [row.provider for row in alone] == ["ollama", "local", "openai", "litellm", "fake"]
    assert alone[-1] == fake
    # With the worker's report: the row the worker's own backend gave.
    view = await ask_workers(fake_worker.settings)
    assert view.health is not None
    assert (await list_models(fake_worker.settings, view.health))[-1] == fake


async def test_the_health_report_shows_it_and_files_its_circuit_under_it(
    client: Client, fake_worker: RunningWorker
) -> None:
    handle = await run(client, fake_worker, "Please unplug yourself.")
    with pytest.raises(WorkflowFailureError):
        await handle.result()  # no other model could take the call
    view = await ask_workers(fake_worker.settings)
    health = view.health
    assert health is not None
    assert health.backends == [ModelListing("fake", "in-process", True, ["fake/echo"])]
    circuit = health.provider_circuit("fake")
    assert (circuit.key, circuit.state, circuit.last_failure) == (
        "Fake in-process",
        "closed",
        "ProviderUnreachableError",
    )
    assert circuit.failures == fake_worker.settings.model_max_attempts
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(health_report(health))
    text = console.export_text()
    assert "fake         reachable at in-process: fake/echo" in text.splitlines()
    assert "│ fake " in text and "│ Fake in-process" in text
