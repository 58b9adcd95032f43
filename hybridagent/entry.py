"""How a command of the package starts and ends: a user mistake is one sentence on
stderr and exit code 1, and the process leaves without interpreter finalisation.

Its own module so the worker (`hybridagent worker`, `python -m hybridagent.workers.main`)
and the run-a-sample scripts share it without importing the CLI, which imports them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import typer
from rich.console import Console

from hybridagent.errors import UserError

err_console = Console(stderr=True)


def table_console() -> Console:
    """Standard output for a table: the terminal's width, or 200 columns when piped, so
    `hybridagent usage | grep …` gets whole rows instead of Rich's 80-column default."""
    console = Console()
    if console.is_terminal or "COLUMNS" in os.environ:
        return console
    return Console(width=200)


def fail(message: str) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def run_cli_command(fn: Callable[[], Any]) -> Any:
    """Run `fn`; a user mistake becomes one sentence on stderr and exit code 1."""
    from pydantic import ValidationError

    try:
        return fn()
    except UserError as err:
        fail(str(err))
    except ValidationError as err:
        fail(invalid_input_sentence(err))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def invalid_input_sentence(err: Any) -> str:
    """A pydantic ValidationError as one sentence naming the first bad field."""
    first = err.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "input"
    return f"{field}: {first['msg']}."


def exit_now(run: Callable[[], Any]) -> NoReturn:
    """Run `run`, then leave without interpreter finalisation.

    About one exit in ten aborts with "PyGILState_Release ... finalizing" when the
    Temporal client's Rust threads outlive the interpreter; everything we own (servers,
    model processes, clients) is closed before this point, so skipping finalisers is safe.
    """
    code = 0
    try:
        run()
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    except typer.Exit as exit:
        # `fail` outside a typer app (python -m ...): no app turns it into SystemExit.
        code = exit.exit_code
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
