"""The HTTP API's one error schema: OpenAI's envelope with our stable codes.

Every error body is `{"error": {"message", "type", "code", "param", "request_id"}}`, one
sentence, never a traceback, a key, a prompt or an internal URL. A failed workflow is
turned into one by the ApplicationError type it failed with (hybridagent/failures.py).
"""

from __future__ import annotations

import logging
from typing import Final

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.exceptions import ApplicationError, TimeoutError

from hybridagent import failures
from hybridagent.failures import failure_cause
from hybridagent.metrics import Metrics

log = logging.getLogger(__name__)

# code -> (HTTP status, OpenAI's error type)
CODES: Final[dict[str, tuple[int, str]]] = {
    "invalid_api_key": (401, "authentication_error"),
    "permission_denied": (403, "permission_error"),
    "rate_limit_exceeded": (429, "rate_limit_error"),
    "budget_exceeded": (429, "insufficient_quota"),
    "privacy_blocked": (422, "invalid_request_error"),
    "model_not_found": (404, "invalid_request_error"),
    "agent_not_found": (404, "invalid_request_error"),
    "not_found": (404, "invalid_request_error"),
    "invalid_request": (400, "invalid_request_error"),
    "request_too_large": (413, "invalid_request_error"),
    "upstream_unavailable": (502, "api_error"),
    "timeout": (504, "api_error"),
    "no_worker": (503, "api_error"),
    "ollama_unavailable": (503, "api_error"),
    "internal_error": (500, "api_error"),
}

# What a failed run's ApplicationError type means for the client.
_FAILURE_CODES: Final[dict[str, str]] = {
    failures.INVALID_WORKFLOW_INPUT: "invalid_request",
    failures.UNKNOWN_MODEL: "model_not_found",
    "ModelNotFoundError": "model_not_found",
    "UnknownAgentError": "agent_not_found",
    "InvalidAgentSpecError": "invalid_request",
    "UnknownToolError": "invalid_request",
    failures.LOCAL_MODEL_REQUIRED: "privacy_blocked",
    failures.ACTIVITY_TIMEOUT: "timeout",
    "ProviderTimeoutError": "timeout",
    "ContextTooLongError": "invalid_request",
    "BadRequestError": "invalid_request",
    failures.BAD_MESSAGE: "invalid_request",
    failures.SESSION_ENDED: "invalid_request",
}


class ApiError(Exception):
    """An error the API answers with: a code of CODES and one sentence."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return CODES[self.code][0]


def failed_run(err: BaseException, *, privacy_pinned: bool = False) -> ApiError:
    """The ApiError for a run that failed with `err` (a WorkflowFailureError or an
    Update's failure). `privacy_pinned`: the failed call had to stay local, so a
    missing model means the request was blocked for privacy."""
    cause = failure_cause(err)
    if isinstance(cause, TimeoutError):
        return ApiError("timeout", "The run timed out.")
    if not isinstance(cause, ApplicationError):
        return ApiError("upstream_unavailable", "The run failed.")
    message = _first_sentence(cause.message)
    if cause.type == failures.NO_MODEL_FOR_CALL or (
        cause.type == failures.REQUESTED_MODEL_UNAVAILABLE and privacy_pinned
    ):
        code = "privacy_blocked" if privacy_pinned else "upstream_unavailable"
        return ApiError(code, message)
    return ApiError(_FAILURE_CODES.get(cause.type or "", "upstream_unavailable"), message)


def _first_sentence(message: str) -> str:
    """Our failure messages are sentences already; a long one is cut at its first."""
    text = message.strip().splitlines()[0] if message.strip() else "The run failed."
    return text if len(text) <= 400 else text[:397] + "..."


def body(code: str, message: str, param: str | None, request_id: str) -> dict[str, object]:
    return {
        "error": {
            "message": message,
            "type": CODES[code][1],
            "code": code,
            "param": param,
            "request_id": request_id,
        }
    }


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


def response(request: Request, err: ApiError) -> JSONResponse:
    metrics = getattr(request.app.state, "metrics", None)
    if isinstance(metrics, Metrics):  # refusals by code: rate limit, budget, ...
        metrics.api_errors.labels(err.code).inc()
    request_id = request_id_of(request)
    return JSONResponse(
        body(err.code, err.message, err.param, request_id),
        status_code=err.status,
        headers={**err.headers, "x-request-id": request_id},
    )


async def on_api_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, ApiError)
    return response(request, err)


async def on_validation_error(request: Request, err: Exception) -> JSONResponse:
    """A body or parameter that does not validate: the first problem, naming the field
    (never echoing its value: it may be a prompt)."""
    assert isinstance(err, RequestValidationError)
    first = err.errors()[0] if err.errors() else {}
    if tuple(first.get("loc", ())) == ("body",):
        message = "The request body must be a JSON object (Content-Type: application/json)."
        return response(request, ApiError("invalid_request", message))
    where = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(where) or None
    what = str(first.get("msg", "is not valid")).rstrip(".")
    message = f"{param}: {what}." if param else f"The request body is not valid: {what}."
    return response(request, ApiError("invalid_request", message, param=param))


async def on_http_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, StarletteHTTPException)
    if err.status_code == 404:
        return response(request, ApiError("not_found", "There is no such route."))
    if err.status_code == 405:
        return response(request, ApiError("invalid_request", "This method is not allowed here."))
    return response(request, ApiError("invalid_request", "The request is not valid."))


async def on_unexpected(request: Request, err: Exception) -> JSONResponse:
    """A bug of ours: the client hears one sentence; the log gets the type, not the
    traceback's locals (which may hold a prompt or a key)."""
    log.error(
        "unexpected %s answering %s %s (request %s)",
        type(err).__name__, request.method, request.url.path, request_id_of(request),
        # This handler runs outside the request-ID middleware, after it let go.
        extra={"request_id": request_id_of(request)},
    )  # fmt: skip
    return response(request, ApiError("internal_error", "The server failed to answer."))
