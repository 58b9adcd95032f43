"""Model-call timeouts and retries from configuration, on the time-skipping test server:
a model that never answers costs no wall-clock time to time out.
"""

from __future__ import annotations

import sysconfig
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from hybridagent.config import Settings
from hybridagent.routing.preferences import RoutingSettings
from hybridagent.testing.scripted_model import ScriptedBackend, ScriptedModel, text_response
from hybridagent.workflows.io import AgentRunOutput
from tests.helpers import (
    activity_attempts,
    local_activity_markers,
    replay,
    scheduled_activities,
    scripted_worker,
)


@pytest.fixture(scope="module")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    binary = Path(sysconfig.get_path("scripts")) / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(binary))
    yield env
    await env.shutdown()


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "task_queue": f"ts-{uuid.uuid4().hex[:8]}",
        "model_start_to_close_seconds": 2.0,
        "model_schedule_to_close_seconds": 3600.0,
        "model_max_attempts": 3,
        # Backoff timers are what the time-skipping server skips: 60 s + 120 s here.
        "model_retry_initial_seconds": 60.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def run_with(
    env: WorkflowEnvironment, config: Settings, model: ScriptedModel
) -> tuple[Client, str]:
    workflow_id = f"ts-{uuid.uuid4().hex[:8]}"
    async with scripted_worker(env, config, {"local": ScriptedBackend(model)}) as client:
        handle = await client.start_workflow(
            "AgentWorkflow",
            {"prompt": "hello"},
            id=workflow_id,
            task_queue=config.task_queue,
            result_type=AgentRunOutput,
        )
        try:
            await handle.result()
        except WorkflowFailureError as err:
            raise err
    return client, workflow_id


async def test_hanging_model_times_out_after_configured_attempts(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    config = settings()
    model = ScriptedModel(hang=True)
    with pytest.raises(WorkflowFailureError) as caught:
        await run_with(time_skipping_env, config, model)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "ActivityTimeout"
    assert "timed out (START_TO_CLOSE)" in cause.message
    assert model.calls == 3  # exactly maximum_attempts, then the run fails


async def test_retry_backoff_is_durable_server_time(time_skipping_env: WorkflowEnvironment) -> None:
    def respond(call: int):  # type: ignore[no-untyped-def]
        if call < 3:
            raise ConnectionError("transient")
        return text_response("third time lucky")

    config = settings()
    client, workflow_id = await run_with(time_skipping_env, config, ScriptedModel(respond))
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    first, last = (
        history.events[0].event_time.ToDatetime(),
        history.events[-1].event_time.ToDatetime(),
    )
    # 60 s + 120 s of backoff passed on the server's clock, skipped by the test server.
    assert (last - first).total_seconds() >= 180
    assert activity_attempts(history) == [3]


async def test_schedule_to_close_bounds_all_attempts(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    # 3 attempts x 2 s plus 1 s backoffs need 8 s; a 4 s budget allows two.
    config = settings(model_schedule_to_close_seconds=4.0, model_retry_initial_seconds=1.0)
    model = ScriptedModel(hang=True)
    with pytest.raises(WorkflowFailureError) as caught:
        await run_with(time_skipping_env, config, model)
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == "ActivityTimeout"
    assert model.calls == 2


async def test_transient_failure_is_retried_then_succeeds(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    def respond(call: int):  # type: ignore[no-untyped-def]
        if call == 1:
            raise ConnectionError("first attempt fails")
        return text_response("second attempt answers")

    config = settings()
    client, workflow_id = await run_with(time_skipping_env, config, ScriptedModel(respond))
    handle = client.get_workflow_handle(workflow_id, result_type=AgentRunOutput)
    result = await handle.result()
    assert result.final_output == "second attempt answers"
    history = await handle.fetch_history()
    assert activity_attempts(history) == [2]
    await replay(history, config)


async def test_local_activities_are_selectable(time_skipping_env: WorkflowEnvironment) -> None:
    config = settings(use_local_activities=True)
    client, workflow_id = await run_with(time_skipping_env, config, ScriptedModel())
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    scheduled = [name for name, _ in scheduled_activities(history)]
    assert "invoke_model_activity" not in scheduled
    assert local_activity_markers(history) == 2  # start_run, the model call
    await replay(history, config)


async def test_hanging_model_falls_back_to_the_next_model_after_its_attempts(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    config = settings(
        model_max_attempts=2,
        routing=RoutingSettings(local_models=["local/scripted", "ollama/scripted"]),
    )
    hanging = ScriptedModel(hang=True)
    answering = ScriptedModel(lambda call: text_response("the second model answers"))
    backends = {"local": ScriptedBackend(hanging), "ollama": ScriptedBackend(answering, "ollama")}
    async with scripted_worker(time_skipping_env, config, backends) as client:
        handle = await client.start_workflow(
            "AgentWorkflow", {"prompt": "hello"}, id=f"ts-{uuid.uuid4().hex[:8]}",
            task_queue=config.task_queue, result_type=AgentRunOutput,
        )  # fmt: skip
        result = await handle.result()
    assert result.final_output == "the second model answers"
    assert result.models_used == ["ollama/scripted"]
    assert hanging.calls == 2 and answering.calls == 1
    history = await handle.fetch_history()
    calls = [i[0]["model_name"] for n, i in scheduled_activities(history) if n != "get_weather"]
    assert calls == ["local/scripted", "ollama/scripted"]
    await replay(history, config)
