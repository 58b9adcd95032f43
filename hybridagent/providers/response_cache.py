"""An optional cache of model answers on the worker (off unless HYBRIDAGENT_RESPONSE_CACHE).

Only the workflow knows whether a call is private, so it marks the calls that may be
cached (routing found nothing sensitive and the run is not pinned) with CACHE_MARKER in
the model settings' `extra_args`; every call passes through `CacheLayer`, which removes
the marker before the model sees it, whether caching is on or not. The key holds the
concrete model that answers, so an answer a fallback model gave is never served for the
primary model. Streamed responses are never cached: a stream can stop half-way.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

from agents import FunctionTool, Model, ModelResponse, Tool, Usage
from agents.items import TResponseStreamEvent

from hybridagent.providers.notes import with_note
from hybridagent.providers.wrapper import ModelCall, WrapperModel

log = logging.getLogger(__name__)

CACHE_MARKER = "hybridagent_cacheable"


class ResponseCache:
    """Bounded (least recently used goes first) and time-limited; per worker process."""

    def __init__(
        self,
        max_entries: int = 256,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, ModelResponse]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> ModelResponse | None:
        entry = self._entries.get(key)
        if entry is None or self._clock() - entry[0] >= self.ttl_seconds:
            self._entries.pop(key, None)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return copy.deepcopy(entry[1])

    def put(self, key: str, response: ModelResponse) -> None:
        self._entries[key] = (self._clock(), copy.deepcopy(response))
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def _tool_key(tool: Tool) -> Any:
    if isinstance(tool, FunctionTool):
        return [tool.name, tool.description, tool.params_json_schema, tool.strict_json_schema]
    return [type(tool).__name__, getattr(tool, "name", "")]


def cache_key(model: str, call: ModelCall) -> str:
    """Everything that shapes `model`'s answer to `call`, canonically serialised and hashed
    (the response id and conversation are not: calls with either are never cached)."""
    schema = None
    output_schema = call.output_schema
    if output_schema is not None and not output_schema.is_plain_text():
        schema = [output_schema.name(), output_schema.json_schema()]
    material = [
        model,
        call.system_instructions,
        call.input,
        call.model_settings.to_json_dict(),
        [_tool_key(t) for t in call.tools],
        schema,
        [[h.tool_name, h.tool_description, h.input_json_schema] for h in call.handoffs],
        call.prompt,
    ]
    canonical = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _unmarked(call: ModelCall) -> tuple[ModelCall, bool]:
    """The call without the workflow's marker, and whether it was marked cacheable."""
    extra = call.model_settings.extra_args
    if not extra or CACHE_MARKER not in extra:
        return call, False
    rest = {k: v for k, v in extra.items() if k != CACHE_MARKER}
    settings = dataclasses.replace(call.model_settings, extra_args=rest or None)
    return dataclasses.replace(call, model_settings=settings), bool(extra[CACHE_MARKER])


class CacheLayer(WrapperModel):
    """Strips the workflow's cache marker; serves and stores marked calls when enabled."""

    def __init__(self, inner: Model, model_name: str, cache: ResponseCache | None) -> None:
        super().__init__(inner)
        self.model_name = model_name
        self.cache = cache

    async def respond(self, call: ModelCall) -> ModelResponse:
        call, cacheable = _unmarked(call)
        # A response id or conversation means state on the provider's side: not ours to reuse.
        cacheable = cacheable and not (call.previous_response_id or call.conversation_id)
        key = None
        if cacheable and self.cache is not None:
            key = cache_key(self.model_name, call)
            cached = self.cache.get(key)
            if cached is not None:
                log.info("answered %s from the response cache", self.model_name)
                # No tokens were spent on this answer.
                return with_note(dataclasses.replace(cached, usage=Usage()), "cache")
        response = await call.answer_from(self.inner)
        if key is not None and self.cache is not None:
            self.cache.put(key, response)
        return response

    async def stream(self, call: ModelCall) -> AsyncIterator[TResponseStreamEvent]:
        unmarked, _ = _unmarked(call)
        async for event in unmarked.stream_from(self.inner):
            yield event
