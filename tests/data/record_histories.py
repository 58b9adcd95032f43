"""Record the histories tests/integration/test_recorded_histories.py replays: real runs on
a `hybridagent dev` server (run this from its directory, TEMPORAL_ADDRESS unset or set to
it; Ollama unreachable, so `agent_fallback` falls back). Overwrites the files in
tests/data/histories of the runs named on the command line, or of all of them.

Each file is recorded on the code of its time, so the set proves that histories of every
kind of run, recorded before a change, replay after it (see the test's docstring for which
commit recorded which)."""

import asyncio
import sys
from pathlib import Path
from typing import Any

from hybridagent.agents.files import AgentStore
from hybridagent.agents.spec import AgentSpec
from hybridagent.config import load_settings
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.chat_session import ChatReply, SessionState

OUT = Path(__file__).parent / "histories"
# A user agent, from a file in the worker's agents directory (resolved by the worker).
PIRATE = AgentSpec(name="recorded-pirate", instructions="Answer every question like a pirate.")
PRIVATE = {"prompt": "My SSN is 512-48-7730; which tax form do I need?"}
RUNS: dict[str, tuple[str, dict[str, Any]]] = {
    "agent_haiku_tool": (
        "AgentWorkflow",
        {"prompt": "What's the weather in Tokyo?", "agent": "haiku"},
    ),
    "agent_fallback": ("AgentWorkflow", {"prompt": "Say hi.", "model": "ollama/llama3.2"}),
    "agent_private": ("AgentWorkflow", PRIVATE),
    "agent_structured": (
        "AgentWorkflow",
        {"prompt": "We should pick a venue for the party.", "agent": "conversation-manager"},
    ),
    "local_haiku": ("LocalHaikuWorkflow", {}),
    "coordinator": (
        "CoordinatorWorkflow",
        {"prompt": "What is 2 plus 2?", "specialists": ["math-tutor", "creative-writer"]},
    ),
    "agent_user_file": ("AgentWorkflow", {"prompt": "How are you?", "agent": PIRATE.name}),
    # Recorded after runs start with one local activity (start_run).
    "start_run_private": ("AgentWorkflow", PRIVATE),
    "start_run_user_file": ("AgentWorkflow", {"prompt": "How are you?", "agent": PIRATE.name}),
    # The HTTP API's chat completion (issue 14).
    "chat_completion": (
        "ChatCompletionWorkflow",
        {
            "messages": [
                {"role": "system", "content": "Answer in one sentence."},
                {"role": "user", "content": "What is a haiku?"},
            ],
            "max_tokens": 40,
        },
    ),
}
# Chat sessions: their input, then two messages and `end`.
CHATS: dict[str, dict[str, Any]] = {
    "chat_session": {},
    "chat_user_agent": {"agent": PIRATE.name},
    "start_run_chat": {"agent": PIRATE.name},
}


async def main(names: list[str]) -> None:
    settings = load_settings()
    AgentStore(settings.agents_path).save(PIRATE)
    client = await connect(settings)
    q = settings.task_queue
    for name, (wf, arg) in RUNS.items():
        if names and name not in names:
            continue
        handle = await client.start_workflow(wf, arg, id=f"recorded-{name}", task_queue=q)
        await handle.result()
        history = await handle.fetch_history()
        (OUT / f"{name}.json").write_text(history.to_json())
        print(name, len(history.events))
    for name, arg in CHATS.items():
        if names and name not in names:
            continue
        handle = await client.start_workflow(
            "ChatSessionWorkflow", arg, id=f"recorded-{name}", task_queue=q
        )
        for text in ["Hello!", "Say one word."]:
            await handle.execute_update("send", text, result_type=ChatReply)
        await handle.execute_update("end", result_type=SessionState)
        await handle.result()
        history = await handle.fetch_history()
        (OUT / f"{name}.json").write_text(history.to_json())
        print(name, len(history.events))


asyncio.run(main(sys.argv[1:]))
