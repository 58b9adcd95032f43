"""Every command's help lists its flags as flags (issue 12, item 11: `--help <bool>`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from hybridagent.runners.cli import app


def command_paths(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command's path; typer builds on its own copy of click, so duck-typed."""
    yield prefix
    if hasattr(group, "list_commands"):
        ctx = group.context_class(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            yield from command_paths(command, (*prefix, name))


def test_no_help_text_renders_a_flag_as_taking_a_bool() -> None:
    root = typer.main.get_command(app)
    paths = list(command_paths(root))
    assert ("run",) in paths and ("sessions", "show") in paths
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, (path, result.output)
    run_help = runner.invoke(app, ["run", "--help"]).output
    assert "--no-wait  " in run_help and "--explain  " in run_help
