"""Domain errors -> Kuscia's in-band status codes, in one table per concern."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import structlog
from google.protobuf.any_pb2 import Any as AnyProto
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
    if isinstance(error, InvalidRequest | JobAlreadyExists):
        return REQUEST_INVALID
    if isinstance(error, IllegalTransition):
        return ILLEGAL_STATE_CODES.get(rpc, OPERATION_CODES[rpc])
    return OPERATION_CODES[rpc]


def failure(code: int, reason: str, message: str) -> common_pb2.Status:
    detail = AnyProto()
    detail.Pack(ErrorInfo(reason=reason, domain=ERROR_DOMAIN))
    return common_pb2.Status(code=code, message=message, details=[detail])


def success() -> common_pb2.Status:
    return common_pb2.Status(code=SUCCESS, message="success")


R = TypeVar("R")
Handler = Callable[..., Awaitable[R]]


def kuscia_errors(rpc: str, response_type: Callable[..., R]) -> Callable[[Handler[R]], Handler[R]]:
    """Turn domain errors raised by a servicer method into an in-band status, and any
    other exception into 11101 without taking the server down."""

    def decorate(method: Handler[R]) -> Handler[R]:
        @functools.wraps(method)
        async def wrapper(*args: Any, **kwargs: Any) -> R:
            try:
                return await method(*args, **kwargs)
            except EngineError as error:
                reason = REASONS.get(type(error), "INVALID_REQUEST")
                return response_type(status=failure(code_for(rpc, error), reason, str(error)))
            except Exception as error:
                log.exception("unexpected error", rpc=rpc)
                message = f"unexpected server error in {rpc}: {type(error).__name__}"
                return response_type(status=failure(UNEXPECTED, "INTERNAL", message))

        return wrapper

    return decorate
