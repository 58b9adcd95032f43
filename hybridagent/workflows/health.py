"""HealthWorkflow: one worker's health report, for `hybridagent health` and `models`.

Circuit state is per worker process, so only a worker can report it; a workflow is
the way the CLI reaches one. Short timeouts and two attempts: the caller also sets an
execution timeout, so a task queue without a live worker answers "nobody" in seconds.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from hybridagent.worker_health import WORKER_HEALTH, WorkerHealth

HEALTH_ACTIVITY_TIMEOUT = timedelta(seconds=5)


@workflow.defn
class HealthWorkflow:
    @workflow.run
    async def run(self) -> WorkerHealth:
        health: WorkerHealth = await workflow.execute_activity(
            WORKER_HEALTH,
            result_type=WorkerHealth,
            start_to_close_timeout=HEALTH_ACTIVITY_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
        return health
