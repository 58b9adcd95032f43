"""A command started with `python -m` (the worker, the sample scripts) says a user
mistake in one sentence, as the `hybridagent` command does: no typer app wraps it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "module", ["hybridagent.workers.main", "hybridagent.runners.run_haiku_local_workflow"]
)
def test_a_mistake_is_one_sentence_and_exit_code_1(module: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    done = subprocess.run(
        [sys.executable, "-m", module],
        env={**os.environ, "HYBRIDAGENT_CONFIG": str(missing)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr == f"error: HYBRIDAGENT_CONFIG names {missing}, which is not a file.\n"
