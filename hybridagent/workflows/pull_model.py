"""PullModelWorkflow: pull a model into the worker's Ollama, durably.

The workflow ID comes from the model name (`pull_workflow_id`), so a second
`hybridagent models pull` of the same model, or an auto-pull at worker start, attaches
to the running pull instead of starting another download.

Progress: Ollama's figures reach Temporal as the `pull_model` activity's heartbeat
details, which the Web UI shows under the pending activity and `hybridagent models
pull` reads with `describe()`. A workflow cannot see its activities' heartbeats, so
there is no progress query; the workflow's current details say where to look.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from hybridagent.activity_io import (
        NON_RETRYABLE_PULL_ERRORS,
        PULL_MODEL,
        PullModelRequest,
        PullResult,
        full_name,
    )
    from hybridagent.failures import PULL_TIMEOUT, as_failure
    from hybridagent.workflows.io import RawInput, parse_input

# Large models take long; the heartbeat timeout, not this, notices a dead worker.
PULL_START_TO_CLOSE = timedelta(hours=6)
PULL_MAX_ATTEMPTS = 5


def pull_workflow_id(model: str) -> str:
    """One ID per model: `/` (a namespace) becomes `~`, which no Ollama name contains."""
    return "pull-ollama-" + full_name(model).replace("/", "~")


def _failure(model: str, err: ActivityError) -> ApplicationError:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return ApplicationError(cause.message, type=cause.type, non_retryable=True)
    if isinstance(cause, TimeoutError):
        return ApplicationError(
            f"The pull of {model!r} timed out ({cause.type.name if cause.type else 'timeout'}) "
            "on every attempt.",
            type=PULL_TIMEOUT,
            non_retryable=True,
        )
    return as_failure(err)


@workflow.defn
class PullModelWorkflow:
    @workflow.run
    async def run(self, input: RawInput = None) -> PullResult:
        request = parse_input(PullModelRequest, input, "PullModelWorkflow", bare="model")
        model = full_name(request.model)
        workflow.set_current_details(
            f"Pulling {model} into the worker's Ollama: progress is the pending pull_model "
            "activity's heartbeat details."
        )
        try:
            result: PullResult = await workflow.execute_activity(
                PULL_MODEL,
                request,
                result_type=PullResult,
                start_to_close_timeout=PULL_START_TO_CLOSE,
                heartbeat_timeout=timedelta(seconds=request.heartbeat_seconds),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_interval=timedelta(seconds=30),
                    maximum_attempts=PULL_MAX_ATTEMPTS,
                    non_retryable_error_types=NON_RETRYABLE_PULL_ERRORS,
                ),
            )
        except ActivityError as err:
            raise _failure(model, err) from None
        return result
