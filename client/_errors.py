"""Exceptions raised by the dagwire SDK.

Every exception the SDK raises on purpose derives from :class:`DagwireError`::

    DagwireError
    ├── RPCError                  the call failed with a gRPC status other than OK
    │   ├── WatchExpiredError     OUT_OF_RANGE: resume_from is older than the server retains
    │   ├── InvalidArgumentError  INVALID_ARGUMENT; ``field_violations`` name the exact paths
    │   ├── NotFoundError         NOT_FOUND: no pipeline, version, run, cache entry or schedule
    │   ├── AlreadyExistsError    ALREADY_EXISTS: e.g. a pipeline with the spec's name
    │   └── FailedPreconditionError  FAILED_PRECONDITION: not allowed in the resource's state
    ├── KusciaError               the server answered with an in-band Kuscia error code
    │   ├── InvalidRequestError   11100 / INVALID_REQUEST: the request is malformed
    │   │   └── JobAlreadyExistsError   JOB_ALREADY_EXISTS: the job id is taken
    │   ├── JobNotFoundError      JOB_NOT_FOUND (or 11202/11203/11204 from a plain Kuscia)
    │   ├── IllegalStateError     ILLEGAL_STATE (or 11210/11211): not allowed in the job's state
    │   └── AuthError             AUTH_FAILED (or 11102): the token or domain is not allowed
    └── WaitTimeoutError          JobHandle.result(timeout=...) ran out of time (also a TimeoutError)

JobService reports errors in-band: the RPC returns OK and ``response.status.code`` carries a
Kuscia code. To a caller that sends the ``dagwire-error-info`` metadata, as this SDK does,
dagwire servers also attach one ``google.rpc.ErrorInfo`` (domain ``dagwire.io``) whose
``reason`` names the exact cause (to others, ``details`` stays empty, as Kuscia's); the SDK
maps that reason to a class, and falls back to the numeric code for servers that send none
(Kuscia itself). Both live in one table, :data:`ERROR_CLASSES`.

WorkflowService (``dagwire.v1``) reports errors as plain gRPC statuses instead, with
``google.rpc`` details in the ``grpc-status-details-bin`` trailer: an ``ErrorInfo``
(``reason``), a ``BadRequest`` for INVALID_ARGUMENT (``field_violations``, one per problem,
``field`` a dotted path such as ``entry_points.train.deps``) and a ``ResourceInfo`` naming the
resource (``resource_type``, ``resource_name``). Every :class:`RPCError` carries whichever of
these the server sent; the status code picks the class (:data:`RPC_ERROR_CLASSES`).

``JobAlreadyExistsError`` derives from ``InvalidRequestError`` because earlier dagwire servers
reported a duplicate job id with 11100; they now answer 11201, as Kuscia does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

ERROR_INFO_DOMAIN = "dagwire.io"
#: Metadata key by which a caller asks a dagwire server for ErrorInfo in in-band errors.
ERROR_INFO_KEY = "dagwire-error-info"


class DagwireError(Exception):
    """Root of every error the dagwire SDK raises."""


@dataclass(frozen=True)
class FieldViolation:
    """One problem of an INVALID_ARGUMENT request: ``field`` is a dotted path into the
    request or the spec it carries (``entry_points.train.deps``, ``parameters.epoch``)."""

    field: str
    description: str

    def __str__(self) -> str:
        return f"{self.field}: {self.description}" if self.field else self.description


class RPCError(DagwireError):
    """A call failed with a gRPC status other than OK.

    ``status`` is the ``grpc.StatusCode`` and ``details`` the server's message. When the
    server attached ``google.rpc`` details: ``reason`` and ``metadata`` come from its
    ``ErrorInfo``, ``field_violations`` from a ``BadRequest``, ``resource_type`` and
    ``resource_name`` from a ``ResourceInfo``; otherwise they are empty.
    """

    def __init__(
        self,
        status: grpc.StatusCode,
        details: str = "",
        *,
        reason: str = "",
        metadata: Mapping[str, str] | None = None,
        field_violations: Sequence[FieldViolation] = (),
        resource_type: str = "",
        resource_name: str = "",
    ) -> None:
        super().__init__(f"{status.name}: {details}" if details else status.name)
        self.status = status
        self.details = details
        self.reason = reason
        self.metadata: Mapping[str, str] = MappingProxyType(dict(metadata or {}))
        self.field_violations: tuple[FieldViolation, ...] = tuple(field_violations)
        self.resource_type = resource_type
        self.resource_name = resource_name


class WatchExpiredError(RPCError):
    """A watch cannot resume: the server no longer holds the events after ``resume_from``.

    List again (``batch_status`` / ``get_job``, ``list_runs``) and watch without
    ``resume_from``.
    """


class InvalidArgumentError(RPCError):
    """The request (or the spec it carries) is invalid and nothing was stored;
    ``field_violations`` says what is wrong where."""


class NotFoundError(RPCError):
    """The named pipeline, version, run, cache entry or schedule does not exist;
    ``resource_type`` and ``resource_name`` say which, when the server sent them."""


class AlreadyExistsError(RPCError):
    """The resource exists already (a pipeline with the spec's name)."""


class FailedPreconditionError(RPCError):
    """The operation is not allowed in the resource's current state (a stop of a finished
    run, a delete of a running one, a retry of a succeeded one)."""


class KusciaError(DagwireError):
    """The server rejected a request with an in-band Kuscia error code.

    ``code`` is the Kuscia code (e.g. 11100), ``message`` the server's explanation and
    ``reason`` the ``ErrorInfo`` reason (e.g. ``"JOB_NOT_FOUND"``), empty when the server
    sent none. ``metadata`` holds the ``ErrorInfo`` metadata.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int = 0,
        reason: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{message} (code {code})" if code else message)
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata: Mapping[str, str] = MappingProxyType(dict(metadata or {}))


class InvalidRequestError(KusciaError):
    """The request is malformed (Kuscia 11100)."""


class JobAlreadyExistsError(InvalidRequestError):
    """A job with this id already exists; job ids are never overwritten."""


class JobNotFoundError(KusciaError):
    """No job with this id exists (or the caller may not see it)."""


class IllegalStateError(KusciaError):
    """The operation is not allowed in the job's current state."""


class AuthError(KusciaError):
    """The caller's token or domain is not allowed to do this."""


class WaitTimeoutError(DagwireError, TimeoutError):
    """Waiting for a job to finish took longer than the given timeout."""


#: The one table from ErrorInfo reason (preferred) or Kuscia code (fallback) to class.
#: Codes and reasons not listed map to :class:`KusciaError` itself.
ERROR_CLASSES: Mapping[str | int, type[KusciaError]] = MappingProxyType(
    {
        "INVALID_REQUEST": InvalidRequestError,
        "JOB_ALREADY_EXISTS": JobAlreadyExistsError,
        "JOB_NOT_FOUND": JobNotFoundError,
        "ILLEGAL_STATE": IllegalStateError,
        "AUTH_FAILED": AuthError,
        "INTERNAL": KusciaError,
        11100: InvalidRequestError,
        11101: KusciaError,
        11102: AuthError,
        11202: JobNotFoundError,
        11203: JobNotFoundError,
        11204: JobNotFoundError,
        11210: IllegalStateError,
        11211: IllegalStateError,
    }
)


def _error_info(details: Any) -> error_details_pb2.ErrorInfo | None:
    """The first dagwire ``ErrorInfo`` packed in ``details`` (repeated Any), if any."""
    for item in details:
        if item.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            item.Unpack(info)
            if info.domain == ERROR_INFO_DOMAIN:
                return info
    return None


def error_from_status(status: Any) -> KusciaError:
    """Builds the precise exception for a non-zero in-band ``kuscia...Status``."""
    code = int(status.code)
    message = str(status.message) or f"Kuscia error {code}"
    info = _error_info(status.details)
    reason = info.reason if info is not None else ""
    cls = ERROR_CLASSES.get(reason) or ERROR_CLASSES.get(code, KusciaError)
    metadata = dict(info.metadata) if info is not None else {}
    return cls(message, code=code, reason=reason, metadata=metadata)


#: The gRPC status picks the class of an :class:`RPCError`; statuses not listed map to
#: RPCError itself.
RPC_ERROR_CLASSES: Mapping[grpc.StatusCode, type[RPCError]] = MappingProxyType(
    {
        grpc.StatusCode.OUT_OF_RANGE: WatchExpiredError,
        grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
        grpc.StatusCode.NOT_FOUND: NotFoundError,
        grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
        grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    }
)

_DETAILS_KEY = "grpc-status-details-bin"


def _rich_status(exc: grpc.RpcError) -> status_pb2.Status | None:
    """The ``google.rpc.Status`` the server put in the trailers, if any and readable."""
    trailers_of = getattr(exc, "trailing_metadata", None)
    trailers = trailers_of() if callable(trailers_of) else None
    for key, value in trailers or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            try:
                return status_pb2.Status.FromString(value)
            except DecodeError:
                return None
    return None


def _details_kwargs(status: status_pb2.Status | None) -> dict[str, Any]:
    """RPCError's keyword arguments from the details packed in a rich status."""
    kwargs: dict[str, Any] = {}
    violations: list[FieldViolation] = []
    for item in status.details if status is not None else ():
        if item.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) and "reason" not in kwargs:
            info = error_details_pb2.ErrorInfo()
            item.Unpack(info)
            kwargs["reason"], kwargs["metadata"] = info.reason, dict(info.metadata)
        elif item.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            item.Unpack(bad)
            violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
        elif item.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
            resource = error_details_pb2.ResourceInfo()
            item.Unpack(resource)
            kwargs["resource_type"] = resource.resource_type
            kwargs["resource_name"] = resource.resource_name
    if violations:
        kwargs["field_violations"] = violations
    return kwargs


def error_from_rpc(exc: grpc.RpcError) -> RPCError:
    """Wraps a failed call's ``grpc.RpcError`` into :class:`RPCError` (or the subclass its
    status code picks), with the ``google.rpc`` details the server attached."""
    # Sync errors are grpc.Call objects, asyncio ones AioRpcError: both have code()/details().
    code_of, details_of = getattr(exc, "code", None), getattr(exc, "details", None)
    status = code_of() if callable(code_of) else grpc.StatusCode.UNKNOWN
    details = (details_of() if callable(details_of) else None) or str(exc)
    cls = RPC_ERROR_CLASSES.get(status, RPCError)
    return cls(status, details, **_details_kwargs(_rich_status(exc)))
