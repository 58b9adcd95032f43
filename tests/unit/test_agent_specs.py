"""Agent specs: parsing and validation of TOML and YAML files, export -> import round
trips, the built-in catalog, the JSON-schema output type, handoff resolution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agents import Agent, ModelBehaviorError
from jsonschema import Draft202012Validator

from hybridagent.agents.build import build_agent
from hybridagent.agents.catalog import BUILTIN_AGENTS, DEFAULT_AGENT, get_agent_spec
from hybridagent.agents.files import AgentStore, dump_spec, parse_spec, read_spec_file
from hybridagent.agents.output import JsonSchemaOutput
from hybridagent.agents.spec import AgentSpec, InvalidAgentSpecError, UnknownAgentError
from hybridagent.agents.tool_names import TOOL_NAMES
from hybridagent.agents.tool_registry import TOOL_FACTORIES, check_tools
from hybridagent.routing.preferences import RoutingPreferences
from hybridagent.workflows.agent_workflow import resolve_builtin
from hybridagent.workflows.io import AgentRunInput

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "sunny": {"type": "boolean"}},
    "required": ["city", "sunny"],
}

FULL = AgentSpec(
    name="weather-bot",
    instructions='Report the weather.\nQuote "sources" and use: colons.',
    description="Weather reports.",
    model="ollama/llama3.2:3b",
    tools=["get_weather"],
    handoffs=["math-tutor"],
    output_schema=SCHEMA,
    routing=RoutingPreferences(privacy_level="high", terms=["Project Falcon"]),
)

TOML = """
name = "pirate"
instructions = "Talk like a pirate."
tools = ["get_weather"]
[routing]
force_provider = "local"
"""

YAML = """
name: pirate
instructions: Talk like a pirate.
tools: [get_weather]
routing:
  force_provider: local
