"""recent_window: which earlier messages go to the agent with a new one."""

from __future__ import annotations

from hybridagent.workflows.chat_session import ChatMessage, recent_window


def conversation(pairs: int, size: int = 40) -> list[ChatMessage]:
    messages = []
    for n in range(pairs):
        messages.append(ChatMessage(role="user", content=f"q{n} " + "x" * size))
        messages.append(ChatMessage(role="assistant", content=f"a{n} " + "y" * size))
    return messages


def test_everything_fits_a_large_budget() -> None:
    messages = conversation(5)
    assert recent_window(messages, 10_000) == messages


def test_the_newest_messages_that_fit_starting_with_a_question() -> None:
    messages = conversation(10)  # each message ~ 19 tokens in the router's estimate
    window = recent_window(messages, 60)
    assert window == messages[-2:]  # 3 would fit, but the third is an answer without its question
    assert window[0].role == "user"


def test_nothing_fits_a_tiny_budget() -> None:
    assert recent_window(conversation(3, size=400), 100) == []
