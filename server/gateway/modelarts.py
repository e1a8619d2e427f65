"""ModelArts' step-execution actions on the HTTP gateway, backed by StepExecutionService:

    POST /v2/{project_id}/workflows/{workflow_id}/executions/{execution_id}
         /step-executions/{step_execution_id}/actions
    {"action_name": "retry" | "stop" | "continue", "parameters": [...], "data_requirements": [...]}

answers 201 with the StepExecution in ModelArts' field names, and a refusal as ModelArts
does: an HTTP status and `{"error_code": "ModelArts.XXXX", "error_msg": ...}`.

`project_id` is the caller's domain (an unbound operator may name any), `workflow_id` the
run's pipeline id (the run's own id for a run from a raw YAML spec), `execution_id` the
run id and `step_execution_id` the step's uuid. The caller's token comes in ModelArts'
header `X-Auth-Token` (or dagwire's `Token`); requests signed with AK/SK, as Huawei's
SDKs sign them, are verified when the operator configured keys (see aksk.py).

The handler calls the same servicer the gRPC server runs, with the caller admitted the
same way, and reads the servicer's gRPC status (code and google.rpc details) to choose
ModelArts' error: the table ERRORS below.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
import structlog
from aiohttp import web
from google.rpc.error_details_pb2 import ResourceInfo

from dagwire.server.api.modelarts_actions import (
    BodyInvalid,
    ModelArtsStepActions,
    WorkflowMismatch,
)
from dagwire.server.auth.errors import Unauthenticated
from dagwire.server.auth.interceptor import TOKEN_KEY, Authenticator
from dagwire.server.auth.principal import Principal, admit
from dagwire.server.gateway.aksk import AccessKeys, SignatureRefused, SignedRequest
from dagwire.server.gateway.codec import dumps
from dagwire.server.gateway.context import GatewayAbort, GatewayContext
from dagwire.server.gateway.http import _auth_context
from dagwire.server.observability.context import REQUEST_ID_KEY, bind_request_id, request_id_of
from dagwire.server.observability.metrics import ServerMetrics

log = structlog.get_logger(__name__)

ACTIONS_PATH = (
    "/v2/{project_id}/workflows/{workflow_id}/executions/{execution_id}"
    "/step-executions/{step_execution_id}/actions"
)
AUTH_TOKEN_HEADERS = ("X-Auth-Token", "Token")
REQUEST_ID_HEADER = "X-Request-Id"
METHOD = "/dagwire.v1.StepExecutionService/ActOnStepExecution"


@dataclass(frozen=True, slots=True)
class ModelArtsError(Exception):
    """A refusal in ModelArts' shape."""

    http_status: int
    error_code: str
    error_msg: str

    def body(self) -> dict[str, str]:
        return {"error_code": self.error_code, "error_msg": self.error_msg}


# Where each code comes from. Huawei's error-code table: ModelArts.0104 "Parameter error"
# (HTTP 400). Huawei's terraform provider's not-found lists: ModelArts.7511 "The workflow
# execution does not exist", ModelArts.7512 "The workflow does not exist"; ModelArts
# answers them with HTTP 400 ("Workflow <id> not found"). APIG.0301 "Incorrect IAM
# authentication information: ..." (401) is the API gateway's refusal of a missing or bad
# token or signature. ModelArts.0203 is ModelArts' "invalid token", used here for a token
# of another project. No separate code for a missing step execution or for an action its
# status does not allow was found in Huawei's documents: those are 7511 (the step
# execution is part of the execution) and 0104 (action_name is invalid for the status).
INVALID = "ModelArts.0104"
EXECUTION_NOT_FOUND = "ModelArts.7511"
WORKFLOW_NOT_FOUND = "ModelArts.7512"
WRONG_PROJECT = "ModelArts.0203"
NOT_AUTHENTICATED = "APIGW.0301"
INTERNAL = "ModelArts.0001"

# gRPC code of the servicer's status -> (HTTP status, ModelArts code).
ERRORS: Mapping[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, INVALID),
    grpc.StatusCode.FAILED_PRECONDITION: (400, INVALID),
    grpc.StatusCode.NOT_FOUND: (400, EXECUTION_NOT_FOUND),
    grpc.StatusCode.UNAUTHENTICATED: (401, NOT_AUTHENTICATED),
    grpc.StatusCode.PERMISSION_DENIED: (403, WRONG_PROJECT),
}


# The HTTP status of a refusal -> the gRPC code its call is counted under in the metrics,
# as the gateway's other paths count theirs.
CODE_OF_STATUS: Mapping[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    500: grpc.StatusCode.INTERNAL,
}


def _refusal(abort: GatewayAbort) -> ModelArtsError:
    status, code = ERRORS.get(abort.code, (500, INTERNAL))
    return ModelArtsError(status, code, _message(abort))