"""


@pytest.mark.parametrize(("text", "fmt"), [(TOML, "toml"), (YAML, "yaml")])
def test_parses_toml_and_yaml_alike(text: str, fmt: str) -> None:
    spec = parse_spec(text, fmt, "pirate." + fmt)  # type: ignore[arg-type]
    assert spec.name == "pirate"
    assert spec.instructions == "Talk like a pirate."
    assert spec.tools == ["get_weather"]
    assert spec.routing is not None and spec.routing.model_fields_set == {"force_provider"}


@pytest.mark.parametrize("fmt", ["toml", "yaml"])
def test_export_then_import_round_trips(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"weather-bot.{fmt}"
    path.write_text(dump_spec(FULL, fmt), encoding="utf-8")  # type: ignore[arg-type]
    back = read_spec_file(path)
    assert back == FULL
    # Only the routing fields the user set come back as set: merge() depends on it.
    assert back.routing is not None
    assert back.routing.model_fields_set == {"privacy_level", "terms"}


def test_file_stem_names_an_agent_without_a_name(tmp_path: Path) -> None:
    path = tmp_path / "helper.yaml"
    path.write_text("instructions: Help.\n", encoding="utf-8")
    assert read_spec_file(path).name == "helper"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\n', "a.toml: instructions: is required."),
        ('name = "x"\ninstructions = "  "\n', "a.toml: instructions: must not be blank."),
        (
            'name = "x"\ninstructions = "i"\ntools = ["nope"]\n',
            "a.toml: tools: Unknown tool 'nope'; available tools are: get_weather, "
            "search_knowledge_base, retrieve_document, list_tasks, create_task, "
            "update_task, complete_task, remember, recall.",
        ),
        (
            'name = "x"\ninstructions = "i"\n[output_schema]\ntype = "wat"\n',
            "a.toml: output_schema: not a valid JSON schema: "
            "'wat' is not valid under any of the given schemas.",
        ),
        (
            'name = "x"\ninstructions = "i"\n[output_schema]\ntype = "string"\n',
            'a.toml: output_schema: the schema\'s root must be {"type": "object", ...}.',
        ),
        (
            'name = "x"\ninstructions = "i"\nmodel = "gemini/pro"\n',
            "a.toml: model: Unknown model prefix 'gemini' in 'gemini/pro'; "
            "valid prefixes are ollama, local, openai, litellm.",
        ),
        ('name = "x"\ninstructions = "i"\ncolour = "red"\n', "a.toml: colour: Extra inputs"),
        ('name = "two words"\ninstructions = "i"\n', "a.toml: name: String should match"),
        ('name = "x\n', "a.toml is not valid TOML: "),
    ],
)
def test_bad_spec_is_one_sentence_naming_file_and_field(text: str, message: str) -> None:
    with pytest.raises(InvalidAgentSpecError) as caught:
        parse_spec(text, "toml", "a.toml")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_bad_yaml_is_one_sentence() -> None:
    with pytest.raises(InvalidAgentSpecError, match=r"^a.yaml is not valid YAML: .*\.$"):
        parse_spec("name: [unclosed\n", "yaml", "a.yaml")
    with pytest.raises(InvalidAgentSpecError, match="must hold a table of agent fields"):
        parse_spec("- a list\n", "yaml", "a.yaml")


def test_toml_cannot_hold_null_so_export_says_use_yaml() -> None:
    spec = FULL.model_copy(
        update={"output_schema": {**SCHEMA, "properties": {"x": {"default": None}}}}
    )
    with pytest.raises(InvalidAgentSpecError, match="export it as YAML"):
        dump_spec(spec, "toml")
    assert "default: null" in dump_spec(spec, "yaml")


def test_catalog_has_the_issue_agents_and_general_is_default() -> None:
    assert set(BUILTIN_AGENTS) == {
        "general", "math-tutor", "coding-assistant", "creative-writer", "research",
        "task-manager", "conversation-manager", "contextual", "haiku",
    }  # fmt: skip
    assert get_agent_spec(None).name == DEFAULT_AGENT == "general"
    assert set(BUILTIN_AGENTS["research"].tools) == {"search_knowledge_base", "retrieve_document"}
    assert set(BUILTIN_AGENTS["contextual"].tools) == {"remember", "recall"}
    assert len(BUILTIN_AGENTS["task-manager"].tools) == 4
    schema = BUILTIN_AGENTS["conversation-manager"].output_schema
    assert schema is not None and schema["required"] == [
        "topic", "stage", "open_questions", "reply",
    ]  # fmt: skip
    with pytest.raises(UnknownAgentError, match="^Unknown agent 'nobody'"):
        get_agent_spec("nobody")


def test_the_cli_knows_exactly_the_registered_tools() -> None:
    """tool_names.py lets the CLI check specs without importing the tools."""
    assert set(TOOL_NAMES) == set(TOOL_FACTORIES)


def test_every_builtin_tool_is_registered() -> None:
    for spec in BUILTIN_AGENTS.values():
        check_tools(spec.tools, TOOL_FACTORIES)


def test_json_schema_output_validates_with_jsonschema() -> None:
    output = JsonSchemaOutput("weather_output", SCHEMA)
    assert not output.is_plain_text() and not output.is_strict_json_schema()
    assert output.json_schema() == SCHEMA and output.name() == "weather_output"
    assert output.validate_json('{"city": "Oslo", "sunny": false}') == {
        "city": "Oslo",
        "sunny": False,
    }
    with pytest.raises(ModelBehaviorError, match="at sunny: 'yes' is not of type 'boolean'"):
        output.validate_json('{"city": "Oslo", "sunny": "yes"}')
    with pytest.raises(ModelBehaviorError, match="not JSON"):
        output.validate_json("sunny")
    # A raw newline inside a string, as llama.cpp's grammar lets small models write.
    assert output.validate_json('{"city": "Oslo\nNorway", "sunny": true}')["city"] == "Oslo\nNorway"


def test_conversation_manager_schema_is_valid() -> None:
    schema = BUILTIN_AGENTS["conversation-manager"].output_schema
    assert schema is not None
    Draft202012Validator.check_schema(schema)


def test_build_agent_builds_handoffs_and_output_type() -> None:
    pirate = AgentSpec(name="pirate", instructions="Arr.", handoffs=["math-tutor"])
    root = AgentSpec(
        name="triage", instructions="Route.", handoffs=["pirate"], output_schema=SCHEMA
    )
    agent = build_agent(root, "local/smollm2", [pirate, BUILTIN_AGENTS["math-tutor"]])
    assert isinstance(agent.output_type, JsonSchemaOutput)
    [child] = agent.handoffs
    assert isinstance(child, Agent) and child.instructions == "Arr."
    assert [h.name for h in child.handoffs if isinstance(h, Agent)] == ["math-tutor"]
    with pytest.raises(UnknownAgentError, match="hands off to unknown agent 'pirate'"):
        build_agent(root, "local/smollm2", [])


def test_build_agent_refuses_a_handoff_cycle() -> None:
    a = AgentSpec(name="a", instructions="A.", handoffs=["b"])
    b = AgentSpec(name="b", instructions="B.", handoffs=["a"])
    with pytest.raises(UnknownAgentError, match="must not form a cycle"):
        build_agent(a, "local/smollm2", [b, a])


def test_store_resolves_handoffs_through_user_files(tmp_path: Path) -> None:
    store = AgentStore(tmp_path)
    store.save(AgentSpec(name="pirate", instructions="Arr.", handoffs=["parrot", "general"]))
    store.save(AgentSpec(name="parrot", instructions="Squawk."), "yaml")
    root = AgentSpec(name="inline", instructions="Go.", handoffs=["pirate"])
    resolved = store.resolve(root)
    assert [s.name for s in resolved.handoffs] == ["pirate", "parrot", "general"]
    assert store.names() == ["parrot", "pirate"]
    (tmp_path / "parrot.yaml").unlink()
    with pytest.raises(UnknownAgentError, match="has no parrot.toml or parrot.yaml"):
        store.resolve(root)


def test_store_ignores_files_with_builtin_names(tmp_path: Path) -> None:
    (tmp_path / "general.toml").write_text('name = "general"\ninstructions = "Evil."\n')
    store = AgentStore(tmp_path)
    assert store.names() == []
    assert store.load("general") == BUILTIN_AGENTS["general"]
    with pytest.raises(InvalidAgentSpecError, match="built-in"):
        store.save(AgentSpec(name="general", instructions="Evil."))


def test_store_refuses_two_files_for_one_agent(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text('instructions = "a"\n')
    (tmp_path / "x.yaml").write_text("instructions: b\n")
    with pytest.raises(InvalidAgentSpecError, match="more than one file"):
        AgentStore(tmp_path).load("x")


def test_workflow_resolves_builtins_in_code_and_files_through_the_activity() -> None:
    general = resolve_builtin(AgentRunInput(prompt="hi"))
    assert general is not None and general.spec.name == "general"
    assert resolve_builtin(AgentRunInput(prompt="hi", agent="pirate")) is None
    inline = AgentSpec(name="i", instructions="I.", handoffs=["math-tutor"])
    resolved = resolve_builtin(AgentRunInput(prompt="hi", spec=inline))
    assert resolved is not None and [s.name for s in resolved.handoffs] == ["math-tutor"]
    to_file = AgentSpec(name="i", instructions="I.", handoffs=["pirate"])
    assert resolve_builtin(AgentRunInput(prompt="hi", spec=to_file)) is None


def test_workflow_output_json_shape() -> None:
    """AgentRunInput with an inline spec is plain JSON the Temporal CLI can send."""
    raw = json.loads(AgentRunInput(prompt="hi", spec=FULL).model_dump_json())
    assert AgentRunInput.model_validate(raw).spec == FULL
