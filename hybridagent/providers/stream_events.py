"""A finished ModelResponse as the stream events `Runner.run_streamed` needs.

For models that cannot stream a call (tool-call emulation answers only after it has
parsed and validated the whole JSON step), so a streamed run still works on them: the
text arrives in one piece, and the SDK builds the turn from the completed event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

from agents import ModelResponse
from agents.items import TResponseStreamEvent
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseOutputMessage,
    ResponseTextDeltaEvent,
    ResponseUsage,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails


def completed_response(response: ModelResponse, model: str) -> Response:
    usage = response.usage
    return Response(
        id=response.response_id or "hybridagent-response",
        created_at=0,
        model=model,
        object="response",
        output=response.output,
        tool_choice="auto",
        tools=[],
        top_p=None,
        parallel_tool_calls=False,
        status="completed",
        usage=ResponseUsage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
            output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
        ),
    )


async def as_stream(response: ModelResponse, model: str) -> AsyncIterator[TResponseStreamEvent]:
    """One text delta per message part (so a subscriber sees the text), then completion."""
    sequence = 0
    for index, item in enumerate(response.output):
        if not isinstance(item, ResponseOutputMessage):
            continue
        for part_index, part in enumerate(item.content):
            text = getattr(part, "text", None)
            if not text:
                continue
            yield cast(
                TResponseStreamEvent,
                ResponseTextDeltaEvent(
                    type="response.output_text.delta",
                    item_id=item.id,
                    output_index=index,
                    content_index=part_index,
                    delta=text,
                    logprobs=[],
                    sequence_number=sequence,
                ),  # fmt: skip
            )
            sequence += 1
    yield cast(
        TResponseStreamEvent,
        ResponseCompletedEvent(
            type="response.completed",
            response=completed_response(response, model),
            sequence_number=sequence,
        ),
    )
