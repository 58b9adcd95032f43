"""The response cache layer: marked calls only, keyed by everything that shapes the
answer, bounded, time-limited, and the marker never reaches a model."""

from __future__ import annotations

from typing import Any

from agents import ModelResponse, ModelSettings, ModelTracing

from hybridagent.providers.notes import notes_of
from hybridagent.providers.response_cache import CACHE_MARKER, CacheLayer, ResponseCache
from hybridagent.testing.scripted_model import ScriptedModel

MARKED = ModelSettings(extra_args={CACHE_MARKER: True})


class Recording(ScriptedModel):
    def __init__(self) -> None:
        super().__init__()
        self.settings: list[ModelSettings] = []

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        self.settings.append(args[2])
        return await super().get_response(*args, **kwargs)

    async def stream_response(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.settings.append(args[2])
        yield "an event"


async def ask(
    model: CacheLayer, prompt: str = "hi", settings: ModelSettings = MARKED, **kw: Any
) -> str:
    response = await model.get_response(
        "Be brief.", prompt, settings, [], None, [], ModelTracing.DISABLED,
        previous_response_id=kw.get("previous_response_id"), conversation_id=None, prompt=None,
    )  # fmt: skip
    return response.output[0].content[0].text  # type: ignore[union-attr]


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_marked_identical_call_is_answered_from_the_cache() -> None:
    inner, cache = Recording(), ResponseCache()
    layer = CacheLayer(inner, "openai/gpt-4o-mini", cache)
    assert await ask(layer) == await ask(layer) == "scripted answer 1"
    assert inner.calls == 1 and cache.hits == 1
    cached = await layer.get_response(
        "Be brief.", "hi", MARKED, [], None, [], ModelTracing.DISABLED,
        previous_response_id=None, conversation_id=None, prompt=None,
    )  # fmt: skip
    assert cached.usage.total_tokens == 0  # no tokens were spent on it
    assert notes_of(cached) == ["cache"]  # the workflow learns the answer was cached


async def test_unmarked_calls_are_never_cached_and_the_marker_never_reaches_the_model() -> None:
    inner, cache = Recording(), ResponseCache()
    layer = CacheLayer(inner, "local/smollm2", cache)
    await ask(layer, settings=ModelSettings())
    await ask(layer, settings=ModelSettings())
    assert inner.calls == 2 and len(cache) == 0
    await ask(CacheLayer(inner, "local/smollm2", None))  # caching off: marker still stripped
    assert all(not s.extra_args or CACHE_MARKER not in s.extra_args for s in inner.settings)


async def test_anything_that_shapes_the_answer_changes_the_key() -> None:
    inner, cache = Recording(), ResponseCache()
    await ask(CacheLayer(inner, "openai/gpt-4o-mini", cache))
    await ask(CacheLayer(inner, "litellm/claude", cache))  # another model
    await ask(CacheLayer(inner, "openai/gpt-4o-mini", cache), "hello")  # another input
    hot = ModelSettings(temperature=0.9, extra_args={CACHE_MARKER: True})
    await ask(CacheLayer(inner, "openai/gpt-4o-mini", cache), settings=hot)  # settings
    assert inner.calls == 4 and len(cache) == 4


async def test_provider_side_state_is_not_cached() -> None:
    inner, cache = Recording(), ResponseCache()
    layer = CacheLayer(inner, "openai/gpt-4o-mini", cache)
    await ask(layer, previous_response_id="resp_1")
    await ask(layer, previous_response_id="resp_1")
    assert inner.calls == 2


async def test_entries_expire_after_the_ttl_and_the_cache_is_bounded() -> None:
    clock = Clock()
    inner, cache = Recording(), ResponseCache(max_entries=2, ttl_seconds=60, clock=clock)
    layer = CacheLayer(inner, "openai/gpt-4o-mini", cache)
    await ask(layer, "a")
    clock.now = 59.0
    await ask(layer, "a")
    assert inner.calls == 1
    clock.now = 61.0
    await ask(layer, "a")  # expired: asked again
    assert inner.calls == 2
    await ask(layer, "b")
    await ask(layer, "c")  # "a" is the least recently used: evicted
    assert len(cache) == 2
    await ask(layer, "a")
    assert inner.calls == 5


async def test_streamed_responses_are_not_cached() -> None:
    inner, cache = Recording(), ResponseCache()
    layer = CacheLayer(inner, "openai/gpt-4o-mini", cache)
    events = [
        e
        async for e in layer.stream_response(
            None, "hi", MARKED, [], None, [], ModelTracing.DISABLED,
            previous_response_id=None, conversation_id=None, prompt=None,
        )
    ]  # fmt: skip
    assert events == ["an event"] and len(cache) == 0
    assert CACHE_MARKER not in (inner.settings[0].extra_args or {})
