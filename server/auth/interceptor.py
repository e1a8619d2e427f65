"""Authentication, once per call, before any handler runs: resolve the caller from the
`token` metadata and the client certificate, and record it for the servicers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
import structlog

from dagwire.server.auth.behalf import acting_as
from dagwire.server.auth.errors import AuthError, PermissionDenied, Unauthenticated
from dagwire.server.auth.principal import OPERATOR, Principal, admit, refuse
from dagwire.server.auth.sessions import looks_like_jwt
from dagwire.server.auth.tls import client_common_name
from dagwire.server.auth.tokens import TokenRegistry
from dagwire.server.rpc.handlers import (
    CallBehaviour,
    Context,
    Handler,
    StreamBehaviour,
    rewrap,
)

log = structlog.get_logger(__name__)

TOKEN_KEY = "token"
AUTHORIZATION_KEY = "authorization"

Metadata = Iterable[tuple[str, str | bytes]]

# The status a refused call without an in-band status ends with.
_ABORT_CODES: Mapping[type[AuthError], grpc.StatusCode] = {
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
}


class SessionResolver(Protocol):
    """Resolves a login token (auth/users.py): raises Unauthenticated when it is not
    valid (expired, badly signed, its user deleted, its password changed since)."""

    async def principal_for(self, token: str) -> Principal: ...


@dataclass(frozen=True, slots=True)
class Authenticator:
    """Resolves a call's caller from its credentials.

    With `tokens`, a call needs a known `token`. With `bind_client_certificate` (mTLS),
    the client certificate's CN binds the caller to that domain. With both, a token may
    narrow an mTLS caller but never widen it: an operator token over a certificate for
    alice is alice, and a token of another domain is refused. With neither, every caller
    is an unbound operator. An operator may then act on behalf of a user (behalf.py).

    A login token (a JWT from UserService.Login, `sessions`) is accepted wherever a
    static one is, in the `token` metadata or as `authorization: Bearer <token>`, and
    narrows as one does. With `require_credentials` (users are on: the operator gave
    root a password), a caller without credentials is refused even without a token file
    (with mTLS, its certificate is its credential).
    """

    tokens: TokenRegistry | None = None
    bind_client_certificate: bool = False
    sessions: SessionResolver | None = None
    require_credentials: bool = False

    @property
    def requires_token(self) -> bool:
        """Whether a call without a token is refused."""
        return self.tokens is not None or (
            self.require_credentials and not self.bind_client_certificate
        )

    async def authenticate(
        self, metadata: Metadata, auth_context: Mapping[str, Iterable[bytes]]
    ) -> Principal:
        """The caller the call acts as. Raises Unauthenticated, or PermissionDenied for
        a tenant that asks to act on behalf of someone."""
        metadata = tuple(metadata)
        return acting_as(await self._authenticated(metadata, auth_context), metadata)

    async def _authenticated(
        self, metadata: Metadata, auth_context: Mapping[str, Iterable[bytes]]
    ) -> Principal:
        by_token = await self._by_token(metadata)
        if not self.bind_client_certificate:
            return by_token if by_token is not None else OPERATOR
        domain = client_common_name(auth_context)
        if domain is None:
            raise Unauthenticated("the client certificate has no subject common name")
        if by_token is None:
            return Principal(domain=domain, name=domain)
        if by_token.domain not in (None, domain):
            raise Unauthenticated(
                f"the token is for domain {by_token.domain!r} but the client certificate "
                f"is for domain {domain!r}"
            )
        return Principal(domain=domain, name=by_token.name, user=by_token.user)

    async def _by_token(self, metadata: Metadata) -> Principal | None:
        """The caller a presented token stands for; None when there is none to go by
        (none presented where none is needed, or, on a server that needs no token, one
        that is no login token: ignored, as before users existed)."""
        tokens = presented_tokens(metadata)
        if not tokens:
            if self.requires_token:
                raise Unauthenticated(f"missing token: send it as gRPC metadata {TOKEN_KEY!r}")
            return None
        if len(tokens) > 1 or not isinstance(tokens[0], str):
            raise Unauthenticated(f"invalid token: send exactly one {TOKEN_KEY!r} metadata value")
        token = tokens[0]
        found = self.tokens.lookup(token) if self.tokens is not None else None
        if found is not None:
            return found
        if self.sessions is not None and looks_like_jwt(token):
            return await self.sessions.principal_for(token)
        if not self.requires_token and not self.require_credentials:
            return None
        raise Unauthenticated("invalid token")


def presented_tokens(metadata: Metadata) -> list[str | bytes]:
    """The tokens a call presents: its `token` metadata values, and its `authorization`
    values of the form `Bearer <token>`."""
    found: list[str | bytes] = []
    for key, value in metadata:
        if key == TOKEN_KEY:
            found.append(value)
        elif key == AUTHORIZATION_KEY and isinstance(value, str):
            scheme, _, credential = value.strip().partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                found.append(credential.strip())
    return found


# The stubs make ServerInterceptor generic; at runtime it cannot be subscripted.
class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Authenticates every call of a guarded service before its handler runs.

    A refused call of an `in_band_services` method with a single response (JobService:
    Kuscia reports errors in the response) still reaches its handler, whose
    `current_principal()` raises Unauthenticated for the API's error table to report.
    Any other refused call ends here with UNAUTHENTICATED. Calls of `open_methods`
    ("/package.Service/Method": logging in) and of `open_services`
    (health, reflection) are not checked at all.
    """

    def __init__(
        self,
        authenticator: Authenticator,
        *,
        open_services: Collection[str],
        in_band_services: Collection[str],
        open_methods: Collection[str] = (),
    ) -> None:
        self._authenticator = authenticator
        self._open = frozenset(open_services)
        self._open_methods = frozenset(open_methods)
        self._in_band = frozenset(in_band_services)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        details: grpc.HandlerCallDetails,
    ) -> Handler:
        handler = await continuation(details)  # None when no service has the method
        service = details.method.rsplit("/", 2)[-2]  # method is "/package.Service/Method"
        if handler is None or service in self._open or details.method in self._open_methods:
            return handler
        return self._guarded(handler, details.method, in_band=service in self._in_band)

    def _guarded(self, handler: Handler, method: str, *, in_band: bool) -> Handler:
        # Only a single response can carry Kuscia's in-band status.
        in_band = in_band and not handler.response_streaming

        def call(behaviour: CallBehaviour) -> CallBehaviour:
            async def admitted(request: Any, context: Context) -> Any:
                await self._admit(method, context, in_band=in_band)
                return await behaviour(request, context)

            return admitted

        def stream(behaviour: StreamBehaviour) -> StreamBehaviour:
            async def admitted(request: Any, context: Context) -> AsyncIterator[Any]:
                await self._admit(method, context, in_band=False)
                async for response in behaviour(request, context):
                    yield response

            return admitted

        return rewrap(handler, call=call, stream=stream)

    async def _admit(self, method: str, context: Context, *, in_band: bool) -> None:
        try:
            principal = await self._authenticator.authenticate(
                context.invocation_metadata() or (), context.auth_context()
            )
        except AuthError as refusal:
            log.warning("call refused", method=method, peer=context.peer(), reason=str(refusal))
            if not in_band:
                code = _ABORT_CODES.get(type(refusal), grpc.StatusCode.UNAUTHENTICATED)
                await context.abort(code, str(refusal))
            refuse(refusal)
            return
        admit(principal)
        structlog.contextvars.bind_contextvars(caller=principal.name)
