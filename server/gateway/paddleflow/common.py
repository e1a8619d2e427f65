"""What every PaddleFlow resource module shares: the servicers it calls, who the caller
is, PaddleFlow's error body, its request id header and its marker/maxKeys paging.

Facts taken from PaddleFlow's server (PaddlePaddle/PaddleFlow):
- pkg/apiserver/common/consts.go: the headers `x-pf-authorization` (the caller's token),
  `x-pf-request-id`, and the error body's fields `requestID`, `code`, `message`;
- pkg/apiserver/common/errors.go: the error codes and the HTTP status of each
  (errorHTTPStatus), e.g. AuthWithoutToken and AuthInvalidToken are 400, RunNotFound 404,
  PipelineNotFound 400, QueueNameNotFound 400, FlavourNotFound 404;
- its list answers carry `marker`, `isTruncated` and `nextMarker` beside the list.

A resource module never decodes a generated message itself (the gateway imports no
generated code): `PaddleFlowApi.call` builds the request from a dict in the protobuf
JSON mapping (snake_case field names) and answers the response as such a dict.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
import structlog
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message_factory import GetMessageClass
from google.rpc.error_details_pb2 import ResourceInfo

from dagwire.server.auth.errors import PermissionDenied, Unauthenticated
from dagwire.server.auth.interceptor import TOKEN_KEY, Authenticator
from dagwire.server.auth.principal import Principal, admit
from dagwire.server.gateway.codec import dumps
from dagwire.server.gateway.context import GatewayAbort, GatewayContext
from dagwire.server.gateway.http import _auth_context
from dagwire.server.gateway.services import GatewayService
from dagwire.server.observability.context import REQUEST_ID_KEY, bind_request_id, request_id_of
from dagwire.server.observability.metrics import ServerMetrics

log = structlog.get_logger(__name__)

PREFIX = "/api/paddleflow/v1"
AUTH_HEADER = "x-pf-authorization"
REQUEST_ID_HEADER = "x-pf-request-id"

# --- PaddleFlow's error codes (pkg/apiserver/common/errors.go) -----------------------

ACCESS_DENIED = "AccessDenied"
ACTION_NOT_ALLOWED = "ActionNotAllowed"
INTERNAL_ERROR = "InternalError"
MALFORMED_JSON = "MalformedJSON"
METHOD_NOT_ALLOWED = "MethodNotAllowed"
DUPLICATED_NAME = "DuplicatedName"
INVALID_ARGUMENTS = "InvalidArguments"
INVALID_MARKER = "InvalidMarker"
RECORD_NOT_FOUND = "RecordNotFound"
ONLY_ROOT_ALLOWED = "OnlyRootAllowed"
AUTH_WITHOUT_TOKEN = "AuthWithoutToken"
AUTH_INVALID_TOKEN = "AuthInvalidToken"
QUEUE_NAME_NOT_FOUND = "QueueNameNotFound"
QUEUE_NAME_DUPLICATED = "QueueNameDuplicated"
QUEUE_ACTION_NOT_SUPPORTED = "QueueActionIsNotSupported"
GRANT_RESOURCE_TYPE_NOT_FOUND = "GrantResourceTypeNotFound"
INVALID_CLUSTER_PROPERTIES = "InvalidClusterProperties"
GRANT_NOT_FOUND = "GrantNotFound"
RUN_NOT_FOUND = "RunNotFound"
PIPELINE_NOT_FOUND = "PipelineNotFound"
RUN_CACHE_NOT_FOUND = "RunCacheNotFound"
FLAVOUR_NOT_FOUND = "FlavourNotFound"
CLUSTER_NOT_FOUND = "ClusterNotFound"
FILE_SYSTEM_NOT_EXIST = "FileSystemNotExist"

# errorHTTPStatus: the HTTP status PaddleFlow answers each code with.
HTTP_STATUS: Mapping[str, int] = {
    ACCESS_DENIED: 403,
    ACTION_NOT_ALLOWED: 403,
    INTERNAL_ERROR: 500,
    MALFORMED_JSON: 400,
    METHOD_NOT_ALLOWED: 405,
    DUPLICATED_NAME: 400,
    INVALID_ARGUMENTS: 400,
    INVALID_MARKER: 400,
    RECORD_NOT_FOUND: 404,
    ONLY_ROOT_ALLOWED: 403,
    AUTH_WITHOUT_TOKEN: 400,
    AUTH_INVALID_TOKEN: 400,
    QUEUE_NAME_NOT_FOUND: 400,
    QUEUE_NAME_DUPLICATED: 403,
    QUEUE_ACTION_NOT_SUPPORTED: 400,
    GRANT_RESOURCE_TYPE_NOT_FOUND: 400,
    INVALID_CLUSTER_PROPERTIES: 400,
    GRANT_NOT_FOUND: 400,
    RUN_NOT_FOUND: 404,
    PIPELINE_NOT_FOUND: 400,
    RUN_CACHE_NOT_FOUND: 400,
    FLAVOUR_NOT_FOUND: 404,
    CLUSTER_NOT_FOUND: 400,
    FILE_SYSTEM_NOT_EXIST: 403,
}

# The gRPC code of a servicer's status -> PaddleFlow's code (its HTTP status from
# HTTP_STATUS). NOT_FOUND is refined by the resource the status names (NOT_FOUND_CODES).
ERRORS: Mapping[grpc.StatusCode, str] = {
    grpc.StatusCode.INVALID_ARGUMENT: INVALID_ARGUMENTS,
    grpc.StatusCode.OUT_OF_RANGE: INVALID_ARGUMENTS,
    grpc.StatusCode.RESOURCE_EXHAUSTED: INVALID_ARGUMENTS,
    grpc.StatusCode.FAILED_PRECONDITION: ACTION_NOT_ALLOWED,
    grpc.StatusCode.ABORTED: ACTION_NOT_ALLOWED,
    grpc.StatusCode.UNIMPLEMENTED: ACTION_NOT_ALLOWED,
    grpc.StatusCode.NOT_FOUND: RECORD_NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS: DUPLICATED_NAME,
    grpc.StatusCode.PERMISSION_DENIED: ACCESS_DENIED,
    grpc.StatusCode.UNAUTHENTICATED: AUTH_INVALID_TOKEN,
}

# dagwire's ResourceInfo.resource_type of a missing resource -> PaddleFlow's code for it.
NOT_FOUND_CODES: Mapping[str, str] = {
    "run": RUN_NOT_FOUND,
    "pipeline": PIPELINE_NOT_FOUND,
    "pipeline version": PIPELINE_NOT_FOUND,
    "cache entry": RUN_CACHE_NOT_FOUND,
    "queue": QUEUE_NAME_NOT_FOUND,
    "grant": GRANT_NOT_FOUND,
    "flavour": FLAVOUR_NOT_FOUND,
    "cluster": CLUSTER_NOT_FOUND,
    "file system": FILE_SYSTEM_NOT_EXIST,
}

# dagwire's ResourceInfo.resource_type of a resource that exists already -> PaddleFlow's
# code for it.
DUPLICATE_CODES: Mapping[str, str] = {"queue": QUEUE_NAME_DUPLICATED}


class PaddleFlowError(Exception):
    """A refusal in PaddleFlow's shape: `{"requestID", "code", "message"}` with the HTTP
    status PaddleFlow gives `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 500)

    def body(self, request_id: str) -> dict[str, str]:
        return {"requestID": request_id, "code": self.code, "message": self.message}


def refusal_of(abort: GatewayAbort) -> PaddleFlowError:
    """PaddleFlow's error for a servicer's gRPC status, with the servicer's words."""
    code = ERRORS.get(abort.code, INTERNAL_ERROR)
    for detail in abort.status_details:
        info = ResourceInfo()
        if detail.Unpack(info):
            if abort.code is grpc.StatusCode.NOT_FOUND:
                code = NOT_FOUND_CODES.get(info.resource_type, code)
            elif abort.code is grpc.StatusCode.ALREADY_EXISTS:
                code = DUPLICATE_CODES.get(info.resource_type, code)
    return PaddleFlowError(code, abort.details)


# --- who is calling ------------------------------------------------------------------


class TokenVerifier(Protocol):
    """Recognises a kind of token of its own (the users branch adds PaddleFlow's signed
    login tokens): the caller it names, None for a token it does not recognise, or
    PaddleFlowError(AUTH_INVALID_TOKEN, why) for one of its own it refuses (expired)."""

    def __call__(self, token: str) -> Principal | None: ...


@dataclass
class PaddleFlowAuthenticator:
    """Resolves the caller of a PaddleFlow path from `x-pf-authorization`: each verifier
    in turn, then dagwire's own Authenticator (the token file, the TLS client
    certificate), as the gRPC port resolves a `token`."""

    authenticator: Authenticator
    verifiers: list[TokenVerifier] = field(default_factory=list)

    def add_verifier(self, verifier: TokenVerifier) -> None:
        self.verifiers.append(verifier)

    def authenticate(self, http: web.Request) -> Principal:
        tokens = http.headers.getall(AUTH_HEADER, [])
        if len(tokens) > 1:
            raise PaddleFlowError(AUTH_INVALID_TOKEN, f"send exactly one {AUTH_HEADER} header")
        for verifier in self.verifiers if tokens else ():
            principal = verifier(tokens[0])
            if principal is not None:
                return principal
        if self.authenticator.tokens is not None and not tokens:
            raise PaddleFlowError(
                AUTH_WITHOUT_TOKEN, f"Request should login first: no {AUTH_HEADER} header"
            )
        metadata = [(TOKEN_KEY, token) for token in tokens]
        try:
            return self.authenticator.authenticate(metadata, _auth_context(http))
        except Unauthenticated as why:
            raise PaddleFlowError(AUTH_INVALID_TOKEN, f"Invalid token: {why}") from None
        except PermissionDenied as why:
            raise PaddleFlowError(ACCESS_DENIED, str(why)) from None


# --- one call --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """A handler's answer: its JSON body (None: no body) and HTTP status."""

    body: Any = None
    status: int = 200


@dataclass(frozen=True, slots=True)
class Call:
    """One request on a PaddleFlow path, its caller admitted."""

    http: web.Request
    context: GatewayContext
    principal: Principal
    request_id: str

    async def body(self) -> dict[str, Any]:
        """The JSON object the request carries (an empty body is an empty object)."""
        raw = await self.http.read()
        if not raw.strip():
            return {}
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise PaddleFlowError(MALFORMED_JSON, f"the body is not JSON: {error}") from None
        if not isinstance(document, dict):
            raise PaddleFlowError(MALFORMED_JSON, "the body is not a JSON object")
        return document

    def path(self, name: str) -> str:
        return self.http.match_info[name]

    def query(self, name: str, default: str = "") -> str:
        return self.http.query.get(name, default)


Handler = Callable[[Call], Awaitable[Answer | dict[str, Any] | None]]


# --- paging (PaddleFlow's marker / maxKeys) ----------------------------------------------

# PaddleFlow's list handlers: maxKeys defaults to 50 and is at most 1000
# (pkg/apiserver/router/util: DefaultMaxKeys, ListPageMax).
DEFAULT_MAX_KEYS = 50
MAX_MAX_KEYS = 1000


@dataclass(frozen=True, slots=True)
class Page:
    """A page asked for: `marker` is the dagwire page token of the previous answer's
    `nextMarker` (opaque to the caller, as PaddleFlow's encrypted markers are)."""

    marker: str
    max_keys: int

    def request(self) -> dict[str, Any]:
        """The page fields of a dagwire List request."""
        return {"page_size": self.max_keys, "page_token": self.marker}

    def answer(self, next_token: str, **lists: Any) -> dict[str, Any]:
        """A PaddleFlow list answer: the lists and the paging fields."""
        return {
            "marker": self.marker,
            "isTruncated": bool(next_token),
            "nextMarker": next_token,
            **lists,
        }


def page_of(call: Call) -> Page:
    raw = call.query("maxKeys", str(DEFAULT_MAX_KEYS))
    try:
        max_keys = int(raw)
    except ValueError:
        raise PaddleFlowError(INVALID_ARGUMENTS, f"maxKeys[{raw}] is invalid") from None
    if not 0 < max_keys <= MAX_MAX_KEYS:
        raise PaddleFlowError(
            INVALID_ARGUMENTS, f"maxKeys[{raw}] is invalid: between 1 and {MAX_MAX_KEYS}"
        )
    return Page(call.query("marker"), max_keys)


# --- the API a resource module builds on -------------------------------------------------


@dataclass(frozen=True)
class PaddleFlowApi:
    """What resource modules use: the gRPC services (by short name, e.g.
    "WorkflowService", "QueueService"), the caller's authentication, and `route` to
    make an aiohttp route of a handler with PaddleFlow's request id, authentication,
    errors and metrics."""

    services: Mapping[str, GatewayService]
    authenticator: PaddleFlowAuthenticator
    metrics: ServerMetrics

    def route(
        self, method: str, path: str, handler: Handler, *, public: bool = False
    ) -> web.RouteDef:
        """`path` below /api/paddleflow/v1 (e.g. "/run/{runID}"). A `public` handler
        (login) runs without a caller: it gets the operator-less Call with no admission."""
        name = getattr(handler, "__name__", "handler")

        async def handle(http: web.Request) -> web.StreamResponse:
            return await self._handle(http, handler, name, public)

        return web.route(method, PREFIX + path, handle)

    async def call(
        self, call: Call, service: str, rpc: str, request: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Call `service`.`rpc` with `request` (protobuf JSON mapping) as the gRPC
        server would, and answer its response likewise (snake_case names, every field
        present). A gRPC status becomes PaddleFlowError."""
        gateway_service = self.services[service]
        method = gateway_service.descriptor.methods_by_name[rpc]
        message = GetMessageClass(method.input_type)()
        try:
            json_format.ParseDict(dict(request), message)
        except json_format.ParseError as error:
            raise PaddleFlowError(INVALID_ARGUMENTS, str(error)) from None
        try:
            response = await getattr(gateway_service.servicer, rpc)(message, call.context)
        except GatewayAbort as abort:
            raise refusal_of(abort) from None
        document: dict[str, Any] = json_format.MessageToDict(
            response, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        return document

    async def _handle(
        self, http: web.Request, handler: Handler, name: str, public: bool
    ) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = request_id_of(
            (REQUEST_ID_KEY, v) for v in http.headers.getall(REQUEST_ID_HEADER, [])
        )
        bind_request_id(request_id)
        outcome = "OK"
        try:
            principal = _ANONYMOUS if public else self.authenticator.authenticate(http)
            if not public:
                admit(principal)
                structlog.contextvars.bind_contextvars(caller=principal.name)
            metadata = [(REQUEST_ID_KEY, request_id)]
            context = GatewayContext(metadata, http.remote or "", _auth_context(http))
            answer = await handler(Call(http, context, principal, request_id))
            if not isinstance(answer, Answer):
                answer = Answer(answer)
            return _json(answer.body, answer.status, request_id)
        except PaddleFlowError as error:
            outcome = error.code
            return _json(error.body(request_id), error.http_status, request_id)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("unexpected error on a PaddleFlow path", path=http.path)
            outcome = INTERNAL_ERROR
            internal = PaddleFlowError(INTERNAL_ERROR, "unexpected server error")
            return _json(internal.body(request_id), 500, request_id)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.observe_rpc(
                f"/paddleflow.v1/{name}", transport="http", code=outcome, seconds=seconds
            )


# A public path's caller: nobody identified, never admitted to a servicer.
_ANONYMOUS = Principal(domain="", name="anonymous")


def _json(document: Any, status: int, request_id: str) -> web.Response:
    body = b"" if document is None else dumps(document)
    return web.Response(
        body=body,
        status=status,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            REQUEST_ID_HEADER: request_id,
        },
    )


def pf_time(stamp: str) -> str:
    """A protobuf JSON timestamp ("2026-12-05T12:00:00.123Z") as PaddleFlow writes
    times ("2026-12-05 12:00:00"); empty stays empty."""
    if not stamp:
        return ""
    return stamp.replace("T", " ").replace("Z", "").split(".")[0]


def names(values: Sequence[str] | str) -> list[str]:
    """PaddleFlow's comma-separated filter values (`a,b,c`) as a list, blanks dropped."""
    parts = values.split(",") if isinstance(values, str) else list(values)
    return [part.strip() for part in parts if part.strip()]


def filter_text(terms: Mapping[str, str]) -> str:
    """dagwire's listing filter (`key="value" AND ...`) from PaddleFlow's filter query
    parameters, each `key` -> its comma-separated values. dagwire's filters take one
    value per key (no OR): a list of several is refused, saying so."""
    parts: list[str] = []
    for key, raw in terms.items():
        values = names(raw)
        if len(values) > 1:
            raise PaddleFlowError(
                INVALID_ARGUMENTS,
                f"dagwire filters by one {key} at a time; {raw!r} names {len(values)}",
            )
        if values:
            escaped = values[0].replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'{key}="{escaped}"')
    return " AND ".join(parts)


def spec_of(
    body: Mapping[str, Any], raw_key: str, path_key: str, yaml_field: str, path_field: str
) -> dict[str, str]:
    """The request fields for the spec a PaddleFlow body gives: the YAML base64-encoded
    in `raw_key` (-> `yaml_field`), else its path in the body's file system in
    `path_key` (-> `path_field`, read by the server)."""
    raw = text(body, raw_key)
    if raw:
        try:
            return {yaml_field: base64.b64decode(raw, validate=True).decode()}
        except (binascii.Error, UnicodeDecodeError):
            raise PaddleFlowError(
                INVALID_ARGUMENTS, f"{raw_key} is not base64-encoded UTF-8 YAML"
            ) from None
    if text(body, path_key):
        return {path_field: text(body, path_key)}
    raise PaddleFlowError(INVALID_ARGUMENTS, f"{raw_key} or {path_key} is required")


# --- typed body fields: a field of the wrong JSON type is PaddleFlow's MalformedJSON, as
# its routers answer a body Go's json.Unmarshal cannot bind. -----------------------------


def _wrong(key: str, kind: str) -> PaddleFlowError:
    return PaddleFlowError(MALFORMED_JSON, f"{key} is {kind}")


def text(body: Mapping[str, Any], key: str) -> str:
    """A string field ("" when absent or null)."""
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _wrong(key, "a string")
    return value


def number(body: Mapping[str, Any], key: str) -> int:
    """An integer field (0 when absent or null)."""
    value = body.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(key, "an integer")
    return value


def flag(body: Mapping[str, Any], key: str, default: bool = False) -> bool:
    """A boolean field (`default` when absent or null)."""
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _wrong(key, "true or false")
    return value


def obj(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    """An object field ({} when absent or null)."""
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _wrong(key, "an object")
    return value
