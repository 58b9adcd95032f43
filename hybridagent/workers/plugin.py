"""The worker's wiring: plugin parameters, tracing policy, workflows and activities."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from agents import Agent, set_trace_processors
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin

# ModelSummaryProvider is not re-exported by temporalio.openai_agents 1.1.0.
from temporalio.openai_agents._model_parameters import ModelSummaryProvider
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from hybridagent.activities.agent_specs import AgentSpecActivities
from hybridagent.activities.health import HealthActivities
from hybridagent.activities.models import ModelActivities
from hybridagent.activities.privacy import PrivacyActivities
from hybridagent.activities.pull import PullActivities
from hybridagent.activities.run_start import RunStartActivities
from hybridagent.activities.storage import StorageActivities
from hybridagent.activities.weather import get_weather
from hybridagent.config import Settings
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.errors import NON_RETRYABLE_ERROR_TYPES
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.routing.learned import load_model
from hybridagent.storage import Storage, open_storage
from hybridagent.usage.layer import RecordingProvider, UsageRecorder
from hybridagent.workflows.agent_workflow import AgentWorkflow
from hybridagent.workflows.chat_completion import ChatCompletionWorkflow
from hybridagent.workflows.chat_session import MODEL_EVENTS_TOPIC, ChatSessionWorkflow
from hybridagent.workflows.coordinator import CoordinatorWorkflow
from hybridagent.workflows.haiku import LitellmHaikuWorkflow, LocalHaikuWorkflow
from hybridagent.workflows.health import HealthWorkflow
from hybridagent.workflows.pull_model import PullModelWorkflow

WORKFLOWS: Sequence[type] = (
    AgentWorkflow,
    ChatCompletionWorkflow,
    ChatSessionWorkflow,
    CoordinatorWorkflow,
    LocalHaikuWorkflow,
    LitellmHaikuWorkflow,
    HealthWorkflow,
    PullModelWorkflow,
)

# Heartbeat details reach the server at most this long after the activity reports them
# (Temporal's default: 80% of the heartbeat timeout): a pull's progress bar moves each
# second instead of every 24 s.
HEARTBEAT_THROTTLE = timedelta(seconds=1)


def apply_tracing_policy(settings: Settings) -> None:
    """Trace export to OpenAI is off unless asked for: no key warnings, no data leaving."""
    if not settings.tracing:
        set_trace_processors([])


class AgentAndModelSummary(ModelSummaryProvider):
    """Labels each model-call activity in the Web UI with its agent and concrete model.

    Runs in workflow code: it only reads the agent object.
    """

    def provide(self, agent: Agent[Any] | None, instructions: str | None, input: Any) -> str:
        if agent is None:
            return "model call"
        model = agent.model
        name = model if isinstance(model, str) else getattr(model, "model_name", None)
        return f"{agent.name} · {name}" if name else agent.name


def model_activity_parameters(settings: Settings) -> ModelActivityParameters:
    return ModelActivityParameters(
        summary_override=AgentAndModelSummary(),
        start_to_close_timeout=settings.model_start_to_close,
        schedule_to_close_timeout=settings.model_schedule_to_close,
        heartbeat_timeout=timedelta(seconds=settings.model_heartbeat_seconds),
        retry_policy=RetryPolicy(
            initial_interval=timedelta(seconds=settings.model_retry_initial_seconds),
            maximum_attempts=settings.model_max_attempts,
            non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),
        ),
        use_local_activity=settings.use_local_activities,
        # Streamed runs (chat sessions) publish model events on this topic of the
        # workflow's stream; Runner.run ignores it.
        streaming_topic=MODEL_EVENTS_TOPIC,
    )


def build_plugin(
    settings: Settings, provider: HybridModelProvider, *, recorder: UsageRecorder | None = None
) -> OpenAIAgentsPlugin:
    """`recorder`: every model call the plugin's activity makes is recorded there (the
    usage ledger and the worker's metrics, usage/layer.py)."""
    apply_tracing_policy(settings)
    model_provider = RecordingProvider(provider, recorder) if recorder else provider
    return OpenAIAgentsPlugin(
        model_params=model_activity_parameters(settings), model_provider=model_provider
    )


def activities(
    settings: Settings,
    provider: HybridModelProvider,
    *,
    circuits: CircuitBreaker | None = None,
    identity: str = "",
    storage: Storage | None = None,
) -> list[Callable[..., Any]]:
    """`storage` defaults to the database the settings name, migrated at worker start."""
    health = HealthActivities(
        provider, circuits or CircuitBreaker(), task_queue=settings.task_queue, identity=identity
    )
    models = ModelActivities(
        provider,
        settings.routing,
        cloud_model=settings.cloud_model,
        embedded_context=settings.embedded_context,
    )
    privacy = PrivacyActivities(load_model(settings.privacy_model))
    agents = AgentSpecActivities(settings.agents_path)
    return [
        get_weather,
        RunStartActivities(agents, models, privacy).start_run,
        models.routing_setup,
        privacy.scan_privacy,
        health.worker_health,
        PullActivities(provider).pull_model,
        *StorageActivities(
            storage or open_storage(settings.database_url, settings.state_dir)
        ).all(),
        agents.resolve_agent,
    ]


# Libraries of the router's detectors, which workflow modules import (the detectors run
# in the scan_privacy activity), passed through the sandbox: they load data lazily with
# imports (phonenumbers' region metadata), which the sandbox would re-run and refuse.
SANDBOX_PASSTHROUGH = ("phonenumbers", "stdnum", "detect_secrets", "re2")


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*SANDBOX_PASSTHROUGH)
    )


def build_worker(
    client: Client,
    settings: Settings,
    provider: HybridModelProvider,
    *,
    circuits: CircuitBreaker | None = None,
    storage: Storage | None = None,
) -> Worker:
    """`client` must carry the plugin from build_plugin (see workers.main.serve);
    `circuits` is the provider stack's breaker, which the health activity reports;
    `storage` the tools' database (default: the one the settings name)."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities(
            settings, provider, circuits=circuits, identity=client.identity, storage=storage
        ),
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        workflow_runner=workflow_runner(),
    )
