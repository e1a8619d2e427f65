"""What the gateway serves, as the composition root describes it. Kept apart from the
HTTP server so that a server without the gateway never imports aiohttp."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.descriptor import ServiceDescriptor

from dagwire.server.api.registration import UnaryRejection


@dataclass(frozen=True, slots=True)
class GatewayService:
    """A gRPC service the gateway serves: its descriptor, the servicer the gRPC server
    runs, and how that service answers a unary request it cannot decode: with an
    in-band response of its own (Kuscia's 11100), or, when `reject_unary` is None,
    INVALID_ARGUMENT (as `registration.add_servicer` does over gRPC). `reject_body`, when
    given, answers an HTTP body the gateway cannot decode instead (Kuscia's HTTP layer
    says 11101 there)."""

    descriptor: ServiceDescriptor
    servicer: object
    reject_unary: UnaryRejection | None = None
    reject_body: UnaryRejection | None = None

    @property
    def http_rejection(self) -> UnaryRejection | None:
        return self.reject_body or self.reject_unary
