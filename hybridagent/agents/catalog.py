"""The built-in agents, by name. Built-in names are reserved: a user file cannot
replace one (see docs/agents.md), so a name means the same agent on every machine."""

from __future__ import annotations

from hybridagent.agents.spec import AgentSpec, UnknownAgentError

DEFAULT_AGENT = "general"

# No maxLength: llama-cpp-python's server (the embedded model) drops the connection on
# a large one (2000 did, in our tests); maxItems works.
CONVERSATION_STATE_SCHEMA = {
    "type": "object",
    "properties": {
        "topic": {"type": "string"},
        "stage": {"type": "string", "enum": ["opening", "exploring", "deciding", "closing"]},
        "open_questions": {
            "type": "array",
            "items": {"type": "string"},
            "maxItems": 5,
        },
        "reply": {"type": "string"},
    },
    "required": ["topic", "stage", "open_questions", "reply"],
    "additionalProperties": False,
}

BUILTIN_AGENTS: dict[str, AgentSpec] = {
    spec.name: spec
    for spec in [
        AgentSpec(
            name="general",
            description="A general assistant for everyday questions.",
            instructions="You are a helpful assistant. Answer clearly and concisely.",
        ),
        AgentSpec(
            name="math-tutor",
            description="Explains and solves maths problems step by step.",
            instructions=(
                "You are a patient maths tutor. Solve problems step by step: restate the "
                "problem, show each step with its reason, then give the final answer on its "
                "own line. Check the answer before giving it."
            ),
        ),
        AgentSpec(
            name="coding-assistant",
            description="Writes, explains and debugs code.",
            instructions=(
                "You are a senior software engineer. Give working, idiomatic code in fenced "
                "blocks with the language named, explain the key decisions briefly, and point "
                "out edge cases and how to test them."
            ),
        ),
        AgentSpec(
            name="creative-writer",
            description="Stories, poems and other creative writing.",
            instructions=(
                "You are a creative writer. Write vivid, original prose or verse in the form "
                "and tone asked for; prefer concrete images to abstractions."
            ),
        ),
        AgentSpec(
            name="research",
            description="Answers from the knowledge base, citing documents.",
            instructions=(
                "You are a research assistant. Search the knowledge base before answering, "
                "retrieve the documents you rely on, cite them by title, and say plainly when "
                "the knowledge base does not contain the answer."
            ),
            tools=["search_knowledge_base", "retrieve_document"],
        ),
        AgentSpec(
            name="task-manager",
            description="Lists, creates, updates and completes tasks.",
            instructions=(
                "You manage the user's tasks. List tasks before changing them, create tasks "
                "with a clear title, update or complete the task the user means, and confirm "
                "each change in one sentence."
            ),
            tools=["list_tasks", "create_task", "update_task", "complete_task"],
        ),
        AgentSpec(
            name="conversation-manager",
            description="Tracks a conversation's topic, stage and open questions.",
            instructions=(
                "You track the state of a conversation. From the messages, name the current "
                "topic, the stage (opening, exploring, deciding or closing), the questions "
                "still open, and write a short reply that moves the conversation on."
            ),
            output_schema=CONVERSATION_STATE_SCHEMA,
        ),
        AgentSpec(
            name="contextual",
            description="Remembers facts about the user across conversations.",
            instructions=(
                "You are an assistant with memory. Recall what you know about the user before "
                "answering, and remember new lasting facts or preferences they tell you."
            ),
            tools=["remember", "recall"],
        ),
        # The haiku assistant of the Temporal/Agents SDK model-providers sample.
        AgentSpec(
            name="haiku",
            instructions="You only respond in haikus.",
            tools=["get_weather"],
        ),
    ]
}


def get_agent_spec(name: str | None) -> AgentSpec:
    key = (name or DEFAULT_AGENT).strip()
    try:
        return BUILTIN_AGENTS[key]
    except KeyError:
        raise UnknownAgentError(
            f"Unknown agent {key!r}; built-in agents are: {', '.join(BUILTIN_AGENTS)}."
        ) from None
