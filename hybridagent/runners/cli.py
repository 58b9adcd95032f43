"""The `hybridagent` command line: run agents, run workers, run a whole dev stack."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from hybridagent.agents.catalog import DEFAULT_AGENT
from hybridagent.config import load_settings
from hybridagent.entry import err_console, exit_now, fail, run_cli_command
from hybridagent.routing.thresholds import ForceProvider, LatencyPreference, PrivacyLevel, spelled
from hybridagent.runners.agents_cli import agents_app
from hybridagent.runners.codec_cli import codec_app
from hybridagent.runners.kb_cli import kb_app
from hybridagent.runners.keys_cli import keys_app
from hybridagent.runners.requests import check_request
from hybridagent.runners.sessions_cli import sessions_app
from hybridagent.runners.usage_cli import usage

# --strict of `run` and `chat`.
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict", help="Fail when the named --model cannot be used, instead of replacing it."
    ),
]

app = typer.Typer(
    rich_markup_mode=None,
    help="Durable OpenAI Agents SDK agents on Temporal, on local and cloud models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def detached(fn: Callable[[], Any], started: list[str]) -> Any:
    """Run a command that waits for a run; Ctrl-C stops the waiting, not the run, and
    says which run goes on and how to get its result (exit code 130)."""
    from hybridagent.runners.run_errors import result_hint

    def guarded() -> Any:
        try:
            return fn()
        except KeyboardInterrupt:
            if started:
                err_console.print(
                    f"Stopped waiting; run {started[-1]} goes on; {result_hint(started[-1])}",
                    highlight=False,
                    soft_wrap=True,
                )
            raise

    return run_cli_command(guarded)


@app.callback()
def main_options(
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Show INFO log lines, the Temporal SDK's own too."),
    ] = False,
) -> None:
    """Durable OpenAI Agents SDK agents on Temporal, on local and cloud models."""
    if verbose:
        os.environ["HYBRIDAGENT_SDK_LOG_LEVEL"] = "INFO"
        os.environ.setdefault("HYBRIDAGENT_LOG_LEVEL", "INFO")
    _configure_logging()


def _configure_logging() -> None:
    """One logging setup for every command (hybridagent/logs.py). A bad setting is left
    to the command, which reports it in its own sentence; the defaults log meanwhile."""
    from hybridagent.config import ConfigError
    from hybridagent.logs import configure_logging

    try:
        settings = load_settings()
    except ConfigError:
        configure_logging()
        return
    configure_logging(settings.log_level, settings.log_format)


@app.command()
def run(
    prompt: Annotated[str, typer.Argument(help="What to ask the agent.")],
    agent: Annotated[
        str | None,
        typer.Option(help="Agent name, built-in or from `agents list` (default: general)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model, e.g. local/smollm2, ollama/llama3.2:3b.")
    ] = None,
    max_turns: Annotated[int, typer.Option(min=1, max=100)] = 10,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Start the run and return.")] = False,
    force_provider: Annotated[str | None, typer.Option(help=f"{spelled(ForceProvider)}.")] = None,
    privacy_level: Annotated[str | None, typer.Option(help=f"{spelled(PrivacyLevel)}.")] = None,
    latency_preference: Annotated[
        str | None, typer.Option(help=f"{spelled(LatencyPreference)}.")
    ] = None,
    token_budget: Annotated[
        int | None, typer.Option(help="Tokens for the run; near the end calls go local.")
    ] = None,
    term: Annotated[list[str] | None, typer.Option(help="An extra sensitive term.")] = None,
    pattern: Annotated[
        list[str] | None, typer.Option(help="An extra sensitive regular expression.")
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print each model call's routing decision.")
    ] = False,
    strict: StrictOption = False,
) -> None:
    """Start an AgentWorkflow and print the answer, the model used and the Web UI link.

    Every model call is routed (privacy, capabilities, complexity); the options below
    are the run's routing preferences."""
    from hybridagent.runners.start import start_run
    from hybridagent.workflows.io import AgentRunInput

    settings = load_settings()
    run_cli_command(lambda: check_request(agent, model))
    routing = _routing_preferences(
        {
            "force_provider": force_provider,
            "privacy_level": privacy_level,
            "latency_preference": latency_preference,
            "token_budget": token_budget,
            "terms": term,
            "patterns": pattern,
        }
    )
    request = run_cli_command(
        lambda: AgentRunInput(
            prompt=prompt,
            agent=agent,
            model=model,
            max_turns=max_turns,
            routing=routing,
            strict=strict,
        )  # fmt: skip
    )
    started: list[str] = []
    outcome = detached(
        lambda: asyncio.run(
            start_run(
                settings,
                "AgentWorkflow",
                request,
                wait=not no_wait,
                explain=explain and not no_wait,
                on_started=lambda run: started.append(run.workflow_id),
            )  # fmt: skip
        ),
        started,
    )
    show_outcome(outcome)


