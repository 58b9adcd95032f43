"""`hybridagent agents`: list, show, create, edit, delete, export and import agent specs.

User agents are files in the agents directory (HYBRIDAGENT_AGENTS_DIR, default
<state_dir>/agents), which the worker reads when a run names one. Every command
validates the whole spec before it writes anything.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
import tomllib
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.table import Table

from hybridagent.agents.catalog import BUILTIN_AGENTS
from hybridagent.agents.files import (
    AgentStore,
    Format,
    dump_spec,
    format_of,
    parse_spec,
    read_spec_file,
    validate_spec,
)
from hybridagent.agents.spec import AgentSpec, InvalidAgentSpecError, UnknownAgentError
from hybridagent.config import ConfigError, load_settings

agents_app = typer.Typer(
    rich_markup_mode=None,
    help="Agent specs: the built-in catalog and your own agents, as TOML or YAML files.",
    no_args_is_help=True,
)
_err = Console(stderr=True)

FormatOption = Annotated[str | None, typer.Option("--format", help="toml or yaml.")]
ToolOption = Annotated[
    list[str] | None, typer.Option("--tool", help="A tool name (repeat for more).")
]
HandoffOption = Annotated[
    list[str] | None, typer.Option("--handoff", help="An agent to hand off to (repeat).")
]
SchemaOption = Annotated[
    Path | None,
    typer.Option("--output-schema", help="A JSON schema file: the agent answers with an object."),
]


def _fail(message: str) -> NoReturn:
    _err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _store() -> AgentStore:
    try:
        return AgentStore(load_settings().agents_path)
    except ConfigError as err:
        _fail(str(err))


def _format(value: str | None) -> Format | None:
    if value is None:
        return None
    if value not in ("toml", "yaml"):
        _fail(f"--format must be toml or yaml, not {value!r}.")
    return "toml" if value == "toml" else "yaml"


def _schema(path: Path) -> dict[str, Any]:
    """A JSON schema from a .json file (or .yaml/.toml, parsed as such)."""

    def load() -> Any:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise InvalidAgentSpecError(f"{path} cannot be read: {err.strerror}.") from None
        if path.suffix.lower() != ".json":
            return _parse_data(text, format_of(path), str(path))
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise InvalidAgentSpecError(f"{path} is not valid JSON: {err}.") from None

    data = _guard(load)
    if not isinstance(data, dict):
        _fail(f"{path}: output_schema: a JSON schema is an object.")
    return data


def _parse_data(text: str, fmt: Format, source: str) -> Any:
    try:
        return tomllib.loads(text) if fmt == "toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError):
        raise InvalidAgentSpecError(f"{source} is not valid {fmt.upper()}.") from None


def _checked(store: AgentStore, data: dict[str, Any], source: str) -> AgentSpec:
    spec = validate_spec(data, source)
    store.check(spec, source)
    return spec


def _guard(fn: Any) -> Any:
    """Spec mistakes are one sentence and exit code 1."""
    try:
        return fn()
    except (InvalidAgentSpecError, UnknownAgentError, ConfigError) as err:
        _fail(str(err))


@agents_app.command("list")
def list_agents() -> None:
    """The built-in agents, then yours; a broken file shows its error instead of failing."""
    store = _store()
    table = Table("name", "source", "model", "tools", "handoffs", "output", "description")
    for spec in BUILTIN_AGENTS.values():
        table.add_row(*_row(spec, "built-in"))
    for name in store.names():
        try:
            spec = store.load(name)
        except (InvalidAgentSpecError, UnknownAgentError) as err:
            table.add_row(name, "[red]invalid[/red]", "", "", "", "", str(err))
            continue
        table.add_row(*_row(spec, str(store.path_of(name))))
    Console(width=200).print(table)


def _row(spec: AgentSpec, source: str) -> list[str]:
    return [
        spec.name,
        source,
        spec.model or "auto",
        ", ".join(spec.tools),
        ", ".join(spec.handoffs),
        "schema" if spec.output_schema else "text",
        spec.description,
    ]


@agents_app.command("show")
def show(name: str, format: FormatOption = None) -> None:
    """Print an agent's spec (TOML by default), with where it comes from."""
    store = _store()
    spec = _guard(lambda: store.load(name))
    where = "built-in" if name in BUILTIN_AGENTS else str(store.path_of(name))
    typer.echo(f"# {name}: {where}")
    typer.echo(_guard(lambda: dump_spec(spec, _format(format) or "toml")), nl=False)


