"""The gateway's aiohttp application: each route decodes JSON, authenticates the caller
the way the gRPC server does, calls the same servicer method, and encodes the answer.

A service with an in-band status (Kuscia's JobService) answers HTTP 200 with it, as
Kuscia does. Any other reports a failed call as grpc-gateway does: the HTTP status of
the gRPC code and a google.rpc.Status body whose details are those the servicer put in
`grpc-status-details-bin` (field violations included).

The gateway calls servicers in-process rather than through a loopback gRPC channel.
Authentication stays identical because it is the same: the server's own Authenticator
resolves the `Token` header (as the `token` metadata) and the TLS client certificate
(as the gRPC auth context) into a Principal, which is admitted for the servicer exactly
as the gRPC interceptor admits it. A loopback channel could not carry an HTTP client's
certificate identity without trusting a forgeable header, and would need client
credentials of its own whenever the gRPC port requires mTLS.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import grpc
import structlog
from aiohttp import web
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from dagwire.server.api.registration import UnaryRejection
from dagwire.server.api.status import ERROR_INFO_KEY
from dagwire.server.auth.behalf import ON_BEHALF_KEY
from dagwire.server.auth.errors import AuthError, PermissionDenied, Unauthenticated
from dagwire.server.auth.interceptor import (
    AUTHORIZATION_KEY,
    TOKEN_KEY,
    Authenticator,
    presented_tokens,
)
from dagwire.server.auth.principal import Principal, admit, refuse
from dagwire.server.gateway.codec import PROTOBUF, dumps, parse_binary, parse_request, to_json
from dagwire.server.gateway.context import GatewayAbort, GatewayContext
from dagwire.server.gateway.routes import ROUTE_TABLES, RouteTable
from dagwire.server.gateway.services import GatewayService
from dagwire.server.observability.context import (
    REQUEST_ID_KEY,
    bind_request_fields,
    bind_request_id,
    request_id_of,
)
from dagwire.server.observability.interceptor import outcome_code
from dagwire.server.observability.metrics import CONTENT_TYPE, ServerMetrics

log = structlog.get_logger(__name__)

HTTP = "http"
TOKEN_HEADER = "Token"
# A login token (UserService.Login) may come in PaddleFlow's header too, or as
# `Authorization: Bearer <token>`.
PADDLEFLOW_TOKEN_HEADER = "x-pf-authorization"
TOKEN_HEADERS = (TOKEN_HEADER, PADDLEFLOW_TOKEN_HEADER)
AUTHORIZATION_HEADER = "Authorization"
ON_BEHALF_HEADER = "On-Behalf-Of"
REQUEST_ID_HEADER = "X-Request-Id"
JSON = "application/json"
NDJSON = "application/x-ndjson"
OPENAPI_FILE = "openapi.yaml"


@dataclass(frozen=True, slots=True)
class _Route:
    path: str
    method: MethodDescriptor
    behaviour: Callable[..., Any]
    reject_unary: UnaryRejection | None
    go_protojson: bool

    @property
    def full_method(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def request_type(self) -> type[Message]:
        return GetMessageClass(self.method.input_type)

    def decoded(self, response: Message | bytes) -> Message:
        """Servicers may yield responses pre-encoded for gRPC (a watch event shared by
        many streams is encoded once); JSON needs the message."""
        if isinstance(response, bytes):
            return GetMessageClass(self.method.output_type).FromString(response)
        return response


def _routes(tables: Iterable[RouteTable], services: Sequence[GatewayService]) -> list[_Route]:
    by_name = {service.descriptor.full_name: service for service in services}
    routes: list[_Route] = []
    for table in tables:
        service = by_name.get(table.service)
        if service is None:
            raise ValueError(f"the gateway has routes for {table.service} but no servicer")
        if table.in_band != (service.reject_unary is not None):
            # The table documents (OpenAPI) what the service does: keep them agreeing.
            raise ValueError(
                f"the routes of {table.service} say in_band={table.in_band}, but its "
                f"servicer {'lacks' if table.in_band else 'has'} an in-band rejection"
            )
        for path, rpc in table.routes():
            method = service.descriptor.methods_by_name[rpc]
            behaviour = getattr(service.servicer, rpc)
            routes.append(
                _Route(path, method, behaviour, service.http_rejection, table.go_protojson)
            )
    return routes


class HttpGateway:
    """Builds the gateway's aiohttp application (see the module docstring)."""

    def __init__(
        self,
        *,
        services: Sequence[GatewayService],
        authenticator: Authenticator,
        metrics: ServerMetrics,
        max_body_bytes: int,
        tables: Iterable[RouteTable] = ROUTE_TABLES,
        extensions: Sequence[Callable[[web.Application], None]] = (),
    ) -> None:
        self._routes = _routes(tables, services)
        # Paths in another vendor's shape (ModelArts'), each adding its own routes.
        self._extensions = tuple(extensions)
        self._authenticator = authenticator
        self._metrics = metrics
        self._max_body_bytes = max_body_bytes

    def application(self) -> web.Application:
        app = web.Application(client_max_size=self._max_body_bytes)
        for route in self._routes:
            handler = self._stream if route.method.server_streaming else self._unary
            app.router.add_post(route.path, _bound(handler, route))
        app.router.add_get("/metrics", metrics_handler(self._metrics, self._authenticator))
        app.router.add_get("/openapi.yaml", _openapi)
        for extend in self._extensions:
            extend(app)
        return app

    # --- calls -------------------------------------------------------------------------

    async def _unary(self, route: _Route, http: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = _begin(http)
        code = grpc.StatusCode.UNKNOWN.name
        # Kuscia's HTTP layer reads and answers the binary protobuf format when the
        # request says `Content-Type: application/x-protobuf` (summary_cn.md; pkg/web/
        # decorator/proto_decorator.go renderResponse picks the render by it).
        binary = http.content_type == PROTOBUF
        try:
            raw = await http.read()
            request = (
                parse_binary(raw, route.request_type)
                if binary
                else parse_request(raw, route.request_type, discard_unknown=route.go_protojson)
            )
            if isinstance(request, str):
                if route.reject_unary is None:
                    raise GatewayAbort(grpc.StatusCode.INVALID_ARGUMENT, request)
                # Undecodable: the service's own in-band rejection (Kuscia's 11101),
                # with HTTP 200 as Kuscia answers every request it could route.
                reply = route.reject_unary(route.method, request)
                status = 200
            else:
                bind_request_fields(request)
                context, refusal = await self._authenticate(http, request_id)
                if refusal is not None and route.reject_unary is None:
                    # No in-band status to carry it: UNAUTHENTICATED (or PERMISSION_DENIED
                    # for a forbidden On-Behalf-Of), as over gRPC.
                    raise _abort(refusal)
                reply = await route.behaviour(request, context)
                # Kuscia's HTTP server refuses a bad token with 401; the body still
                # carries the in-band status (11102) a gRPC caller gets.
                status = 200 if refusal is None else _abort(refusal).http_status
            code = outcome_code(reply)
            if binary:
                return _protobuf(reply, status, request_id)
            return _json(to_json(reply, null_unset=route.go_protojson), status, request_id)
        except GatewayAbort as abort:
            code = abort.code.name
            return _json(abort.as_json(), abort.http_status, request_id)
        except web.HTTPRequestEntityTooLarge:
            # Over the gRPC port's message limit: what gRPC calls RESOURCE_EXHAUSTED.
            code = grpc.StatusCode.RESOURCE_EXHAUSTED.name
            raise
        except Exception:
            # Kuscia's servicer reports its own unexpected errors in-band (11101); this
            # is for services that do not, and for the gateway's own bugs.
            log.exception("unexpected error in the HTTP gateway", path=route.path)
            internal = GatewayAbort(grpc.StatusCode.INTERNAL, "unexpected server error")
            code = internal.code.name
            return _json(internal.as_json(), internal.http_status, request_id)
        finally:
            self._observe(route, code, started)

    async def _stream(self, route: _Route, http: web.Request) -> web.StreamResponse:
        """A server stream as chunked newline-delimited JSON: one response per line. A
        status ending the stream before its first response is an HTTP error status
        with a JSON body; one ending it later is a last line `{"error": {...}}`, as
        grpc-gateway does."""
        started = time.perf_counter()
        request_id = _begin(http)
        try:
            request = parse_request(
                await http.read(), route.request_type, discard_unknown=route.go_protojson
            )
            if isinstance(request, str):
                raise GatewayAbort(grpc.StatusCode.INVALID_ARGUMENT, request)
            bind_request_fields(request)
            context, refusal = await self._authenticate(http, request_id)
            if refusal is not None:
                raise _abort(refusal)
            responses: AsyncIterator[Message | bytes] = route.behaviour(request, context)
            # Waiting for the first response before sending headers lets a request the
            # servicer rejects at once get a real HTTP status; a watch's first response
            # (its initial listing) comes at once.
            first = await anext(responses, None)
        except GatewayAbort as abort:
            self._observe(route, abort.code.name, started)
            return _json(abort.as_json(), abort.http_status, request_id)
        except web.HTTPRequestEntityTooLarge:
            self._observe(route, grpc.StatusCode.RESOURCE_EXHAUSTED.name, started)
            raise

        stream = web.StreamResponse(
            headers={"Content-Type": f"{NDJSON}; charset=utf-8", REQUEST_ID_HEADER: request_id}
        )
        stream.enable_chunked_encoding()
        code = grpc.StatusCode.OK.name
        try:
            await stream.prepare(http)
            try:
                if first is not None:
                    await stream.write(_line(to_json(route.decoded(first))))
                    async for response in responses:
                        await stream.write(_line(to_json(route.decoded(response))))
            except GatewayAbort as abort:
                code = abort.code.name
                await stream.write(_line({"error": abort.as_json()}))
            await stream.write_eof()
        except BaseException as error:
            # A client that went away fails the next write, at the latest at a heartbeat.
            gone = isinstance(error, ConnectionError | asyncio.CancelledError)
            code = grpc.StatusCode.CANCELLED.name if gone else grpc.StatusCode.UNKNOWN.name
            raise
        finally:
            await _close(responses)
            self._observe(route, code, started)
        return stream

    async def _authenticate(
        self, http: web.Request, request_id: str
    ) -> tuple[GatewayContext, AuthError | None]:
        """Resolve the caller as the gRPC interceptor does and admit it for the servicer.
        A refused caller is recorded as refused, so that a unary servicer reports it
        in-band (11102), and the refusal is returned."""
        metadata = [*_credentials(http), (REQUEST_ID_KEY, request_id)]
        auth_context = _auth_context(http)
        context = GatewayContext(metadata, http.remote or "", auth_context)
        try:
            principal = await _authenticated(self._authenticator, http, metadata, auth_context)
        except AuthError as refusal:
            log.warning("call refused", path=http.path, peer=http.remote, reason=str(refusal))
            refuse(refusal)
            return context, refusal
        admit(principal)
        structlog.contextvars.bind_contextvars(caller=principal.name)
        return context, None

    def _observe(self, route: _Route, code: str, started: float) -> None:
        seconds = time.perf_counter() - started
        self._metrics.observe_rpc(route.full_method, transport=HTTP, code=code, seconds=seconds)


def _credentials(http: web.Request) -> list[tuple[str, str | bytes]]:
    """The HTTP headers the servicers read (credentials, the ErrorInfo opt-in), as the
    gRPC metadata they stand for."""
    credentials: list[tuple[str, str | bytes]] = [
        (TOKEN_KEY, token) for header in TOKEN_HEADERS for token in http.headers.getall(header, [])
    ]
    credentials += [
        (AUTHORIZATION_KEY, value) for value in http.headers.getall(AUTHORIZATION_HEADER, [])
    ]
    credentials += [(ON_BEHALF_KEY, value) for value in http.headers.getall(ON_BEHALF_HEADER, [])]
    # The HTTP form of the metadata by which a caller asks for ErrorInfo in Kuscia's
    # in-band errors (api/status.py).
    credentials += [(ERROR_INFO_KEY, value) for value in http.headers.getall(ERROR_INFO_KEY, [])]
    return credentials


async def _authenticated(
    authenticator: Authenticator,
    http: web.Request,
    metadata: Sequence[tuple[str, str | bytes]],
    auth_context: Mapping[str, list[bytes]],
) -> Principal:
    tokens = presented_tokens(metadata)
    if authenticator.requires_token and len(tokens) != 1:
        # Worded for HTTP: the Authenticator's own message names gRPC metadata.
        raise Unauthenticated(
            f"missing token: send it as the HTTP header {TOKEN_HEADER!r}"
            if not tokens
            else f"invalid token: send exactly one {TOKEN_HEADER!r} header"
        )
    return await authenticator.authenticate(metadata, auth_context)


def _abort(refusal: AuthError) -> GatewayAbort:
    code = (
        grpc.StatusCode.PERMISSION_DENIED
        if isinstance(refusal, PermissionDenied)
        else grpc.StatusCode.UNAUTHENTICATED
    )
    return GatewayAbort(code, str(refusal))


def _bound(
    handler: Callable[[_Route, web.Request], Awaitable[web.StreamResponse]], route: _Route
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(http: web.Request) -> web.StreamResponse:
        return await handler(route, http)

    return handle


def _begin(http: web.Request) -> str:
    """aiohttp runs each request in a task of its own, so what is bound here belongs to
    this request alone."""
    request_id = request_id_of(
        (REQUEST_ID_KEY, value) for value in http.headers.getall(REQUEST_ID_HEADER, [])
    )
    bind_request_id(request_id)
    return request_id


def _auth_context(http: web.Request) -> Mapping[str, list[bytes]]:
    """The verified client certificate's subject CNs, under the key gRPC's auth context
    uses, so that the Authenticator binds an HTTP caller to a domain the same way."""
    if http.transport is None:
        return {}
    certificate = http.transport.get_extra_info("peercert")
    if not certificate:
        return {}
    names = [
        value.encode()
        for rdn in certificate.get("subject", ())
        for key, value in rdn
        if key == "commonName"
    ]
    return {"x509_common_name": names}


async def _close(responses: AsyncIterator[Message | bytes]) -> None:
    close = getattr(responses, "aclose", None)
    if close is not None:
        await close()


def _json(document: Mapping[str, Any], status: int, request_id: str) -> web.Response:
    return web.Response(
        body=dumps(document),
        status=status,
        headers={"Content-Type": f"{JSON}; charset=utf-8", REQUEST_ID_HEADER: request_id},
    )


def _protobuf(message: Message, status: int, request_id: str) -> web.Response:
    return web.Response(
        body=message.SerializeToString(),
        status=status,
        headers={"Content-Type": PROTOBUF, REQUEST_ID_HEADER: request_id},
    )


def _line(document: Mapping[str, Any]) -> bytes:
    return dumps(document) + b"\n"


def metrics_handler(
    metrics: ServerMetrics, authenticator: Authenticator | None = None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """/metrics. With an authenticator that requires tokens, only an operator's token
    may read it: the counters span every domain's calls. (A tenant gets 403, a caller
    without a valid token 401.)"""

    async def handle(http: web.Request) -> web.StreamResponse:
        if authenticator is not None and authenticator.requires_token:
            refusal = await _metrics_refusal(authenticator, http)
            if refusal is not None:
                return _json(refusal.as_json(), refusal.http_status, _begin(http))
        return web.Response(body=await metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    return handle


async def _metrics_refusal(authenticator: Authenticator, http: web.Request) -> GatewayAbort | None:
    try:
        principal = await _authenticated(
            authenticator, http, _credentials(http), _auth_context(http)
        )
    except AuthError as refusal:
        log.warning("metrics refused", peer=http.remote, reason=str(refusal))
        return _abort(refusal)
    if principal.is_operator:
        return None
    return _abort(
        PermissionDenied(f"/metrics needs an operator's token; {principal.name!r} is a tenant's")
    )


def metrics_application(metrics: ServerMetrics) -> web.Application:
    """/metrics alone, for --metrics-listen."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(metrics))
    return app


async def _openapi(http: web.Request) -> web.StreamResponse:
    document = resources.files(__package__).joinpath(OPENAPI_FILE).read_bytes()
    return web.Response(body=document, headers={"Content-Type": "application/yaml"})