def show_outcome(outcome: Any) -> None:
    from hybridagent.runners.start import explain as explain_trail
    from hybridagent.runners.start import report

    if outcome.error:
        if outcome.trail is not None:
            err_console.print(explain_trail(outcome.trail), highlight=False, soft_wrap=True)
        fail(f"{outcome.error}\nWeb UI: {outcome.url}")
    typer.echo(report(outcome))
    if outcome.trail is not None:
        typer.echo("\n" + explain_trail(outcome.trail))


@app.command()
def result(
    workflow_id: Annotated[str, typer.Argument(help="The run's workflow ID (hybridagent-…).")],
) -> None:
    """Wait for a run started earlier (`run --no-wait`, an interrupted `run`, the Temporal
    CLI) and print its answer, as `run` does."""
    from hybridagent.runners.result import run_result

    text, ok = detached(
        lambda: asyncio.run(run_result(load_settings(), workflow_id)),
        [workflow_id],
    )
    if not ok:
        fail(text)
    typer.echo(text)


def _routing_preferences(options: dict[str, Any]) -> Any:
    """RoutingPreferences from the options given; a bad value is one sentence."""
    from pydantic import ValidationError

    from hybridagent.routing.preferences import RoutingPreferences

    values = {name: value for name, value in options.items() if value}
    if not values:
        return None
    try:
        return RoutingPreferences(**values)
    except ValidationError as err:
        first = err.errors()[0]
        option = {"terms": "term", "patterns": "pattern"}.get(str(first["loc"][0]), first["loc"][0])
        fail(f"--{str(option).replace('_', '-')}: {first['msg']}.")


