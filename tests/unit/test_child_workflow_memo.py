"""Every child workflow a workflow starts passes a memo (workflows/run_agent.py's
api_key_memo): a child started without one would lose the parent's API key, and its
calls would drop out of the key's usage and budget."""

from __future__ import annotations

import ast
from pathlib import Path

import hybridagent

WORKFLOWS = Path(hybridagent.__file__).parent / "workflows"
STARTS = {"execute_child_workflow", "start_child_workflow"}


def test_every_child_workflow_start_passes_a_memo() -> None:
    starts: list[str] = []
    bare: list[str] = []
    for path in sorted(WORKFLOWS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr in STARTS:
                where = f"{path.relative_to(WORKFLOWS)}:{node.lineno}"
                starts.append(where)
                if not any(k.arg == "memo" for k in node.keywords):
                    bare.append(where)
    assert starts, "the coordinator starts children"
    assert bare == []
