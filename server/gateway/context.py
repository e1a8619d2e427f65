"""The servicer context of a call that arrived over HTTP, and what a gRPC status
becomes in HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import grpc

Metadata = Sequence[tuple[str, str]]

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


class GatewayAbort(Exception):
    """A servicer ended the call with a gRPC status (`context.abort`)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 500)

    def as_json(self) -> dict[str, Any]:
        """google.rpc.Status in JSON, the body grpc-gateway gives for the same error."""
        return {"code": self.code.value[0], "message": self.details, "details": []}


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
        raise GatewayAbort(code, details)

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
