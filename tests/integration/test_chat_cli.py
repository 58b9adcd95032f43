"""`hybridagent chat` driven through a pseudo-terminal, and `hybridagent sessions`, on the
real dev server with the embedded model."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest

from hybridagent.runners.chat_client import ChatSession, list_sessions
from hybridagent.workflows.chat_session import ChatSessionInput
from tests.conftest import RunningWorker
from tests.helpers import scheduled_activities
from tests.integration.test_cli import assert_one_sentence_error, hybridagent, worker_env

PROMPT = "you> "


def spawn(worker: RunningWorker, *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable, ["-m", "hybridagent.runners.cli", *args], env=worker_env(worker),
        encoding="utf-8", timeout=180, dimensions=(50, 200),
    )  # fmt: skip


async def in_terminal(dialogue: Callable[[], None]) -> None:
    """pexpect blocks; the test's worker shares this event loop, so talk from a thread."""
    await asyncio.to_thread(dialogue)


async def test_repl_in_a_terminal_talks_switches_agent_and_explains(
    worker: RunningWorker,
) -> None:
    child = spawn(worker, "chat")
    found: dict[str, str] = {}

    def say(line: str, *expected: str) -> None:
        child.sendline(line)
        for text in expected:
            child.expect_exact(text)
        child.expect_exact(PROMPT)

    def dialogue() -> None:
        child.expect(r"session (chat-[0-9a-f]+) · agent general · 0 messages · streaming")
        found["id"] = child.match.group(1)
        child.expect_exact(PROMPT)
        say("Hello, who are you?", "general> ", "local/smollm2 · ")
        say("/agent math-tutor", "Now talking to math-tutor; the conversation stays.")
        say("What is 2 plus 2?", "math-tutor> ", "local/smollm2 · ")
        say("/history", "you: Hello, who are you?", "you: What is 2 plus 2?", "math-tutor (")
        say("/explain", "call 1 (math-tutor): local/smollm2")
        say("/agent nosuch", "error: Unknown agent 'nosuch'")
        say("/model cloudy/x", "error: ")
        say("/bogus", "Unknown command /bogus; /help lists the commands.")
        child.sendline("/exit")
        child.expect_exact(f"stays open: hybridagent sessions resume {found['id']}")
        child.expect(pexpect.EOF)
        child.close()

    await in_terminal(dialogue)
    assert child.exitstatus == 0
    session = await ChatSession.existing(worker.settings, found["id"])
    history = await session.history()
    assert [(m.role, m.agent) for m in history] == [
        ("user", None), ("assistant", "general"), ("user", None), ("assistant", "math-tutor"),
    ]  # fmt: skip
    assert (await session.state()).agent == "math-tutor"  # nosuch did not change it
    activities = [name for name, _ in scheduled_activities(await session.handle.fetch_history())]
    assert activities.count("invoke_model_activity_streaming") == 2
    await session.end()


async def test_client_shows_streamed_text_as_it_arrives(worker: RunningWorker) -> None:
    session = await ChatSession.start(worker.settings, ChatSessionInput(stream=True))
    pieces: list[str] = []
    reply = await session.send("Write two sentences about rivers.", pieces.append)
    # The reader hands over pieces while the Update runs; only the remainder (often
    # empty) comes after it. A client that printed the reply whole would call once.
    assert len(pieces) > 2
    assert "".join(pieces) == reply.reply
    await session.end()


async def test_sessions_list_show_export_end_and_resume(
    worker: RunningWorker, tmp_path: Path
) -> None:
    session = await ChatSession.start(worker.settings, ChatSessionInput())
    await session.send("Tell me about   lighthouses.")
    env = worker_env(worker)

    listed = await wait_for_listing(worker, session.session_id)
    assert listed == ("open", 2, "Tell me about lighthouses.")
    result = await hybridagent("sessions", "list", env=env)
    assert result.returncode == 0, result.stderr
    assert re.search(rf"{session.session_id} .*open .*general .*2 .*Tell me about", result.stdout)

    shown = await hybridagent("sessions", "show", session.session_id, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "you: Tell me about   lighthouses." in shown.stdout
    assert "general (local/smollm2): " in shown.stdout

    exported = await hybridagent("sessions", "export", session.session_id, env=env)
    data = json.loads(exported.stdout)
    history = await session.history()
    assert data["messages"] == [m.model_dump() for m in history]
    markdown = tmp_path / "chat.md"
    written = await hybridagent(
        "sessions", "export", session.session_id, "--format", "markdown", "-o", str(markdown),
        env=env,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    assert markdown.read_text().startswith(f"# Chat session {session.session_id}")
    assert f"**general** (local/smollm2): {history[1].content}" in markdown.read_text()

    ended = await hybridagent("sessions", "end", session.session_id, env=env)
    assert ended.stdout.strip() == f"Session {session.session_id} ended after 2 messages."
    again = await hybridagent("sessions", "end", session.session_id, env=env)
    assert_one_sentence_error(again, f"Chat session {session.session_id} has ended;")
    missing = await hybridagent("sessions", "show", "chat-nope", env=env)
    assert_one_sentence_error(missing, "There is no chat session 'chat-nope';")

    # Resuming an ended session starts it again with its conversation.
    child = spawn(worker, "sessions", "resume", session.session_id, "--no-stream")

    def dialogue() -> None:
        child.expect_exact(f"session {session.session_id} · agent general · 2 messages")
        child.expect_exact(PROMPT)
        child.sendline("And one more thing about them?")
        child.expect_exact("general> ")
        child.expect_exact(PROMPT)
        child.sendline("/end")
        child.expect_exact(f"Session {session.session_id} ended after 4 messages.")
        child.expect(pexpect.EOF)
        child.close()

    await in_terminal(dialogue)
    assert child.exitstatus == 0
    resumed = await session.history()
    assert resumed[:2] == history
    assert resumed[2].content == "And one more thing about them?"


async def wait_for_listing(worker: RunningWorker, session_id: str) -> tuple[str, int, str]:
    """Temporal's visibility store is eventually consistent: a new session or memo may
    take a moment to be listed. Bounded wait for the condition, not a fixed sleep."""
    async with asyncio.timeout(30):
        while True:
            rows = {row.session_id: row for row in await list_sessions(worker.settings)}
            row = rows.get(session_id)
            if row is not None and row.messages == 2:
                return row.status, row.messages, row.title
            await asyncio.sleep(0.2)


@pytest.fixture(autouse=True)
def _agents_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The CLI looks user agents up under the working directory: give it an empty one."""
    monkeypatch.chdir(tmp_path)