def _message(abort: GatewayAbort) -> str:
    """The servicer's words; a missing resource named as ModelArts names it."""
    if abort.code is not grpc.StatusCode.NOT_FOUND:
        return abort.details
    for detail in abort.status_details:
        info = ResourceInfo()
        if detail.Unpack(info) and info.resource_type in ("run", "step"):
            kind = "Execution" if info.resource_type == "run" else "StepExecution"
            return f"{kind} {info.resource_name.rpartition('/')[2]} not found"
    return abort.details


class ModelArtsGateway:
    """Adds ModelArts' paths to the gateway's application."""

    def __init__(
        self,
        *,
        actions: ModelArtsStepActions,
        authenticator: Authenticator,
        metrics: ServerMetrics,
        access_keys: AccessKeys | None,
    ) -> None:
        self._actions = actions
        self._authenticator = authenticator
        self._metrics = metrics
        self._access_keys = access_keys

    def register(self, app: web.Application) -> None:
        app.router.add_post(ACTIONS_PATH, self._act)

    async def _act(self, http: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = request_id_of(
            (REQUEST_ID_KEY, v) for v in http.headers.getall(REQUEST_ID_HEADER, [])
        )
        bind_request_id(request_id)
        code = grpc.StatusCode.UNKNOWN.name
        try:
            body = await http.read()
            context = await self._admit(http, body, request_id)
            step = await self._call(http.match_info, body, context)
            code = grpc.StatusCode.OK.name
            return _json(step, 201, request_id)
        except ModelArtsError as error:
            code = CODE_OF_STATUS.get(error.http_status, grpc.StatusCode.UNKNOWN).name
            return _json(error.body(), error.http_status, request_id)
        except Exception:
            log.exception("unexpected error on the ModelArts path", path=http.path)
            code = grpc.StatusCode.INTERNAL.name
            internal = ModelArtsError(500, INTERNAL, "unexpected server error")
            return _json(internal.body(), 500, request_id)
        finally:
            seconds = time.perf_counter() - started
            self._metrics.observe_rpc(METHOD, transport="http", code=code, seconds=seconds)

    async def _admit(self, http: web.Request, body: bytes, request_id: str) -> GatewayContext:
        """Verify the signature (when keys are configured) and the token, admit the
        caller, and check that the path's project is its domain."""
        refused = "Incorrect IAM authentication information: "
        if self._access_keys is not None:
            signed = SignedRequest(
                method=http.method,
                path=http.rel_url.raw_path,
                query=tuple(http.rel_url.query.items()),
                headers={k.lower(): v for k, v in http.headers.items()},
                body=body,
            )
            try:
                self._access_keys.verify(signed, datetime.now(UTC))
            except SignatureRefused as why:
                raise ModelArtsError(401, NOT_AUTHENTICATED, refused + str(why)) from None
        tokens = [t for header in AUTH_TOKEN_HEADERS for t in http.headers.getall(header, [])]
        metadata = [(TOKEN_KEY, token) for token in tokens] + [(REQUEST_ID_KEY, request_id)]
        auth_context = _auth_context(http)
        context = GatewayContext(metadata, http.remote or "", auth_context)
        if self._authenticator.requires_token and len(tokens) != 1:
            problem = "x-auth-token not found" if not tokens else "more than one token"
            raise ModelArtsError(401, NOT_AUTHENTICATED, refused + problem)
        try:
            principal = await self._authenticator.authenticate(metadata, auth_context)
        except Unauthenticated as why:
            raise ModelArtsError(401, NOT_AUTHENTICATED, refused + str(why)) from None
        _check_project(principal, http.match_info["project_id"])
        admit(principal)
        return context

    async def _call(
        self, path: Mapping[str, str], body: bytes, context: GatewayContext
    ) -> dict[str, Any]:
        try:
            return await self._actions.act(
                path["workflow_id"],
                path["execution_id"],
                path["step_execution_id"],
                body,
                context,  # type: ignore[arg-type]  # stands in for the gRPC context
            )
        except BodyInvalid as why:
            raise ModelArtsError(400, INVALID, f"Invalid parameter, error: {why}") from None
        except WorkflowMismatch as mismatch:
            raise ModelArtsError(
                400, WORKFLOW_NOT_FOUND, f"Workflow {mismatch} not found"
            ) from None
        except GatewayAbort as abort:
            raise _refusal(abort) from None


def _check_project(principal: Principal, project_id: str) -> None:
    if principal.domain is not None and principal.domain != project_id:
        raise ModelArtsError(
            403,
            WRONG_PROJECT,
            f"Invalid token: it is for project {principal.domain}, not {project_id}",
        )


def _json(document: Mapping[str, Any], status: int, request_id: str) -> web.Response:
    return web.Response(
        body=dumps(document),
        status=status,
        headers={"Content-Type": "application/json; charset=utf-8", REQUEST_ID_HEADER: request_id},
    )
