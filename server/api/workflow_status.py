"""Domain errors -> gRPC statuses with google.rpc details, for the dagwire.v1 services.

One table maps each error type to its code and ErrorInfo reason. InvalidArgument also
carries a BadRequest with one field violation per problem; resource errors carry a
ResourceInfo naming the resource.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import grpc
import structlog
from google.protobuf.any_pb2 import Any as AnyProto
from google.rpc import code_pb2, status_pb2
from google.rpc.error_details_pb2 import BadRequest, ErrorInfo, ResourceInfo
from grpc_status import rpc_status

from dagwire.server.auth.errors import AuthError, PermissionDenied, Unauthenticated
from dagwire.server.auth.users import NoRootPassword, RootProtected, UserExists, UserNotFound
from dagwire.server.engine.errors import (
    ConcurrentModification,
    EngineError,
    IllegalTaskAction,
    IllegalTransition,
    InvalidRequest,
    JobAlreadyExists,
    JobNotFound,
    TaskNotFound,
)
from dagwire.server.runtime.watch import ResumeExpired, WatchInterrupted
from dagwire.server.workflow.errors import (
    AlreadyExists,
    FailedPrecondition,
    Forbidden,
    InvalidArgument,
    NotFound,
)

log = structlog.get_logger(__name__)

ERROR_DOMAIN = "dagwire.io"

# A status travels in trailing metadata: grpc-message (percent-encoded, up to 3 bytes per
# byte) and grpc-status-details-bin (base64: 4 per 3), which repeats the message. gRPC
# rejects metadata above 16 KiB, and above 8 KiB at random (grpc.max_metadata_size), so
# the whole status stays well under 8 KiB.
MAX_MESSAGE_BYTES = 600
MAX_FIELD_BYTES = 256
MAX_VIOLATION_BYTES = 2_400

# error type -> (gRPC code, ErrorInfo reason); the first matching base class wins.
STATUS_FOR: Mapping[type[Exception], tuple[grpc.StatusCode, str]] = {
    InvalidArgument: (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
    InvalidRequest: (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
    NotFound: (grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
    JobNotFound: (grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
    AlreadyExists: (grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS"),
    JobAlreadyExists: (grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS"),
    FailedPrecondition: (grpc.StatusCode.FAILED_PRECONDITION, "FAILED_PRECONDITION"),
    TaskNotFound: (grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
    IllegalTaskAction: (grpc.StatusCode.FAILED_PRECONDITION, "ILLEGAL_STEP_ACTION"),
    IllegalTransition: (grpc.StatusCode.FAILED_PRECONDITION, "ILLEGAL_TRANSITION"),
    ConcurrentModification: (grpc.StatusCode.ABORTED, "CONCURRENT_MODIFICATION"),
    ResumeExpired: (grpc.StatusCode.OUT_OF_RANGE, "RESUME_EXPIRED"),
    WatchInterrupted: (grpc.StatusCode.UNAVAILABLE, "SERVER_SHUTTING_DOWN"),
    Unauthenticated: (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"),
    PermissionDenied: (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED"),
    Forbidden: (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED"),
    UserNotFound: (grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
    UserExists: (grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS"),
    RootProtected: (grpc.StatusCode.FAILED_PRECONDITION, "ROOT_PROTECTED"),
    NoRootPassword: (grpc.StatusCode.FAILED_PRECONDITION, "NO_ROOT_PASSWORD"),
}


def status_for(error: Exception) -> tuple[grpc.StatusCode, str]:
    for kind in type(error).__mro__:
        if kind in STATUS_FOR:
            return STATUS_FOR[kind]
    return grpc.StatusCode.INTERNAL, "INTERNAL"


def rich_status(error: EngineError | AuthError) -> status_pb2.Status:
    """The google.rpc.Status for a domain error, with its details."""
    code, reason = status_for(error)
    details: list[Any] = [ErrorInfo(reason=reason, domain=ERROR_DOMAIN)]
    if isinstance(error, WatchInterrupted):
        details[0].metadata["resume_from"] = str(error.resume_from)
    if isinstance(error, InvalidArgument):
        details.append(_bad_request([(v.field, v.description) for v in error.violations]))
    elif isinstance(error, InvalidRequest):
        details.append(_bad_request([("", str(error))]))
    resource = getattr(error, "resource_type", None)
    if resource is not None:
        name = _cut(error.name, MAX_FIELD_BYTES)  # type: ignore[union-attr]
        details.append(ResourceInfo(resource_type=resource, resource_name=name))
    return _status(code, _cut(str(error), MAX_MESSAGE_BYTES), details)


def _bad_request(violations: list[tuple[str, str]]) -> BadRequest:
    """As many violations as fit MAX_VIOLATION_BYTES, then one saying how many more
    there are: the status travels in trailing metadata, whose size gRPC limits."""
    bad_request = BadRequest()
    for index, (field, description) in enumerate(violations):
        violation = BadRequest.FieldViolation(
            field=_cut(field, MAX_FIELD_BYTES), description=_cut(description, MAX_FIELD_BYTES * 2)
        )
        if bad_request.ByteSize() + violation.ByteSize() > MAX_VIOLATION_BYTES:
            more = len(violations) - index
            bad_request.field_violations.add(description=f"... and {more} more violations")
            break
        bad_request.field_violations.append(violation)
    return bad_request


def _cut(text: str, limit: int) -> str:
    """text cut to at most `limit` bytes of UTF-8 (on a character boundary)."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - 3].decode(errors="ignore") + "..."


def unexpected_status(method: str, error: Exception) -> status_pb2.Status:
    """INTERNAL for an error no table entry covers (a bug, a database failure): the
    error's type and where it happened, but not its text, which may quote SQL or
    paths; the server's log has the traceback."""
    message = f"unexpected server error in {method}: {type(error).__name__}"
    return _status(
        grpc.StatusCode.INTERNAL, message, [ErrorInfo(reason="INTERNAL", domain=ERROR_DOMAIN)]
    )


def _status(code: grpc.StatusCode, message: str, details: list[Any]) -> status_pb2.Status:
    packed = []
    for detail in details:
        wrapped = AnyProto()
        wrapped.Pack(detail)
        packed.append(wrapped)
    return status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=packed)


R = TypeVar("R")
Context = grpc.aio.ServicerContext[Any, Any]


async def _abort(context: Context, method: str, error: Exception) -> None:
    """End the call with the status of `error`; called while it is being handled."""
    if isinstance(error, EngineError | AuthError):
        rich = rich_status(error)
    else:
        log.exception("unexpected error", method=method)
        rich = unexpected_status(method, error)
    status = rpc_status.to_status(rich)
    await context.abort(status.code, status.details, status.trailing_metadata)


def workflow_errors(
    method: Callable[..., Awaitable[R]],
) -> Callable[..., Awaitable[R]]:
    """Turn the errors a unary method raises into rich gRPC statuses: domain errors by
    the table, any other into INTERNAL without taking the server down."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Context) -> R:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise  # the method ended the call itself
        except Exception as error:
            await _abort(context, method.__name__, error)
            raise AssertionError("abort returned") from None  # pragma: no cover

    return wrapper


def workflow_stream_errors(
    method: Callable[..., AsyncIterator[R]],
) -> Callable[..., AsyncIterator[R]]:
    """The same for server-streaming methods."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Context) -> AsyncIterator[R]:
        try:
            async for item in method(self, request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            await _abort(context, method.__name__, error)

    return wrapper
