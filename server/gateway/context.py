"""The servicer context of a call that arrived over HTTP, and what a gRPC status
becomes in HTTP."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import grpc
from google.protobuf import json_format
from google.protobuf.any_pb2 import Any as AnyProto
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

Metadata = Sequence[tuple[str, str | bytes]]
# Where gRPC carries a status's google.rpc details (grpcio-status writes it).
STATUS_DETAILS_KEY = "grpc-status-details-bin"
# The standard detail types (ErrorInfo, BadRequest, ResourceInfo, ...) are what the
# details of a status may hold: importing them lets json_format print them by name.
KNOWN_DETAILS = error_details_pb2.DESCRIPTOR

# grpc-gateway's table (and Google's API design guide): the HTTP status of a gRPC code.
HTTP_STATUS: Mapping[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}


class GatewayAbort(grpc.aio.AbortError):
    """A servicer ended the call with a gRPC status (`context.abort`), with the
    google.rpc details its trailing metadata carried, if any. An AbortError, as grpc's
    own abort raises, so that error handlers let it through either way."""

    def __init__(
        self, code: grpc.StatusCode, details: str, status_details: Sequence[AnyProto] = ()
    ) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.status_details = tuple(status_details)

    @classmethod
    def of(cls, code: grpc.StatusCode, details: str, trailing_metadata: Metadata) -> GatewayAbort:
        return cls(code, details, status_details(trailing_metadata))

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 500)

    def as_json(self) -> dict[str, Any]:
        """google.rpc.Status in JSON, the body grpc-gateway gives for the same error:
        its details as protojson writes an Any (`@type`, then the fields in
        lowerCamelCase, `fieldViolations`), so that an HTTP client reads what a gRPC
        client unpacks."""
        return {
            "code": self.code.value[0],
            "message": self.details,
            "details": [_detail_json(detail) for detail in self.status_details],
        }


def status_details(trailing_metadata: Metadata) -> list[AnyProto]:
    """The details of the google.rpc.Status in `grpc-status-details-bin`, or none."""
    for key, value in trailing_metadata:
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            try:
                return list(status_pb2.Status.FromString(value).details)
            except DecodeError:
                return []
    return []


def _detail_json(detail: AnyProto) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json_format.MessageToDict(
            detail, always_print_fields_with_no_presence=True
        )
    except TypeError:
        # A type this process does not know: protojson's fallback shape for an Any.
        return {"@type": detail.type_url, "value": base64.b64encode(detail.value).decode()}
    return document


class GatewayContext:
    """Stands in for `grpc.aio.ServicerContext` when the gateway calls a servicer
    method directly. Servicers use a handful of its methods: those are here, with the
    HTTP caller's headers as invocation metadata, and `abort` raising GatewayAbort for
    the gateway to answer with the matching HTTP status."""

    def __init__(self, metadata: Metadata, peer: str, auth_context: Mapping[str, list[bytes]]):
        self._metadata = tuple(metadata)
        self._peer = peer
        self._auth_context = dict(auth_context)
        self.trailing_metadata: Metadata = ()

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Metadata = ()
    ) -> NoReturn:
        raise GatewayAbort.of(code, details, trailing_metadata or ())

    def invocation_metadata(self) -> Metadata:
        return self._metadata

    def peer(self) -> str:
        return self._peer

    def auth_context(self) -> Mapping[str, list[bytes]]:
        return self._auth_context

    def set_trailing_metadata(self, trailing_metadata: Metadata) -> None:
        self.trailing_metadata = tuple(trailing_metadata)

    async def send_initial_metadata(self, initial_metadata: Metadata) -> None:
        """Headers are sent with the response; nothing to do ahead of it."""

    def time_remaining(self) -> float | None:
        return None

    def cancelled(self) -> bool:
        return False

    def code(self) -> Any:
        return None
