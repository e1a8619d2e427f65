"""Domain errors -> Kuscia's in-band status codes, in one table per concern.

An error answer is what Kuscia's own server sends: `code`, `message` and an empty
`details` (pkg/web/utils/response_status.go BuildErrorResponseStatus sets nothing else).
A client built from Kuscia's protos cannot resolve any type packed there, so dagwire's
machine-readable reason (a google.rpc.ErrorInfo) is added only for a caller that asks
for it with the `dagwire-error-info` metadata, as dagwire's own SDK does.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import structlog
from google.rpc.error_details_pb2 import ErrorInfo

from dagwire.kuscia.v1alpha1 import common_pb2
from dagwire.server.api.answer_size import AnswerTooLarge
from dagwire.server.auth.errors import AuthError, PermissionDenied, Unauthenticated
from dagwire.server.engine.errors import (
    EngineError,
    IllegalTransition,
    InvalidApproval,
    InvalidRequest,
    JobAlreadyExists,
    JobNotFound,
)

log = structlog.get_logger(__name__)

ERROR_DOMAIN = "dagwire.io"
# Metadata key (any value) by which a caller asks for ErrorInfo in status.details.
ERROR_INFO_KEY = "dagwire-error-info"
SUCCESS = 0
REQUEST_INVALID = 11100
UNEXPECTED = 11101
AUTH_FAILED = 11102

# The code of a failed operation, by RPC.
OPERATION_CODES: Mapping[str, int] = {
    "CreateJob": 11201,
    "QueryJob": 11202,
    "BatchQueryJobStatus": 11203,
    "DeleteJob": 11204,
    "StopJob": 11205,
    "ApproveJob": 11206,
    "SuspendJob": 11207,
    "RestartJob": 11208,
    "CancelJob": 11209,
    # dagwire's listing reads statuses, as BatchQueryJobStatus does.
    "ListJobs": 11203,
}

# Kuscia gives two operations their own code for "not allowed from this state".
ILLEGAL_STATE_CODES: Mapping[str, int] = {"SuspendJob": 11210, "RestartJob": 11211}

# Machine-readable reason attached as google.rpc.ErrorInfo, by error type.
REASONS: Mapping[type[EngineError], str] = {
    InvalidRequest: "INVALID_REQUEST",
    InvalidApproval: "INVALID_REQUEST",
    JobAlreadyExists: "JOB_ALREADY_EXISTS",
    JobNotFound: "JOB_NOT_FOUND",
    IllegalTransition: "ILLEGAL_STATE",
    Unauthenticated: "AUTH_FAILED",
    PermissionDenied: "AUTH_FAILED",
    AnswerTooLarge: "ANSWER_TOO_LARGE",
}


def code_for(rpc: str, error: EngineError) -> int:
    if isinstance(error, AuthError):
        return AUTH_FAILED
    # A duplicate job id is not: Kuscia's create fails at the API server with
    # AlreadyExists and answers the operation's code, 11201 (job_service.go CreateJob).
    if isinstance(error, InvalidRequest):
        return REQUEST_INVALID
    if isinstance(error, IllegalTransition):
        return ILLEGAL_STATE_CODES.get(rpc, OPERATION_CODES[rpc])
    return OPERATION_CODES[rpc]


def failure(code: int, message: str, reason: str = "") -> common_pb2.Status:
    """Kuscia's error status; with a `reason`, dagwire's ErrorInfo in `details` too."""
    status = common_pb2.Status(code=code, message=message)
    if reason:
        status.details.add().Pack(ErrorInfo(reason=reason, domain=ERROR_DOMAIN))
    return status


def wants_error_info(context: Any) -> bool:
    """The caller asked for ErrorInfo (ERROR_INFO_KEY in its metadata)."""
    metadata = context.invocation_metadata() or ()
    return any(key == ERROR_INFO_KEY for key, _ in metadata)


def success() -> common_pb2.Status:
    return common_pb2.Status(code=SUCCESS, message="success")


R = TypeVar("R")
Handler = Callable[..., Awaitable[R]]


def kuscia_errors(rpc: str, response_type: Callable[..., R]) -> Callable[[Handler[R]], Handler[R]]:
    """Turn domain errors raised by a servicer method into an in-band status, and any
    other exception into 11101 without taking the server down."""

    def decorate(method: Handler[R]) -> Handler[R]:
        @functools.wraps(method)
        async def wrapper(self: Any, request: Any, context: Any) -> R:
            try:
                return await method(self, request, context)
            except EngineError as error:
                code, message = code_for(rpc, error), str(error)
                reason = REASONS.get(type(error), "INVALID_REQUEST")
            except Exception as error:
                log.exception("unexpected error", rpc=rpc)
                code = UNEXPECTED
                message = f"unexpected server error in {rpc}: {type(error).__name__}"
                reason = "INTERNAL"
            if not wants_error_info(context):
                reason = ""
            return response_type(status=failure(code, message, reason))

        return wrapper

    return decorate
