"""The package's import graph: no cycles, the worker apart from the CLI, and no module
that changes the process when it is imported (environment, tracing, LiteLLM)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import hybridagent

PACKAGE = Path(hybridagent.__file__).parent
ROOT = PACKAGE.parent
# What a worker process runs: none of it may import the command line.
WORKER_PACKAGES = ("workers", "activities", "workflows", "providers", "agents", "storage")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """The package's modules `path` imports, at its top or inside a function (a lazy
    import is still an edge: it runs when the function does); TYPE_CHECKING blocks are
    not imports."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found.add(child.module)
                found.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in found if name in MODULES}


GRAPH = {name: imported(path) for name, path in MODULES.items()}


def reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for name in GRAPH[todo.pop()] - seen:
            seen.add(name)
            todo.append(name)
    return seen


def test_no_relative_imports() -> None:
    """The graph below reads absolute imports only."""
    relative = [
        name
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level
    ]
    assert relative == []


def test_no_import_cycles() -> None:
    cycles = sorted(name for name in GRAPH if name in reachable(name))
    assert cycles == [], f"modules that import themselves through others: {cycles}"


def test_the_worker_imports_nothing_from_the_cli() -> None:
    cli = {name for name in MODULES if name == "hybridagent.runners.cli" or name.endswith("_cli")}
    assert "hybridagent.runners.sessions_cli" in cli
    for name in MODULES:
        if name.partition(".")[2].partition(".")[0] in WORKER_PACKAGES:
            assert not reachable(name) & cli, f"{name} imports {sorted(reachable(name) & cli)}"


IMPORT_ALL = """
import importlib, json, os, sys
import agents, agents.tracing

calls = []
agents.set_trace_processors = agents.tracing.set_trace_processors = calls.append
before = dict(os.environ)
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps({
    "environ": sorted(k for k in {*before, *os.environ} if before.get(k) != os.environ.get(k)),
    "trace_processors_set": len(calls),
    "litellm": "litellm" in sys.modules,
}))
"""


def fresh_interpreter(code: str, *args: str) -> str:
    """Run `code` in a new interpreter with only the variables it needs to start: this
    test process's environment may already hold what an import of the package sets."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "PYTHONPATH", "TMPDIR")}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


def test_importing_every_module_changes_nothing_in_the_process() -> None:
    """In a fresh interpreter: every module imports, and none sets environment variables,
    installs trace processors or imports LiteLLM as a side effect; the
    worker sets those up when it is built (workers/plugin.py build_plugin,
    providers/litellm.py _import_litellm)."""
    effects = json.loads(fresh_interpreter(IMPORT_ALL, json.dumps(sorted(MODULES))))
    assert effects == {
        "environ": [],
        "trace_processors_set": 0,
        "litellm": False,
    }


WORKER_ONLY = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print("hybridagent.runners.cli" in sys.modules)
"""


def test_a_worker_process_does_not_load_the_cli() -> None:
    loaded = fresh_interpreter(WORKER_ONLY, "hybridagent.workers.main", "hybridagent.entry")
    assert loaded == "False"


def litellm_imports(path: Path) -> list[str]:
    """Where `path` imports LiteLLM or the Agents SDK's LiteLLM model: the enclosing
    function's name, or "<module>"."""
    places: list[str] = []

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = (
                child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else where
            )
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module:
                names = [child.module]
            if any(
                n == "litellm" or n.startswith(("litellm.", "agents.extensions.models.litellm"))
                for n in names
            ):
                places.append(where)
            visit(child, inner)

    visit(ast.parse(path.read_text()), "<module>")
    return places


def test_litellm_is_imported_only_behind_the_cost_map_guard() -> None:
    """LiteLLM downloads its model-cost map at import unless LITELLM_LOCAL_MODEL_COST_MAP
    is set: the package imports it in one function, which sets it first, and a bench
    script that imports it sets it at its top."""
    found = {name: litellm_imports(path) for name, path in MODULES.items()}
    assert {name: where for name, where in found.items() if where} == {
        "hybridagent.providers.litellm": ["_import_litellm", "_import_litellm_model"]
    }
    guard = ast.unparse(ast.parse('os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")'))
    assert guard in ast.unparse(ast.parse((PACKAGE / "providers/litellm.py").read_text()))
    for script in sorted((ROOT / "bench").glob("*.py")):
        if litellm_imports(script):
            top = [ast.unparse(n) for n in ast.parse(script.read_text()).body]
            assert guard in top, f"{script.name} imports LiteLLM without {guard} at its top"


LITELLM_IMPORT = """
import importlib.abc, os, sys

seen = []

class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "litellm":
            seen.append(os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP"))
        return None

sys.meta_path.insert(0, Watch())
from hybridagent.providers.litellm import LitellmBackend

LitellmBackend(api_key="sk-test").get_model("anthropic/claude-3-5-haiku-20241022")
print(seen)
"""


def test_litellm_is_imported_with_the_local_cost_map() -> None:
    assert fresh_interpreter(LITELLM_IMPORT) == "['True']"


# What workflow code may import of the activities and providers: plain-data modules,
# the tool activities agents are given as tools (activity_as_tool needs the function),
# and the provider modules that hold no client (error types, the cache marker, the
# notes an answer carries, the ModelCall the routed stub forwards).
WORKFLOW_MAY_IMPORT = {
    "hybridagent.activities",
    "hybridagent.activities.storage",
    "hybridagent.activities.weather",
    "hybridagent.providers",
    "hybridagent.providers.errors",
    "hybridagent.providers.notes",
    "hybridagent.providers.response_cache",
    "hybridagent.providers.wrapper",
}


def test_workflows_do_not_import_the_provider_stack() -> None:
    """Types a workflow shares with an activity live in activity_io.py and
    worker_health.py; a workflow calls the activity by its name."""
    workflows = [name for name in MODULES if name.startswith("hybridagent.workflows.")]
    assert "hybridagent.workflows.run_agent" in workflows
    for name in workflows:
        pulled = {
            m
            for m in reachable(name)
            if m.startswith(("hybridagent.activities", "hybridagent.providers"))
        }
        assert pulled <= WORKFLOW_MAY_IMPORT, (
            f"{name} imports {sorted(pulled - WORKFLOW_MAY_IMPORT)}"
        )
