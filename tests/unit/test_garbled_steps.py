"""A reply that is no complete emulated step (cut off, garbled, an unknown action, or an
answer that is itself a step object) is asked for once more, then fails the call as a
model failure: such text never becomes the answer. The real embedded model runs the
research agent in tests/integration/test_research_agent.py.
"""

from __future__ import annotations

import pytest
from agents import ModelResponse, ModelSettings, ModelTracing
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage

from hybridagent.providers.errors import (
    FALLBACK_ACTION,
    NON_RETRYABLE_ERROR_TYPES,
    MalformedToolStepError,
)
from hybridagent.providers.tool_emulation import (
    GARBLED_NOTE,
    PROSE_NOTE,
    ToolEmulatingModel,
    looks_like_step,
)
from tests.unit.test_tool_emulation import HISTORY, Recording, call

# What SmolLM2 sent in `hybridagent run --agent research` (issue 12): cut off mid-string.
CUT_OFF = '{ "action": "final_answer", "arguments": { "document_id" : "} }\nThis is a JSON'
CUT_OFF_CALL = '{"action": "get_weather", "arguments": {"city": "}}\nThe city of " }}'
GOOD_CALL = '{"action": "get_weather", "arguments": {"city": "Tokyo"}}'
GOOD_ANSWER = '{"action": "final_answer", "answer": "Sunny in Tokyo."}'


def text_of(response: ModelResponse) -> str:
    [item] = response.output
    assert isinstance(item, ResponseOutputMessage)
    return item.content[0].text


@pytest.mark.parametrize("garbled", [CUT_OFF, CUT_OFF_CALL, "Sunny!", "[1, 2]"])
async def test_a_garbled_step_is_asked_for_again_once(garbled: str) -> None:
    inner = Recording([garbled, GOOD_ANSWER])
    response = await call(ToolEmulatingModel(inner), "Weather in Tokyo?")
    assert text_of(response) == "Sunny in Tokyo."
    assert len(inner.asked) == 2
    again = inner.asked[1]
    assert again["messages"][-1] == {"role": "user", "content": GARBLED_NOTE}
    # The cut-off text is not put back: the model would only continue it.
    assert all(garbled not in str(m["content"]) for m in again["messages"])
    assert again["instructions"] == inner.asked[0]["instructions"]
    assert response.usage.requests == 2


async def test_a_garbled_tool_call_asked_again_becomes_the_tool_call() -> None:
    inner = Recording([CUT_OFF_CALL, GOOD_CALL])
    [item] = (await call(ToolEmulatingModel(inner), "Weather in Tokyo?")).output
    assert isinstance(item, ResponseFunctionToolCall) and item.name == "get_weather"


@pytest.mark.parametrize(
    "second",
    [
        CUT_OFF,
        '{"action": "get_news", "arguments": {}}',  # a tool the call does not offer
        '{"action": "final_answer", "answer": "{\\"action\\": \\"get_weather\\"}"}',
    ],
)
async def test_garbled_twice_fails_the_call_as_a_model_failure(second: str) -> None:
    inner = Recording([CUT_OFF, second])
    with pytest.raises(MalformedToolStepError, match=r"garbled reply twice"):
        await call(ToolEmulatingModel(inner), "Weather in Tokyo?")
    assert len(inner.asked) == 2
    # The workflow answers it by the fallback policy; no retry of the same model.
    assert FALLBACK_ACTION["MalformedToolStepError"] == "next"
    assert "MalformedToolStepError" in NON_RETRYABLE_ERROR_TYPES


async def test_an_answer_that_is_a_step_object_is_not_an_answer() -> None:
    nested = '{"action": "final_answer", "answer": "{ \\"action\\": \\"final_answer\\" }"}'
    inner = Recording([nested, GOOD_ANSWER])
    assert text_of(await call(ToolEmulatingModel(inner), "hi")) == "Sunny in Tokyo."


async def test_a_garbled_answer_after_a_repeated_call_is_asked_again_then_fails() -> None:
    # The repeated call leads to the answer-only ask; that one is garbled twice.
    inner = Recording([GOOD_CALL, CUT_OFF, CUT_OFF])
    with pytest.raises(MalformedToolStepError):
        await call(ToolEmulatingModel(inner), HISTORY)
    assert len(inner.asked) == 3
    recovered = Recording([GOOD_CALL, CUT_OFF, GOOD_ANSWER])
    assert text_of(await call(ToolEmulatingModel(recovered), HISTORY)) == "Sunny in Tokyo."


async def plain(model: ToolEmulatingModel) -> ModelResponse:
    return await model.get_response(
        None, "hi", ModelSettings(), [], None, [], ModelTracing.DISABLED,
        previous_response_id=None, conversation_id=None, prompt=None,
    )  # fmt: skip


async def test_a_plain_answer_that_is_a_step_object_is_asked_for_in_words() -> None:
    inner = Recording([GOOD_ANSWER, "Hello there."])
    assert text_of(await plain(ToolEmulatingModel(inner))) == "Hello there."
    assert inner.asked[1]["messages"][-1] == {"role": "user", "content": PROSE_NOTE}
    twice = Recording([GOOD_ANSWER, "```json\n" + GOOD_CALL])
    with pytest.raises(MalformedToolStepError, match="instead of words twice"):
        await plain(ToolEmulatingModel(twice))


@pytest.mark.parametrize(
    ("text", "step"),
    [
        (CUT_OFF, True),
        ('  {"arguments": {}}', True),
        ('```json\n{"answer": "x"}', True),
        ('The answer is {"action": 1}', False),
        ('{"city": "Tokyo"}', False),  # a JSON answer a user may have asked for
        ("Sunny.", False),
    ],
)
def test_what_looks_like_a_step(text: str, step: bool) -> None:
    assert looks_like_step(text) is step
