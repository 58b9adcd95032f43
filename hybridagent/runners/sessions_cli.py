"""`hybridagent sessions`: the chat sessions on the Temporal server, and their transcripts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from hybridagent.config import load_settings
from hybridagent.entry import run_cli_command

if TYPE_CHECKING:
    from hybridagent.workflows.chat_session import ChatMessage, SessionState

T = TypeVar("T")
SessionId = Annotated[str, typer.Argument(help="A session id (chat-…).")]

sessions_app = typer.Typer(
    rich_markup_mode=None,
    help="Chat sessions: list, show, resume, export or end them.",
    no_args_is_help=True,
)


class ExportFormat(StrEnum):
    json = "json"
    markdown = "markdown"


def _run(start: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine; a user mistake is one sentence and exit code 1."""
    result: T = run_cli_command(lambda: asyncio.run(start()))
    return result


@sessions_app.command("list")
def sessions_list(
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many, newest first.")] = 50,
) -> None:
    """Sessions on the server, newest first (ended ones too, while Temporal retains them)."""
    from hybridagent.runners.chat_client import list_sessions

    rows = _run(lambda: list_sessions(load_settings(), limit))
    if not rows:
        typer.echo("No chat sessions yet; `hybridagent chat` starts one.")
        return
    table = Table("session", "status", "started", "agent", "messages", "first message")
    for row in rows:
        table.add_row(
            row.session_id, row.status, row.started.astimezone().strftime("%Y-%m-%d %H:%M"),
            row.agent, str(row.messages), row.title,
        )  # fmt: skip
    Console(width=200).print(table)


async def _transcript(session_id: str) -> tuple[SessionState, list[ChatMessage], str]:
    from hybridagent.runners.chat_client import ChatSession

    session = await ChatSession.existing(load_settings(), session_id)
    transcript = await session.transcript()
    if transcript.missing:
        typer.echo(
            f"note: the first {transcript.missing} messages are in the worker's database, "
            "which this machine does not reach (HYBRIDAGENT_DATABASE_URL, "
            "HYBRIDAGENT_STATE_DIR); showing the newest.",
            err=True,
        )
    return await session.state(), transcript.messages, session.url


@sessions_app.command("show")
def sessions_show(
    session_id: SessionId,
) -> None:
    """The conversation of a session."""
    from hybridagent.runners.chat_repl import format_history

    state, messages, url = _run(lambda: _transcript(session_id))
    status = "ended" if state.ended else "open"
    typer.echo(f"session {session_id} · {status} · agent {state.agent} · {state.messages} messages")
    typer.echo(f"Web UI: {url}\n")
    typer.echo(format_history(messages) or "No messages yet.")


@sessions_app.command("resume")
def sessions_resume(
    session_id: SessionId,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Print replies whole.")] = False,
) -> None:
    """Talk in a session again; an ended one starts again with its conversation."""
    from hybridagent.runners.chat_repl import chat

    _run(lambda: chat(load_settings(), Console(), session_id=session_id, stream=not no_stream))


@sessions_app.command("export")
def sessions_export(
    session_id: SessionId,
    format: Annotated[ExportFormat, typer.Option(help="json or markdown.")] = ExportFormat.json,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """The whole conversation, with the agent and models of every reply."""
    state, messages, _ = _run(lambda: _transcript(session_id))
    if format is ExportFormat.json:
        text = json.dumps(
            {
                "session": session_id,
                "agent": state.agent,
                "model": state.model,
                "ended": state.ended,
                "messages": [m.model_dump() for m in messages],
            },
            indent=2,
            ensure_ascii=False,
        )
    else:
        text = markdown(session_id, messages)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {len(messages)} messages to {output}")


def markdown(session_id: str, messages: list[ChatMessage]) -> str:
    from hybridagent.runners.chat_repl import format_history

    body = format_history(messages, markdown=True)
    return "\n\n".join(filter(None, [f"# Chat session {session_id}", body]))


@sessions_app.command("end")
def sessions_end(session_id: SessionId) -> None:
    """End a session; its conversation stays readable (show, export, resume)."""

    async def end() -> SessionState:
        from hybridagent.runners.chat_client import ChatSession

        session = await ChatSession.existing(load_settings(), session_id)
        return await session.end()

    state = _run(end)
    typer.echo(f"Session {session_id} ended after {state.messages} messages.")
