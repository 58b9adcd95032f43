"""Helpers for reading workflow histories, replaying them, and running a worker whose
models are scripted."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from hybridagent.config import Settings
from hybridagent.providers.base import Backend
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.security.codec import with_encryption
from hybridagent.security.keys import configured_ring
from hybridagent.testing.scripted_model import ScriptedModel, ScriptedProvider
from hybridagent.workers.plugin import (
    WORKFLOWS,
    build_plugin,
    build_worker,
    model_activity_parameters,
    workflow_runner,
)


def scheduled_activities(history: WorkflowHistory) -> list[tuple[str, list[Any]]]:
    """(activity type, decoded JSON inputs) of every scheduled activity."""
    found = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            inputs = [json.loads(p.data) for p in attrs.input.payloads]
            found.append((attrs.activity_type.name, inputs))
    return found


def activity_summaries(history: WorkflowHistory) -> list[str]:
    """The summary each scheduled activity shows in the Web UI."""
    return [
        json.loads(e.user_metadata.summary.data)
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


def activity_attempts(history: WorkflowHistory) -> list[int]:
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]


def local_activity_results(history: WorkflowHistory) -> list[tuple[str, Any]]:
    """The activity type and recorded result of each local activity a run executed, in
    order (the markers of `workflow.patched` are left out)."""
    found = []
    for event in history.events:
        attributes = event.marker_recorded_event_attributes
        if (
            event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and attributes.marker_name == "core_local_activity"
        ):
            data = json.loads(attributes.details["data"].payloads[0].data)
            result = attributes.details.get("result")
            value = json.loads(result.payloads[0].data) if result and result.payloads else None
            found.append((data["activity_type"], value))
    return found


def local_activity_markers(history: WorkflowHistory) -> int:
    return len(local_activity_results(history))


def local_activities(history: WorkflowHistory) -> list[str]:
    """The activity types of the local activities a run executed, in order."""
    return [name for name, _ in local_activity_results(history)]


async def replay(history: WorkflowHistory, settings: Settings) -> None:
    """Replay with the same workflows, plugin and payload codec (the key ring `settings`
    name, as a worker's); raises on any non-determinism."""
    plugin = OpenAIAgentsPlugin(
        model_params=model_activity_parameters(settings),
        model_provider=ScriptedProvider(ScriptedModel()),
    )
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        plugins=[plugin],
        workflow_runner=workflow_runner(),
        data_converter=with_encryption(DataConverter.default, configured_ring(settings)),
    )
    await replayer.replay_workflow(history)


@asynccontextmanager
async def scripted_worker(
    env: WorkflowEnvironment,
    settings: Settings,
    backends: Mapping[str, Backend],
    default_model: str = "local/scripted",
) -> AsyncIterator[Client]:
    """A real hybridagent worker on `env` whose models are `backends` (ScriptedBackend);
    yields a client with the plugin, as the worker process would have."""
    provider = HybridModelProvider(backends, default_model)
    config = env.client.config()
    config["plugins"] = [build_plugin(settings, provider)]
    client = Client(**config)
    async with build_worker(client, settings, provider):
        yield client


async def history_of(client: Client, handle: WorkflowHandle[Any, Any]) -> WorkflowHistory:
    return await client.get_workflow_handle(handle.id).fetch_history()
