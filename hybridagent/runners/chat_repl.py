"""`hybridagent chat`: an interactive conversation on a ChatSessionWorkflow.

Each line is a message (an Update that returns the reply) unless it is a command. The
session lives in Temporal, not in this process: `/exit` leaves it open for
`hybridagent sessions resume`, `/end` ends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rich.console import Console

from hybridagent.config import Settings
from hybridagent.errors import UserMistake
from hybridagent.routing.names import is_default
from hybridagent.runners.chat_client import ChatSession
from hybridagent.runners.requests import check_request
from hybridagent.runners.start import explain, warn_without_workers
from hybridagent.workflows.chat_session import ChatMessage, ChatSessionInput

HELP = """\
/agent NAME   talk to another agent from the next message on (`hybridagent agents list`)
/model NAME   use a model from the next message on; /model auto: let routing choose
/history      the conversation so far
/explain      how the last message's model calls were routed
/end          end the session and leave
/exit         leave; the session stays open (`hybridagent sessions resume ID`)
/help         this list"""

PROMPT = "you> "


class Repl:
    def __init__(
        self,
        session: ChatSession,
        console: Console,
        read_line: Callable[[str], str] = input,
        stream: bool = True,
    ) -> None:
        self.session = session
        self.console = console
        self.read_line = read_line
        self.stream = stream

    def say(self, text: str, style: str | None = None) -> None:
        self.console.print(text, style=style, highlight=False, markup=False, soft_wrap=True)

    async def run(self) -> None:
        state = await self.session.state()
        mode = "streaming" if state.streaming and self.stream else "not streaming"
        self.say(
            f"session {self.session.session_id} · agent {state.agent} · "
            f"{state.messages} messages · {mode}"
        )
        self.say(f"Web UI: {self.session.url}", style="dim")
        self.say("Type a message; /help for commands.", style="dim")
        while True:
            try:
                line = (await asyncio.to_thread(self.read_line, PROMPT)).strip()
            except EOFError:  # Ctrl-D
                line = "/exit"
            if not line:
                continue
            try:
                if line.startswith("/"):
                    if not await self.command(line):
                        return
                else:
                    await self.message(line)
            except UserMistake as err:  # said in one sentence; the REPL goes on
                self.say(f"error: {err}", style="red")

    async def message(self, text: str) -> None:
        agent = (await self.session.state()).agent
        self.console.print(f"{agent}> ", end="", style="bold", highlight=False, markup=False)

        def show(piece: str) -> None:
            self.console.print(piece, end="", highlight=False, markup=False, soft_wrap=True)

        reply = await self.session.send(text, show if self.stream else None)
        if not self.stream:
            show(reply.reply)
        self.say("")
        usage = reply.usage
        answered = f"{reply.agent} · " if reply.agent != agent else ""
        tokens = f"{usage.total_tokens} tokens" if usage.total_tokens else "tokens not reported"
        private = " · private data: this session stays on local models" if reply.private else ""
        self.say(f"  {answered}{', '.join(reply.models_used)} · {tokens}{private}", style="dim")
        for notice in reply.notices:
            self.say(f"  notice: {notice}", style="yellow")

    async def command(self, line: str) -> bool:
        """Run a command; False when the REPL should stop."""
        name, _, argument = line.partition(" ")
        argument = argument.strip()
        if name in ("/exit", "/quit"):
            self.say(
                f"Session {self.session.session_id} stays open: "
                f"hybridagent sessions resume {self.session.session_id}"
            )
            return False
        if name == "/end":
            state = await self.session.end()
            self.say(f"Session {self.session.session_id} ended after {state.messages} messages.")
            return False
        if name == "/help":
            self.say(HELP)
        elif name == "/agent":
            if not argument:
                self.say(f"agent: {(await self.session.state()).agent} (/agent NAME to switch)")
                return True
            check_request(argument, None)
            state = await self.session.change(agent=argument)
            self.say(f"Now talking to {state.agent}; the conversation stays.")
        elif name == "/model":
            if not argument:
                model = (await self.session.state()).model
                self.say(f"model: {model or 'chosen by routing'} (/model NAME to switch)")
                return True
            if not (is_default(argument) or argument == "default"):
                check_request(None, argument)
            state = await self.session.change(
                model="" if is_default(argument) or argument == "default" else argument
            )
            self.say(f"Model: {state.model or 'chosen by routing'} from the next message on.")
        elif name == "/history":
            transcript = await self.session.transcript()
            self.say(format_history(transcript.messages) or "No messages yet.")
        elif name == "/explain":
            self.say(explain(await self.session.trail()))
        else:
            self.say(f"Unknown command {name}; /help lists the commands.", style="red")
        return True


def format_history(messages: list[ChatMessage], *, markdown: bool = False) -> str:
    """One message a line, or a Markdown paragraph a message with the speaker in bold."""
    bold = "**" if markdown else ""
    lines = []
    for message in messages:
        if message.role == "user":
            lines.append(f"{bold}you:{bold} {message.content}")
        else:
            models = f" ({', '.join(message.models)})" if message.models else ""
            speaker = message.agent or "assistant"
            lines.append(f"{bold}{speaker}{bold}{models}: {message.content}")
    return ("\n\n" if markdown else "\n").join(lines)


async def chat(
    settings: Settings,
    console: Console,
    *,
    request: ChatSessionInput | None = None,
    session_id: str | None = None,
    stream: bool = True,
) -> None:
    """Open a new session (`request`) or an existing one (`session_id`) and talk."""
    if session_id is not None:
        session = await ChatSession.attach(settings, session_id)
    else:
        session = await ChatSession.start(settings, request or ChatSessionInput(stream=stream))
        await warn_without_workers(session.client, settings.task_queue)
    await Repl(session, console, stream=stream).run()
