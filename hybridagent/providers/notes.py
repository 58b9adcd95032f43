"""What a model layer on the worker did to a call that the client should know (a cached
answer, tool calls emulated), carried back to the workflow in the response itself.

The activity's result is the SDK's `ModelResponse`; its `request_id` (the transport's
request ID, which our layers have no other use for) carries the notes, so they land in
the history with the answer and a replay reads the same ones.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from agents import ModelResponse

Note = Literal["cache", "tool_emulation"]
NOTES: tuple[Note, ...] = ("cache", "tool_emulation")
NOTES_PREFIX = "hybridagent-notes:"
# The model name a stream built from a whole (emulated) answer reports (stream_events.py).
EMULATED_STREAM_MODEL = "emulated-tool-calls"


def notes_of(response: ModelResponse) -> list[Note]:
    request_id = response.request_id or ""
    if not request_id.startswith(NOTES_PREFIX):
        return []
    words = request_id.removeprefix(NOTES_PREFIX).split(",")
    return [note for note in NOTES if note in words]


def with_note(response: ModelResponse, note: Note) -> ModelResponse:
    """`response` with `note` added to the ones it carries."""
    notes = notes_of(response)
    if note not in notes:
        notes.append(note)
    return dataclasses.replace(response, request_id=NOTES_PREFIX + ",".join(notes))
