"""One error family: every ApplicationError type in one table, one walk to the sentence.

Type names are matched by retry policies, fallback and tests, and recorded in
histories; a type raised from a literal outside the table, or an error class the table
misses, would drift unnoticed. The walk must find the sentence under every wrapper a
failure arrives in, after the failure converter's round trip like a real one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from temporalio.api.failure.v1 import Failure
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.converter import DataConverter
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    RetryState,
    TimeoutError,
    TimeoutType,
)

import hybridagent
from hybridagent import failures
from hybridagent.agents.spec import InvalidAgentSpecError, UnknownAgentError, UnknownToolError
from hybridagent.agents.storage_tools import MODEL_MISTAKES, TOOL_RETRY
from hybridagent.config import ConfigError
from hybridagent.errors import ProviderError, UserError, UserMistake
from hybridagent.failures import FAILURE_TYPES, NOT_FOUND, application_error, failure_cause
from hybridagent.providers.errors import (
    FALLBACK_ACTION,
    NON_RETRYABLE_ERROR_TYPES,
    ProviderUnreachableError,
)
from hybridagent.routing.names import UnknownModelError
from hybridagent.runners.chat_client import SessionBusyError, update_failure
from hybridagent.runners.cli import run_cli_command
from hybridagent.runners.devserver import DevServerError
from hybridagent.runners.run_errors import NoWorkerError, TemporalLostError, UnknownRunError
from hybridagent.runners.session_errors import SessionError
from hybridagent.runners.start import failure_sentence
from hybridagent.workers.temporal_client import TemporalUnreachableError
from hybridagent.workflows.routed_stub import classify, failure_detail
from hybridagent.workflows.run_agent import user_facing

PACKAGE = Path(hybridagent.__file__).parent


def _error_classes() -> dict[str, str]:
    """Every error class of the package under ProviderError or UserMistake (by base
    names, which are unique in the package), with the file that defines it."""
    bases: dict[str, tuple[str, list[str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                names = [b.id if isinstance(b, ast.Name) else ast.unparse(b) for b in node.bases]
                bases[node.name] = (str(path.relative_to(PACKAGE)), names)
    found = {"ProviderError", "UserMistake"}
    while grown := {n for n, (_, b) in bases.items() if n not in found and set(b) & found}:
        found |= grown
    return {name: bases[name][0] for name in found - {"UserMistake"}}


def _application_error_types() -> list[tuple[str, ast.expr]]:
    """(where, expression) of the `type=` of every ApplicationError(...) in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "ApplicationError"
            ):
                for keyword in node.keywords:
                    if keyword.arg == "type":
                        where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
                        found.append((where, keyword.value))
    return found


def test_every_raised_type_comes_from_the_table() -> None:
    sites = _application_error_types()
    assert len(sites) > 20  # the scan sees the raise sites
    for where, value in sites:
        if isinstance(value, ast.Name):  # a constant of hybridagent/failures.py
            assert getattr(failures, value.id, None) in FAILURE_TYPES, where
        elif isinstance(value, ast.Attribute) and value.attr == "__name__":
            # Cls.__name__ names a class of ours; type(err).__name__ is as_failure's
            # (its classes: test_every_error_class_that_reaches_temporal_is_in_the_table)
            owner = value.value
            if isinstance(owner, ast.Name):
                assert owner.id in FAILURE_TYPES, where
            else:
                assert where.startswith("failures.py"), where
        else:  # a failure's own type, passed on
            assert isinstance(value, ast.Attribute) and value.attr == "type", where


def test_every_error_class_that_reaches_temporal_is_in_the_table() -> None:
    """Provider failures are raised as they are in activities, mistakes as_failure'd;
    the runners' and the HTTP API's errors stay in the client and need no type."""
    classes = _error_classes()
    client_side = ("runners/", "api/")
    ours = {name for name, where in classes.items() if not where.startswith(client_side)}
    assert {"UnknownToolError", "ModelNotInRegistryError", "SessionError"} <= set(classes)
    assert ours == failures.ERROR_CLASS_TYPES


def test_retry_and_fallback_tables_use_the_table() -> None:
    assert set(NON_RETRYABLE_ERROR_TYPES) <= FAILURE_TYPES
    assert set(FALLBACK_ACTION) <= FAILURE_TYPES
    assert set(MODEL_MISTAKES) <= FAILURE_TYPES
    assert set(TOOL_RETRY.non_retryable_error_types or []) <= FAILURE_TYPES


def _round_trip(err: BaseException) -> BaseException:
    """`err` as a worker or client receives it: encoded to a Failure and back."""
    converter = DataConverter.default
    failure = Failure()
    converter.failure_converter.to_failure(err, converter.payload_converter, failure)
    return converter.failure_converter.from_failure(failure, converter.payload_converter)


