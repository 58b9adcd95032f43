"""Our errors as Temporal failures: every ApplicationError type name hybridagent gives,
in one table, and the walk down a failure's causes to the sentence a user needs.

Plain code on temporalio.exceptions alone (no I/O, deterministic), so workflow code
imports it without bringing the provider stack into the sandbox's import graph. The
type is what tests, retry policies (non_retryable_error_types) and fallback match on,
so a name here never changes: histories recorded with it must replay.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from temporalio.exceptions import ApplicationError, TimeoutError

# Types raised by name, by workflow code or activities.
INVALID_WORKFLOW_INPUT: Final = "InvalidWorkflowInput"  # an input that does not validate
LOCAL_MODEL_REQUIRED: Final = "LocalModelRequired"  # a cloud model for a local-only run
NO_MODEL_FOR_CALL: Final = "NoModelForCall"  # routing found no model the call may use
REQUESTED_MODEL_UNAVAILABLE: Final = "RequestedModelUnavailable"  # strict run, model passed over
ACTIVITY_TIMEOUT: Final = "ActivityTimeout"  # a call timed out on every attempt
INVALID_TOOL_INPUT: Final = "InvalidToolInput"  # the model's arguments a tool cannot take
NOT_FOUND: Final = "NotFound"  # the model's made-up document or task id
SESSION_ENDED: Final = "SessionEnded"  # a message or change for an ended chat session
BAD_MESSAGE: Final = "BadMessage"  # a chat message that is not non-empty text
UNKNOWN_MODEL: Final = "UnknownModelError"  # a model name that cannot be routed
NO_OLLAMA_BACKEND: Final = "NoOllamaBackendError"  # a pull on a worker without Ollama
PULL_INCOMPLETE: Final = "PullIncompleteError"  # Ollama's pull stopped short (retried)
PULL_TIMEOUT: Final = "PullTimeout"  # a pull timed out on every attempt

NAMED_TYPES: Final = frozenset(
    {
        INVALID_WORKFLOW_INPUT,
        LOCAL_MODEL_REQUIRED,
        NO_MODEL_FOR_CALL,
        REQUESTED_MODEL_UNAVAILABLE,
        ACTIVITY_TIMEOUT,
        INVALID_TOOL_INPUT,
        NOT_FOUND,
        SESSION_ENDED,
        BAD_MESSAGE,
        UNKNOWN_MODEL,
        NO_OLLAMA_BACKEND,
        PULL_INCOMPLETE,
        PULL_TIMEOUT,
    }
)

# Types that are the class name of one of our errors (hybridagent/errors.py), which an
# activity raises as is or workflow code turns into an ApplicationError (as_failure).
# Names only: importing the classes would bring the provider stack in.
ERROR_CLASS_TYPES: Final = frozenset(
    {
        # user mistakes
        "UnknownModelError",
        "UnknownAgentError",
        "UnknownToolError",
        "InvalidAgentSpecError",
        # provider failures (providers/errors.py, providers/ollama_admin.py)
        "ProviderError",
        "MissingApiKeyError",
        "InvalidApiKeyError",
        "ProviderUnreachableError",
        "NoLocalModelError",
        "EmbeddedModelUnavailableError",
        "ProviderTimeoutError",
        "ProviderServerError",
        "RateLimitedError",
        "MalformedResponseError",
        "ModelNotFoundError",
        "ModelNotInRegistryError",
        "ContextTooLongError",
        "BadRequestError",
        "InvalidToolCallError",
        "MalformedToolStepError",
        "CircuitOpenError",
    }
)

# The one table. Beyond it, a run passes on the type of what it did not expect: the
# class name of an Agents SDK exception (MaxTurnsExceeded, …) or of a Temporal failure.
FAILURE_TYPES: Final = NAMED_TYPES | ERROR_CLASS_TYPES


def as_failure(err: BaseException) -> ApplicationError:
    """`err` as a final failure: its sentence, typed with its class name."""
    return ApplicationError(str(err), type=type(err).__name__, non_retryable=True)


def causes(err: BaseException | None) -> Iterator[BaseException]:
    """`err`, then its cause, and so on: Temporal's wrappers (ActivityError,
    ChildWorkflowError, a workflow or update failure) each carry what failed as cause."""
    while err is not None:
        yield err
        err = err.__cause__


def failure_cause(err: BaseException | None) -> ApplicationError | TimeoutError | None:
    """The first ApplicationError or TimeoutError under the wrappers: what failed, as the
    user should hear it. Deeper causes are transport details (httpx's ConnectError under
    a ProviderUnreachableError), kept in the history but not shown."""
    for cause in causes(err):
        if isinstance(cause, ApplicationError | TimeoutError):
            return cause
    return None


def application_error(err: BaseException | None) -> ApplicationError | None:
    """The first ApplicationError under the wrappers, looking past timeouts too: the
    sentence a client shows for a failed run or Update."""
    for cause in causes(err):
        if isinstance(cause, ApplicationError):
            return cause
    return None
