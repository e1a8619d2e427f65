"""Exceptions raised by the dagwire SDK.

Every exception the SDK raises on purpose derives from :class:`DagwireError`::

    DagwireError
    ├── RPCError                  the call failed at the transport: a gRPC status other than OK
    │   └── WatchExpiredError     OUT_OF_RANGE: resume_from is older than the server retains
    ├── KusciaError               the server answered with an in-band Kuscia error code
    │   ├── InvalidRequestError   11100 / INVALID_REQUEST: the request is malformed
    │   │   └── JobAlreadyExistsError   JOB_ALREADY_EXISTS: the job id is taken
    │   ├── JobNotFoundError      JOB_NOT_FOUND (or 11202/11203/11204 from a plain Kuscia)
    │   ├── IllegalStateError     ILLEGAL_STATE (or 11210/11211): not allowed in the job's state
    │   └── AuthError             AUTH_FAILED (or 11102): the token or domain is not allowed
    └── WaitTimeoutError          JobHandle.result(timeout=...) ran out of time (also a TimeoutError)

JobService reports errors in-band: the RPC returns OK and ``response.status.code`` carries a
Kuscia code. dagwire servers also attach one ``google.rpc.ErrorInfo`` (domain ``dagwire.io``)
whose ``reason`` names the exact cause; the SDK maps that reason to a class, and falls back
to the numeric code for servers that send none (Kuscia itself). Both live in one table,
:data:`ERROR_CLASSES`.

``JobAlreadyExistsError`` derives from ``InvalidRequestError`` because Kuscia reports a
duplicate job id with 11100, so code written against Kuscia's codes keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import grpc
from google.rpc import error_details_pb2

ERROR_INFO_DOMAIN = "dagwire.io"


class DagwireError(Exception):
    """Root of every error the dagwire SDK raises."""


class RPCError(DagwireError):
    """A call failed at the gRPC transport with a status other than OK."""

    def __init__(self, status: grpc.StatusCode, details: str = "") -> None:
        super().__init__(f"{status.name}: {details}" if details else status.name)
        self.status = status
        self.details = details


class WatchExpiredError(RPCError):
    """A watch cannot resume: the server no longer holds the events after ``resume_from``.

    List the jobs again (``batch_status`` / ``get_job``) and watch without ``resume_from``.
    """


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


def error_from_rpc(exc: grpc.RpcError) -> RPCError:
    """Wraps a transport-level ``grpc.RpcError`` into :class:`RPCError` (or a subclass)."""
    # Sync errors are grpc.Call objects, asyncio ones AioRpcError: both have code()/details().
    code_of, details_of = getattr(exc, "code", None), getattr(exc, "details", None)
    status = code_of() if callable(code_of) else grpc.StatusCode.UNKNOWN
    details = (details_of() if callable(details_of) else None) or str(exc)
    if status is grpc.StatusCode.OUT_OF_RANGE:
        return WatchExpiredError(status, details)
    return RPCError(status, details)
