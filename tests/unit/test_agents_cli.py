"""`hybridagent agents` commands through typer's CliRunner, on a temporary agents dir."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hybridagent.agents.files import read_spec_file
from hybridagent.runners.cli import app

runner = CliRunner()


@pytest.fixture
def agents_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray hybridagent.toml or .env
    monkeypatch.delenv("HYBRIDAGENT_CONFIG", raising=False)
    monkeypatch.setenv("HYBRIDAGENT_AGENTS_DIR", str(tmp_path / "agents"))
    return tmp_path / "agents"


def agents(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["agents", *args])
    return result.exit_code, result.stdout, result.stderr


def test_create_show_edit_export_import_delete(agents_dir: Path, tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "string"}}}))
    code, out, err = agents(
        "create", "pirate", "--instructions", "Talk like a pirate.", "--tool", "get_weather",
        "--handoff", "math-tutor", "--output-schema", str(schema),
    )  # fmt: skip
    assert code == 0, err
    assert out == f"created {agents_dir / 'pirate.toml'}\n"
    spec = read_spec_file(agents_dir / "pirate.toml")
    assert spec.handoffs == ["math-tutor"] and spec.output_schema is not None

    code, out, _ = agents("list")
    assert code == 0 and "pirate" in out and "conversation-manager" in out

    code, out, _ = agents("show", "pirate")
    assert out.startswith(f"# pirate: {agents_dir / 'pirate.toml'}\n")
    assert 'instructions = "Talk like a pirate."' in out

    code, out, err = agents("edit", "pirate", "--model", "ollama/qwen3:4b", "--tool", "get_weather")
    assert code == 0, err
    edited = read_spec_file(agents_dir / "pirate.toml")
    assert edited.model == "ollama/qwen3:4b" and edited.instructions == "Talk like a pirate."

    exported = tmp_path / "pirate.yaml"
    assert agents("export", "pirate", "-o", str(exported))[0] == 0
    assert exported.read_text().startswith("name: pirate\n")
    assert agents("delete", "pirate") == (0, f"deleted {agents_dir / 'pirate.toml'}\n", "")
    assert agents("show", "pirate")[0] == 1

    code, out, err = agents("import", str(exported))
    assert code == 0, err
    assert read_spec_file(agents_dir / "pirate.yaml") == edited
    code, _, err = agents("import", str(exported))
    assert code == 1 and "already exists" in err and "--force" in err
    assert agents("import", str(exported), "--force")[0] == 0


def test_builtins_can_be_shown_and_exported_but_not_changed(agents_dir: Path) -> None:
    code, out, _ = agents("export", "conversation-manager", "--format", "yaml")
    assert code == 0 and "open_questions" in out
    code, out, _ = agents("show", "general")
    assert code == 0 and out.startswith("# general: built-in\n")
    for args in (
        ("delete", "general"),
        ("edit", "general", "--model", "ollama/x"),
        ("create", "general", "--instructions", "x"),
    ):
        code, _, err = agents(*args)
        assert code == 1 and "'general' is a built-in agent" in err, args
    assert not agents_dir.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--tool", "nope"),
            "tools: Unknown tool 'nope'; available tools are: get_weather, "
            "search_knowledge_base, retrieve_document, list_tasks, create_task, "
            "update_task, complete_task, remember, recall.",
        ),
        (("--handoff", "ghost"), "handoffs: unknown agent 'ghost'"),
        (("--model", "gemini/pro"), "model: Unknown model prefix 'gemini'"),
    ],
)
def test_bad_create_names_field_and_file_and_writes_nothing(
    agents_dir: Path, args: tuple[str, ...], message: str
) -> None:
    code, out, err = agents("create", "bad", "--instructions", "x", *args)
    assert code == 1 and out == ""
    assert err.startswith(f"error: {agents_dir / 'bad.toml'}: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (agents_dir / "bad.toml").exists()


def test_bad_output_schema_and_bad_import_write_nothing(agents_dir: Path, tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text('{"type": "object", "properties": {"a": {"type": "wat"}}}')
    code, _, err = agents("create", "bad", "--instructions", "x", "--output-schema", str(schema))
    assert code == 1 and "output_schema: not a valid JSON schema" in err
    spec_file = tmp_path / "nameless.toml"
    spec_file.write_text('tools = ["get_weather"]\n')
    code, _, err = agents("import", str(spec_file))
    assert code == 1 and err.startswith(f"error: {spec_file}: instructions: is required.")
    assert not agents_dir.exists()


def test_edit_in_editor_validates_before_saving(
    agents_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert agents("create", "pirate", "--instructions", "Talk like a pirate.")[0] == 0
    path = agents_dir / "pirate.toml"
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[3])  # editors get the file last\n"
        "p.write_text(p.read_text().replace(sys.argv[1], sys.argv[2]))\n"
    )
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor} 'a pirate' 'a parrot'")
    assert agents("edit", "pirate", "--editor")[0] == 0
    assert read_spec_file(path).instructions == "Talk like a parrot."
    before = path.read_text()
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor} instructions tools")
    code, _, err = agents("edit", "pirate", "--editor")
    assert code == 1 and err.startswith(f"error: {path}: ")
    assert path.read_text() == before


def test_editor_repairs_a_file_that_no_longer_parses(
    agents_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents_dir.mkdir()
    path = agents_dir / "broken.toml"
    path.write_text('instructions = "Help."\ntools = ["nope"]\n')
    assert agents("show", "broken")[0] == 1
    editor = tmp_path / "fix.py"
    editor.write_text(
        "import sys, pathlib\npathlib.Path(sys.argv[1]).write_text('instructions = \"Help.\"\\n')\n"
    )
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    code, _, err = agents("edit", "broken", "--editor")
    assert code == 0, err
    assert read_spec_file(path).tools == []


def test_names_cannot_reach_outside_the_agents_dir(agents_dir: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.toml"
    victim.write_text('instructions = "x"\n')
    code, _, err = agents("delete", "../victim")
    assert code == 1 and "'../victim' is not an agent name" in err
    assert victim.exists()
