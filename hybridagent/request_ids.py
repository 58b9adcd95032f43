"""The HTTP API's request ID, carried through Temporal to the worker's log lines.

The API binds each request's `x-request-id` to its context (logs.request_context). A
client built by workers/temporal_client.py puts that ID in a Temporal header of every
workflow start, Update and signal it sends from that context; on the worker, the
workflow keeps it for the handler the header came with (the run for a start, the
`send` Update for a chat message) and passes it on to the activities, local
activities and child workflows that handler starts, whose execution binds it again. So
a request's model activities and routing lines carry its ID, as the API's own lines do
(`request_id` in JSON logs), and a chat session's later message carries its own.

Headers are not part of what a replay compares, so runs recorded with or without them
replay alike. The ID is an opaque token the API made or accepted (app.py), never content.
"""

from __future__ import annotations

from typing import Any, Protocol

from temporalio import client, worker, workflow
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadConverter

from hybridagent.logs import bind_request_id, current_request_id

HEADER = "hybridagent-request-id"
_CONVERTER = PayloadConverter.default


class _HasHeaders(Protocol):
    headers: Any  # Mapping[str, Payload] on every input type that carries headers


def _stamped(headers: Any) -> Any:
    """`headers` with the current request ID, when there is one and they lack it."""
    request_id = current_request_id()
    if request_id is None or HEADER in headers:
        return headers
    return {**headers, HEADER: _CONVERTER.to_payloads([request_id])[0]}


def _stamp(target: _HasHeaders) -> None:
    target.headers = _stamped(target.headers)


def _adopt(headers: Any) -> None:
    """Bind the header's request ID to the current context (the handler's task), if any."""
    payload: Payload | None = headers.get(HEADER) if headers else None
    if payload is None:
        return
    [value] = _CONVERTER.from_payloads([payload])
    if isinstance(value, str) and value:
        bind_request_id(value)


class RequestIdInterceptor(client.Interceptor, worker.Interceptor):
    """On a client: stamps starts, Updates and signals. On a worker built on that client:
    binds the ID in workflows and activities and passes it on to what they start."""

    def intercept_client(self, next: client.OutboundInterceptor) -> client.OutboundInterceptor:
        return _ClientOutbound(next)

    def intercept_activity(
        self, next: worker.ActivityInboundInterceptor
    ) -> worker.ActivityInboundInterceptor:
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: worker.WorkflowInterceptorClassInput
    ) -> type[worker.WorkflowInboundInterceptor]:
        return _WorkflowInbound


class _ClientOutbound(client.OutboundInterceptor):
    async def start_workflow(
        self, input: client.StartWorkflowInput
    ) -> client.WorkflowHandle[Any, Any]:
        _stamp(input)
        return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: client.StartWorkflowUpdateInput
    ) -> client.WorkflowUpdateHandle[Any]:
        _stamp(input)
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: client.StartWorkflowUpdateWithStartInput
    ) -> client.WorkflowUpdateHandle[Any]:
        _stamp(input.start_workflow_input)
        _stamp(input.update_workflow_input)
        return await super().start_update_with_start_workflow(input)

    async def signal_workflow(self, input: client.SignalWorkflowInput) -> None:
        _stamp(input)
        await super().signal_workflow(input)


class _ActivityInbound(worker.ActivityInboundInterceptor):
    async def execute_activity(self, input: worker.ExecuteActivityInput) -> Any:
        # Bound for the rest of the activity's task, not reset on return: the SDK's own
        # line about the attempt ("Completing activity as failed") is written in the same
        # task after this returns, and the task ends with the attempt.
        _adopt(input.headers)
        return await super().execute_activity(input)


class _WorkflowInbound(worker.WorkflowInboundInterceptor):
    """Each handler runs in a task of its own: the ID bound there is that handler's,
    seen by its log lines and stamped on what it starts."""

    def init(self, outbound: worker.WorkflowOutboundInterceptor) -> None:
        super().init(_WorkflowOutbound(outbound))

    async def execute_workflow(self, input: worker.ExecuteWorkflowInput) -> Any:
        _adopt(input.headers)
        return await super().execute_workflow(input)

    async def handle_signal(self, input: worker.HandleSignalInput) -> None:
        _adopt(input.headers)
        await super().handle_signal(input)

    async def handle_update_handler(self, input: worker.HandleUpdateInput) -> Any:
        _adopt(input.headers)
        return await super().handle_update_handler(input)


class _WorkflowOutbound(worker.WorkflowOutboundInterceptor):
    def start_activity(self, input: worker.StartActivityInput) -> workflow.ActivityHandle[Any]:
        _stamp(input)
        return super().start_activity(input)

    def start_local_activity(
        self, input: worker.StartLocalActivityInput
    ) -> workflow.ActivityHandle[Any]:
        _stamp(input)
        return super().start_local_activity(input)

    async def start_child_workflow(
        self, input: worker.StartChildWorkflowInput
    ) -> workflow.ChildWorkflowHandle[Any, Any]:
        _stamp(input)
        return await super().start_child_workflow(input)
