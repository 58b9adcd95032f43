"""Record the histories tests/integration/test_recorded_histories.py replays: real runs on
a `hybridagent dev` server (run this from its directory, TEMPORAL_ADDRESS unset or set to
it; Ollama unreachable, so `agent_fallback` falls back). Overwrites tests/data/histories."""

import asyncio
from pathlib import Path

from hybridagent.config import load_settings
from hybridagent.workers.temporal_client import connect
from hybridagent.workflows.chat_session import ChatReply, SessionState

OUT = Path(__file__).parent / "histories"


async def main() -> None:
    settings = load_settings()
    client = await connect(settings)
    q = settings.task_queue
    runs = {
        "agent_haiku_tool": (
            "AgentWorkflow",
            {"prompt": "What's the weather in Tokyo?", "agent": "haiku"},
        ),
        "agent_fallback": ("AgentWorkflow", {"prompt": "Say hi.", "model": "ollama/llama3.2"}),
        "agent_private": (
            "AgentWorkflow",
            {"prompt": "My SSN is 512-48-7730; which tax form do I need?"},
        ),
        "agent_structured": (
            "AgentWorkflow",
            {"prompt": "We should pick a venue for the party.", "agent": "conversation-manager"},
        ),
        "local_haiku": ("LocalHaikuWorkflow", {}),
        "coordinator": (
            "CoordinatorWorkflow",
            {"prompt": "What is 2 plus 2?", "specialists": ["math-tutor", "creative-writer"]},
        ),
    }
    for name, (wf, arg) in runs.items():
        wid = f"recorded-{name}"
        handle = await client.start_workflow(wf, arg, id=wid, task_queue=q)
        await handle.result()
        history = await handle.fetch_history()
        (OUT / f"{name}.json").write_text(history.to_json())
        print(name, len(history.events))
    wid = "recorded-chat_session"
    handle = await client.start_workflow("ChatSessionWorkflow", {}, id=wid, task_queue=q)
    for text in ["Hello!", "Say one word."]:
        await handle.execute_update("send", text, result_type=ChatReply)
    await handle.execute_update("end", result_type=SessionState)
    await handle.result()
    history = await handle.fetch_history()
    (OUT / "chat_session.json").write_text(history.to_json())
    print("chat_session", len(history.events))


asyncio.run(main())
