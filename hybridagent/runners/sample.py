"""Shared body of the run-a-sample scripts: start, wait, print answer and Web UI link."""

from __future__ import annotations

import asyncio

from hybridagent.config import load_settings
from hybridagent.entry import exit_now, fail, run_cli_command
from hybridagent.logs import configure_logging
from hybridagent.runners.start import report, start_run
from hybridagent.workflows.io import HaikuInput


async def _run(workflow: str, argv: list[str]) -> None:
    request = HaikuInput(**dict(zip(("prompt", "model"), argv, strict=False)))
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    outcome = await start_run(settings, workflow, request)
    if outcome.error:
        fail(f"{outcome.error}\nWeb UI: {outcome.url}")
    print(report(outcome))


def run_sample(workflow: str, argv: list[str]) -> None:
    exit_now(lambda: run_cli_command(lambda: asyncio.run(_run(workflow, argv))))