def _raised_under(cause: BaseException, wrapper: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise wrapper from inner
    except BaseException as outer:
        return outer


def _activity_error() -> ActivityError:
    return ActivityError(
        "Activity task failed", scheduled_event_id=5, started_event_id=6, identity="w",
        activity_type="create_task", activity_id="1", retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )  # fmt: skip


def _child_error() -> ChildWorkflowError:
    return ChildWorkflowError(
        "Child Workflow execution failed", namespace="default", workflow_id="child",
        run_id="r", workflow_type="AgentWorkflow", initiated_event_id=7, started_event_id=8,
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )  # fmt: skip


SENTENCE = "There is no task 'x' for user 'default'."


def _wrapped(cause: BaseException) -> BaseException:
    """`cause` under an ActivityError under a ChildWorkflowError, as a parent sees it."""
    under_activity = _raised_under(cause, _activity_error())
    return _round_trip(_raised_under(under_activity, _child_error()))


def test_the_walk_finds_the_sentence_under_the_wrappers() -> None:
    err = _wrapped(ApplicationError(SENTENCE, type=NOT_FOUND, non_retryable=True))
    assert isinstance(err, ChildWorkflowError) and isinstance(err.cause, ActivityError)
    found = failure_cause(err)
    assert isinstance(found, ApplicationError) and found.message == SENTENCE
    assert application_error(err) is found
    final = user_facing(err)
    assert (final.message, final.type, final.non_retryable) == (SENTENCE, NOT_FOUND, True)
    assert classify(err) == (NOT_FOUND, "fail")
    assert failure_detail(err) == SENTENCE
    run_failed = WorkflowFailureError(cause=err)
    assert failure_sentence(run_failed) == f"{SENTENCE} [{NOT_FOUND}]"
    update_failed = WorkflowUpdateFailedError(err)
    assert update_failure(update_failed) == SENTENCE


def test_a_timeout_stops_the_workflow_walk_and_not_the_clients() -> None:
    """A timeout's cause is the last attempt's failure: workflow code reports the
    timeout (and falls back), a client's message names what failed last."""
    last = ApplicationError("Ollama is not reachable.", type="ProviderUnreachableError")
    cut_off = TimeoutError("timeout", type=TimeoutType.START_TO_CLOSE, last_heartbeat_details=[])
    timeout = _raised_under(last, cut_off)
    err = _round_trip(_raised_under(timeout, _activity_error()))
    assert isinstance(err, ActivityError) and isinstance(failure_cause(err), TimeoutError)
    final = user_facing(err)
    assert final.type == "ActivityTimeout" and "(START_TO_CLOSE)" in final.message
    assert classify(err) == ("ActivityTimeout", "next")
    assert failure_detail(err) == "no answer within the call's timeout"
    found = application_error(err)
    assert found is not None and found.message == "Ollama is not reachable."


def test_without_an_application_error_the_wrapper_speaks() -> None:
    err = _round_trip(_activity_error())
    assert isinstance(err, ActivityError)
    assert failure_cause(err) is None and application_error(err) is None
    final = user_facing(err)
    assert (final.message, final.type, final.non_retryable) == (str(err), "ActivityError", True)
    assert failure_sentence(WorkflowFailureError(cause=err)) == "Workflow execution failed"


# Every error the CLI said in one sentence before the family existed.
CLI_ERRORS: list[type[UserError]] = [
    ConfigError, TemporalUnreachableError, ProviderError, ProviderUnreachableError,
    UnknownModelError, UnknownAgentError, UnknownToolError, InvalidAgentSpecError,
    DevServerError, SessionError, SessionBusyError, NoWorkerError, TemporalLostError,
    UnknownRunError,
]  # fmt: skip


@pytest.mark.parametrize("cls", CLI_ERRORS)
def test_the_cli_says_a_user_error_in_one_sentence(
    cls: type[UserError], capsys: pytest.CaptureFixture[str]
) -> None:
    def fails() -> None:
        raise cls("Nothing answered at localhost:7233.")

    with pytest.raises(typer.Exit) as exited:
        run_cli_command(fails)
    assert exited.value.exit_code == 1
    assert " ".join(capsys.readouterr().err.split()) == (
        "error: Nothing answered at localhost:7233."
    )


def test_anything_else_keeps_its_traceback() -> None:
    def fails() -> None:
        raise KeyError("surprise")

    with pytest.raises(KeyError):
        run_cli_command(fails)


def test_the_repl_goes_on_after_mistakes_only() -> None:
    """The REPL says a mistake and reads the next line; anything else ends it."""
    mistakes = [SessionError, SessionBusyError, UnknownAgentError, UnknownToolError]
    mistakes += [InvalidAgentSpecError, UnknownModelError]
    assert all(issubclass(cls, UserMistake) for cls in mistakes)
    others = [ConfigError, TemporalUnreachableError, NoWorkerError, TemporalLostError]
    others += [DevServerError, ProviderUnreachableError]
    assert not any(issubclass(cls, UserMistake) for cls in others)


def test_errors_and_failures_stay_light() -> None:
    """The CLI imports the family before any SDK; workflows import the walk without the
    provider stack."""
    code = (
        "import sys, hybridagent.errors; "
        "assert not [m for m in sys.modules if m.split('.')[0] in "
        "('temporalio', 'agents', 'openai', 'pydantic')], 'errors'; "
        "import hybridagent.failures; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('agents', 'openai', "
        "'litellm', 'httpx', 'ollama') or m.startswith('hybridagent.providers')], 'failures'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
