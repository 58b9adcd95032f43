"""The worker's record of every model call: a Model layer over each model the plugin's
model-call activity gets, outside all others (providers/wrapper.py), so it strips the
workflow's usage marker (usage/facts.py) before anything else sees it, and times the
whole call.

It runs inside the activity, never in workflow code: the row's key is the activity's
(workflow run ID, activity ID), the same on every attempt, so a retried activity and a
replayed workflow count once (usage/ledger.py). Only answered calls are rows; every
attempt counts in the metrics by outcome. A failed ledger write is a warning and a
metric, never a failed call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from agents import Model, ModelProvider, ModelResponse, Usage
from agents.items import TResponseStreamEvent
from openai.types.responses import Response
from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity

from hybridagent.api.costs import cost_usd
from hybridagent.api.limits import estimate_tokens
from hybridagent.metrics import Metrics
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.providers.wrapper import ModelCall, WrapperModel
from hybridagent.storage import Storage
from hybridagent.usage import ledger
from hybridagent.usage.facts import USAGE_MARKER, UsageFacts

log = logging.getLogger(__name__)

# What `local_calls`' savings are measured against when nothing is configured: a
# common cloud model LiteLLM's bundled price map lists.
DEFAULT_REFERENCE_MODEL = "openai/gpt-4o-mini"


@dataclasses.dataclass(frozen=True)
class UsageRecorder:
    """Where answered calls go: the ledger (when the worker has a database) and the
    metrics (when it has a registry)."""

    storage: Storage | None
    metrics: Metrics | None
    reference_model: str = DEFAULT_REFERENCE_MODEL

    async def answered(
        self,
        model: str,
        local: bool,
        facts: UsageFacts,
        usage: Usage,
        seconds: float,
        estimated: bool = False,
    ) -> None:
        cost = 0.0 if local else cost_usd(model, usage.input_tokens, usage.output_tokens)
        reference = cost_usd(self.reference_model, usage.input_tokens, usage.output_tokens)
        self._count(model, local, facts, usage, seconds, cost, reference)
        if self.storage is None or not activity.in_activity():
            return
        info = activity.info()
        row = ledger.UsageRecord(
            run_id=info.workflow_run_id or "",
            activity_id=info.activity_id,
            workflow_id=info.workflow_id or "",
            workflow_type=info.workflow_type or "",
            created_at=ledger.iso(datetime.now(UTC)),
            caller=facts.caller,
            agent=facts.agent,
            requested_model=facts.requested or "auto",
            model=model,
            local=local,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            latency_ms=seconds * 1000.0,
            cost_usd=cost,
            reference_model=self.reference_model,
            reference_cost_usd=reference,
            fallback_from=facts.fallback_from,
            pinned=facts.pinned,
            privacy_categories=facts.categories,
            tokens_estimated=estimated,
        )
        try:
            await asyncio.to_thread(ledger.record, self.storage, row)
        except SQLAlchemyError as err:
            log.warning("usage ledger: the row of %s was not written (%s)", model, err)
            if self.metrics is not None:
                self.metrics.ledger_failures.inc()

    def failed(self, model: str, local: bool, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.model_calls.labels(model, _where(local), outcome).inc()

    def _count(
        self,
        model: str,
        local: bool,
        facts: UsageFacts,
        usage: Usage,
        seconds: float,
        cost: float,
        reference: float,
    ) -> None:
        m = self.metrics
        if m is None:
            return
        where = _where(local)
        m.model_calls.labels(model, where, "ok").inc()
        m.model_latency.labels(model, where).observe(seconds)
        m.tokens.labels(model, where, "input").inc(usage.input_tokens)
        m.tokens.labels(model, where, "output").inc(usage.output_tokens)
        m.cost.labels(model, where).inc(cost)
        if local:
            m.savings.labels(model).inc(max(reference - cost, 0.0))
        if facts.fallback_from:
            m.fallbacks.labels(facts.fallback_from, model).inc()
        if facts.pinned:
            for category in facts.categories or ("none",):
                m.privacy_pins.labels(category).inc()


def _where(local: bool) -> str:
    return "local" if local else "cloud"


def _unmarked(call: ModelCall) -> tuple[ModelCall, UsageFacts]:
    extra = call.model_settings.extra_args
    if not extra or USAGE_MARKER not in extra:
        return call, UsageFacts()
    rest = {k: v for k, v in extra.items() if k != USAGE_MARKER}
    settings = dataclasses.replace(call.model_settings, extra_args=rest or None)
    facts = UsageFacts.from_extra(extra[USAGE_MARKER])
    return dataclasses.replace(call, model_settings=settings), facts


def _estimate(call: ModelCall, response: Response | None) -> Usage:
    """A call's tokens at 4 characters a token, as the API's limiter estimates them
    (api/limits.py): for a stream that reports none (llama-cpp-python's server sends no
    usage chunk), so its row still has the savings of a local call."""
    prompt: list[Mapping[str, Any]] = [{"content": call.system_instructions or ""}]
    if isinstance(call.input, str):
        prompt.append({"content": call.input})
    else:
        prompt += [item for item in call.input if isinstance(item, Mapping)]
    output = [item.model_dump() for item in response.output] if response is not None else []
    tokens_in, tokens_out = estimate_tokens(prompt), estimate_tokens(output)
    return Usage(
        requests=1,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        total_tokens=tokens_in + tokens_out,
    )


def _outcome(err: BaseException) -> str:
    if isinstance(err, asyncio.CancelledError | GeneratorExit):  # cancelled, or stream dropped
        return "cancelled"
    return "error"


class UsageLayer(WrapperModel):
    def __init__(self, inner: Model, model: str, local: bool, recorder: UsageRecorder) -> None:
        super().__init__(inner)
        self.model = model
        self.local = local
        self.recorder = recorder

    async def respond(self, call: ModelCall) -> ModelResponse:
        call, facts = _unmarked(call)
        started = time.perf_counter()
        try:
            response = await call.answer_from(self.inner)
        except BaseException as err:
            self.recorder.failed(self.model, self.local, _outcome(err))
            raise
        seconds = time.perf_counter() - started
        await self.recorder.answered(self.model, self.local, facts, response.usage, seconds)
        return response

    async def stream(self, call: ModelCall) -> AsyncIterator[TResponseStreamEvent]:
        call, facts = _unmarked(call)
        started = time.perf_counter()
        usage = Usage()
        completed: Response | None = None
        try:
            async for event in call.stream_from(self.inner):
                if event.type == "response.completed":
                    completed = event.response
                    done = completed.usage
                    if done is not None:
                        usage = Usage(
                            requests=1,
                            input_tokens=done.input_tokens,
                            output_tokens=done.output_tokens,
                            total_tokens=done.total_tokens,
                        )
                yield event
        except BaseException as err:
            self.recorder.failed(self.model, self.local, _outcome(err))
            raise
        seconds = time.perf_counter() - started
        estimated = usage.input_tokens == 0 and usage.output_tokens == 0
        if estimated:
            usage = _estimate(call, completed)
        await self.recorder.answered(self.model, self.local, facts, usage, seconds, estimated)


class RecordingProvider(ModelProvider):
    """The plugin's ModelProvider on the worker: `inner`'s models, each in a UsageLayer."""

    def __init__(self, inner: HybridModelProvider, recorder: UsageRecorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def get_model(self, model_name: str | None) -> Model:
        model = self.inner.get_model(model_name)  # raises first for a name it cannot serve
        ref = self.inner.resolve(model_name)
        return UsageLayer(model, ref.name, ref.is_local, self.recorder)