@agents_app.command("create")
def create(
    name: str,
    instructions: Annotated[str, typer.Option(help="The agent's system instructions.")],
    description: Annotated[str, typer.Option(help="What a handing-off agent sees.")] = "",
    model: Annotated[
        str | None, typer.Option(help="e.g. ollama/llama3.2:3b; default auto.")
    ] = None,
    tool: ToolOption = None,
    handoff: HandoffOption = None,
    output_schema: SchemaOption = None,
    format: FormatOption = None,
) -> None:
    """Write a new agent file; nothing is written unless the whole spec is valid."""
    store = _store()
    fmt = _format(format) or "toml"
    target = store.root / f"{name}.{fmt}"
    if name in BUILTIN_AGENTS:
        _fail(f"{name!r} is a built-in agent; give yours another name.")
    if _guard(lambda: store.path_of(name)) is not None:
        _fail(f"Agent {name!r} already exists ({store.path_of(name)}); use `agents edit`.")
    data: dict[str, Any] = {"name": name, "instructions": instructions}
    data.update(_options(description, model, tool, handoff, output_schema))
    spec = _guard(lambda: _checked(store, data, str(target)))
    typer.echo(f"created {_guard(lambda: store.save(spec, fmt))}")


def _options(
    description: str | None,
    model: str | None,
    tool: list[str] | None,
    handoff: list[str] | None,
    output_schema: Path | None,
) -> dict[str, Any]:
    given: dict[str, Any] = {
        "description": description or None,
        "model": model,
        "tools": tool,
        "handoffs": handoff,
        "output_schema": _schema(output_schema) if output_schema else None,
    }
    return {k: v for k, v in given.items() if v is not None}


@agents_app.command("edit")
def edit(
    name: str,
    instructions: Annotated[str | None, typer.Option(help="New instructions.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    model: Annotated[str | None, typer.Option(help="New model.")] = None,
    tool: ToolOption = None,
    handoff: HandoffOption = None,
    output_schema: SchemaOption = None,
    editor: Annotated[bool, typer.Option("--editor", help="Edit the file in $EDITOR.")] = False,
) -> None:
    """Change a user agent: given options replace those fields (--tool and --handoff
    replace the whole list), or --editor opens the file; invalid results write nothing."""
    store = _store()
    if name in BUILTIN_AGENTS:
        _fail(
            f"{name!r} is a built-in agent and cannot be edited; "
            f"`agents export {name}` and import it under another name."
        )
    path = _guard(lambda: store.path_of(name))
    if path is None:
        _fail(f"There is no user-defined agent {name!r} in {store.root}.")
    if editor:  # also the way to repair a file that no longer parses
        spec = _edit_in_editor(store, name, path)
    else:
        current = _guard(lambda: read_spec_file(path))
        data = current.model_dump(exclude_unset=True)
        if current.routing is not None:
            data["routing"] = current.routing.model_dump(exclude_unset=True)
        if instructions is not None:
            data["instructions"] = instructions
        data.update(_options(description, model, tool, handoff, output_schema))
        spec = _guard(lambda: _checked(store, data, str(path)))
    typer.echo(f"saved {_guard(lambda: store.save(spec))}")


def _edit_in_editor(store: AgentStore, name: str, path: Path) -> AgentSpec:
    """Edit a copy, so an invalid result or a crashed editor leaves the file as it was."""
    fmt = format_of(path)
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, prefix=f"{name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(path.read_text(encoding="utf-8"))
        command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        if subprocess.run([*shlex.split(command), tmp], check=False).returncode != 0:
            _fail(f"The editor ({command}) failed; {path} is unchanged.")
        text = Path(tmp).read_text(encoding="utf-8")
    finally:
        Path(tmp).unlink(missing_ok=True)

    def parse() -> AgentSpec:
        spec = parse_spec(text, fmt, str(path), default_name=name)
        if spec.name != name:
            raise InvalidAgentSpecError(
                f"{path}: name: renaming is not supported by edit; export and import instead."
            )
        store.check(spec, str(path))
        return spec

    result: AgentSpec = _guard(parse)
    return result


@agents_app.command("delete")
def delete(name: str) -> None:
    """Delete a user agent's file (built-in agents cannot be deleted)."""
    store = _store()
    typer.echo(f"deleted {_guard(lambda: store.delete(name))}")


@agents_app.command("export")
def export(
    name: str,
    format: FormatOption = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to FILE.")] = None,
) -> None:
    """Print an agent's spec, or write it to -o FILE (format from --format or its suffix)."""
    store = _store()
    spec = _guard(lambda: store.load(name))
    fmt = _format(format) or (_guard(lambda: format_of(output)) if output else "toml")
    text = _guard(lambda: dump_spec(spec, fmt))
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"exported {name} to {output}")


@agents_app.command("import")
def import_(
    file: Path,
    force: Annotated[bool, typer.Option("--force", help="Replace an agent of that name.")] = False,
) -> None:
    """Add an agent from a TOML or YAML file (its name from the file's `name`, else its
    stem); the file is validated whole before anything is written."""
    store = _store()
    spec = _guard(lambda: read_spec_file(file))
    if spec.name in BUILTIN_AGENTS:
        _fail(f"{file}: name: {spec.name!r} is a built-in agent; give yours another name.")
    existing = _guard(lambda: store.path_of(spec.name))
    if existing is not None and not force:
        _fail(f"Agent {spec.name!r} already exists ({existing}); pass --force to replace it.")
    _guard(lambda: store.check(spec, str(file)))
    typer.echo(f"imported {spec.name} to {_guard(lambda: store.save(spec, format_of(file)))}")