@app.command()
def coordinate(
    prompt: Annotated[str, typer.Argument(help="The request for the specialists.")],
    specialist: Annotated[
        list[str] | None,
        typer.Option(help="A specialist agent (repeat for several); none: the coordinator picks."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model preference for every agent.")] = None,
    user: Annotated[str, typer.Option(help="Whose tasks and memories the tools use.")] = "default",
) -> None:
    """Start a CoordinatorWorkflow: specialists in parallel (child workflows), one answer."""
    from hybridagent.runners.coordinate import coordinate as run_coordinator
    from hybridagent.workflows.coordinator import CoordinatorInput

    settings = load_settings()

    def check() -> None:
        for name in specialist or []:
            check_request(name, model)

    run_cli_command(check)
    request = CoordinatorInput(prompt=prompt, specialists=specialist or [], model=model, user=user)
    text, ok = run_cli_command(lambda: asyncio.run(run_coordinator(settings, request)))
    if not ok:
        fail(text)
    typer.echo(text)


@app.command()
def chat(
    agent: Annotated[
        str | None, typer.Option(help="Agent to start with (default: general); /agent switches.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model preference; /model switches.")] = None,
    user: Annotated[str, typer.Option(help="Whose tasks and memories the tools use.")] = "default",
    session: Annotated[
        str | None, typer.Option(help="Resume this session (chat-…) instead of a new one.")
    ] = None,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Print replies whole.")] = False,
    force_provider: Annotated[str | None, typer.Option(help=f"{spelled(ForceProvider)}.")] = None,
    privacy_level: Annotated[str | None, typer.Option(help=f"{spelled(PrivacyLevel)}.")] = None,
    latency_preference: Annotated[
        str | None, typer.Option(help=f"{spelled(LatencyPreference)}.")
    ] = None,
    strict: StrictOption = False,
) -> None:
    """Talk to agents in a durable chat session (a ChatSessionWorkflow): each message is a
    Workflow Update, replies stream where the model streams; /help lists the commands."""
    from hybridagent.runners.chat_repl import chat as run_chat
    from hybridagent.workflows.chat_session import ChatSessionInput

    settings = load_settings()
    run_cli_command(lambda: check_request(agent, model))
    routing = _routing_preferences(
        {
            "force_provider": force_provider,
            "privacy_level": privacy_level,
            "latency_preference": latency_preference,
        }
    )
    request = ChatSessionInput(
        agent=agent or DEFAULT_AGENT, model=model, user=user, routing=routing,
        stream=not no_stream, strict=strict,
    )  # fmt: skip
    run_cli_command(
        lambda: asyncio.run(
            run_chat(settings, Console(), request=request, session_id=session, stream=not no_stream)
        )
    )


@app.command()
def worker() -> None:
    """Run a worker: model calls, tools and workflows on TEMPORAL_ADDRESS, until Ctrl-C."""
    from hybridagent.workers.main import main as worker_main

    worker_main()


@app.command()
def serve() -> None:
    """Run the HTTP API (OpenAI-compatible and runs API) on HYBRIDAGENT_API_HOST:_PORT."""
    from hybridagent.logs import announce
    from hybridagent.runners.serve import serve_api

    def ready(url: str) -> None:
        announce(f"HTTP API at {url} (docs: {url}/docs, web UI: {url}/ui/); Ctrl-C to stop.")

    run_cli_command(lambda: asyncio.run(serve_api(load_settings(), on_ready=ready)))


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="Temporal frontend port.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
) -> None:
    """Start the Temporal dev server, the embedded model (when Ollama is absent), a worker
    and the HTTP API."""
    from hybridagent.runners.stack import run_dev_stack

    run_cli_command(lambda: asyncio.run(run_dev_stack(load_settings(), port=port, ui_port=ui_port)))


@app.command()
def demo(
    prompt: Annotated[str, typer.Argument()] = "What's the weather in Tokyo?",
    port: Annotated[int, typer.Option(help="Temporal frontend port.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
) -> None:
    """Run the haiku weather sample on a local model end to end, then stop."""
    from hybridagent.runners.stack import run_demo

    run_cli_command(
        lambda: asyncio.run(run_demo(load_settings(), prompt, port=port, ui_port=ui_port))
    )


models_app = typer.Typer(
    rich_markup_mode=None,
    help="Models: what each provider offers, and pulling Ollama models.",
    invoke_without_command=True,
)
app.add_typer(models_app, name="models")
app.add_typer(kb_app, name="kb")
app.add_typer(keys_app, name="keys")
app.add_typer(codec_app, name="codec")
app.command("usage")(usage)


@models_app.callback()
def models(ctx: typer.Context) -> None:
    """List the models each provider offers, whether it answers, and the circuit state
    and loaded Ollama models a worker reports."""
    if ctx.invoked_subcommand is not None:
        return
    from hybridagent.runners.health import ask_workers, circuit_cell, models_footer
    from hybridagent.runners.stack import list_models

    settings = load_settings()

    async def both() -> tuple[Any, Any]:
        view = await ask_workers(settings)  # its report of the embedded server is the local row
        return await list_models(settings, view.health), view

    listings, view = run_cli_command(lambda: asyncio.run(both()))
    health = view.health
    table = Table("provider", "endpoint", "reachable", "circuit (worker)", "models / detail")
    for listing in listings:
        shown = ", ".join(listing.models) or listing.detail
        if listing.models and listing.detail:
            shown += f" ({listing.detail})"
        circuit = circuit_cell(health.provider_circuit(listing.provider)) if health else "-"
        table.add_row(
            listing.provider,
            listing.endpoint,
            "yes" if listing.reachable else "no",
            circuit,
            shown,
        )
    console = Console(width=200)
    console.print(table)
    console.print(models_footer(view), highlight=False, soft_wrap=True)


@models_app.command("pull")
def models_pull(
    name: Annotated[str, typer.Argument(help="An Ollama model, e.g. llama3.2:3b.")],
) -> None:
    """Pull an Ollama model on a worker, durably, with a progress bar; a second pull of
    the same model joins the running one."""
    from hybridagent.runners.pull import ollama_model_name, pull_model, report_pull, show_progress

    settings = load_settings()
    model = run_cli_command(lambda: ollama_model_name(name))
    with show_progress(Console()) as on_progress:
        outcome = run_cli_command(lambda: asyncio.run(pull_model(settings, model, on_progress)))
    if outcome.error:
        fail(f"{outcome.error}\nWeb UI: {outcome.url}")
    typer.echo(report_pull(outcome))


@app.command()
def health() -> None:
    """Temporal, the workers polling the task queue, and one worker's own report:
    Ollama, the embedded model server, loaded models and circuit states. Exit code 1 if
    nothing answers, or if the embedded model is the worker's only local model and it is
    down or restarting."""
    from hybridagent.runners.health import ask_workers, health_report, workers_summary

    view = run_cli_command(lambda: asyncio.run(ask_workers(load_settings())))
    console = Console(width=200)
    for line in workers_summary(view):
        console.print(line, highlight=False, soft_wrap=True)
    if view.health is None:
        fail(view.problem or "No worker answered.")
    console.print(health_report(view.health), highlight=False)
    if problem := view.health.local_model_problem():
        fail(problem)


app.add_typer(agents_app, name="agents")
app.add_typer(sessions_app, name="sessions")

privacy_app = typer.Typer(
    rich_markup_mode=None, help="Audit the privacy detector the router uses.", no_args_is_help=True
)
app.add_typer(privacy_app, name="privacy")


def _detector() -> Any:
    from hybridagent.runners.privacy_scan import Detector

    settings = run_cli_command(load_settings)
    config = settings.routing.privacy.detector_config()
    return run_cli_command(lambda: Detector.configured(config, settings.privacy_model))


@privacy_app.command("scan")
def privacy_scan(
    text: Annotated[
        str | None, typer.Argument(help="A text to explain; without it, JSON Lines on stdin.")
    ] = None,
    role: Annotated[
        str,
        typer.Option(help="Who wrote TEXT: user (both stages read it) or tool, assistant, system."),
    ] = "user",
) -> None:
    """Explain the router's verdict on TEXT, or read JSON Lines {"text": ..., "terms": [...],
    "role": ...} on stdin and write one verdict per line.

    A malformed line gets {"error": ...} in its place, so output lines match input lines,
    and the exit code is 1. The [routing.privacy] configuration applies.
    """
    from hybridagent.runners.privacy_scan import ROLES, explain, scan_lines

    detector = _detector()
    if text is not None:
        if role not in ROLES:
            fail(f"--role must be one of {', '.join(ROLES)}.")
        typer.echo(explain(detector, text, role))
        return
    if not scan_lines(detector, sys.stdin, sys.stdout):
        raise typer.Exit(1)


@privacy_app.command("eval")
def privacy_eval(
    file: Annotated[
        Path, typer.Argument(help="Labelled JSON Lines: text, sensitive, category, kind.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    slowest: Annotated[int, typer.Option(help="How many of the slowest inputs to list.")] = 5,
) -> None:
    """Score the router's detector on a labelled set: recall and false-positive rate per
    kind and category, the confusion table, latency and the slowest inputs."""
    import json

    from hybridagent.runners.privacy_eval import EvalFileError, evaluate, read_rows, render

    if not file.is_file():
        fail(f"{file} is not a file.")
    try:
        rows = read_rows(file)
    except EvalFileError as err:
        fail(str(err))
    report = evaluate(_detector(), rows)
    typer.echo(
        json.dumps(report.as_dict(slowest), indent=2) if as_json else render(report, slowest)
    )


def main() -> NoReturn:
    exit_now(app)


if __name__ == "__main__":
    main()
