"""Helpers for reading workflow histories and replaying them."""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.worker import Replayer

from hybridagent.config import Settings
from hybridagent.testing.scripted_model import ScriptedModel, ScriptedProvider
from hybridagent.workers.plugin import WORKFLOWS, model_activity_parameters


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


def local_activity_markers(history: WorkflowHistory) -> int:
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED)


def local_activities(history: WorkflowHistory) -> list[str]:
    """The activity types of the local activities a run executed, in order."""
    names = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            data = event.marker_recorded_event_attributes.details["data"].payloads[0].data
            names.append(json.loads(data)["activity_type"])
    return names


async def replay(history: WorkflowHistory, settings: Settings) -> None:
    """Replay with the same workflows and plugin; raises on any non-determinism."""
    plugin = OpenAIAgentsPlugin(
        model_params=model_activity_parameters(settings),
        model_provider=ScriptedProvider(ScriptedModel()),
    )
    await Replayer(workflows=list(WORKFLOWS), plugins=[plugin]).replay_workflow(history)


async def history_of(client: Client, handle: WorkflowHandle[Any, Any]) -> WorkflowHistory:
    return await client.get_workflow_handle(handle.id).fetch_history()
