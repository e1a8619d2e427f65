"""What a gRPC status becomes over HTTP for services without an in-band status: the
details a servicer put in `grpc-status-details-bin`, in grpc-gateway's JSON."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.any_pb2 import Any as AnyProto
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from dagwire.server.api.job_service import kuscia_rejection
from dagwire.server.api.registration import UnaryRejection
from dagwire.server.auth.interceptor import Authenticator
from dagwire.server.gateway.context import STATUS_DETAILS_KEY, GatewayAbort, GatewayContext
from dagwire.server.gateway.http import GatewayService, HttpGateway
from dagwire.server.gateway.routes import RouteTable
from dagwire.server.observability.metrics import ServerMetrics
from dagwire.v1 import workflow_service_pb2


def packed(*details: Message) -> list[AnyProto]:
    wrapped = []
    for detail in details:
        item = AnyProto()
        item.Pack(detail)
        wrapped.append(item)
    return wrapped


async def abort_of(status: status_pb2.Status) -> GatewayAbort:
    grpc_status = rpc_status.to_status(status)
    context = GatewayContext((), "", {})
    with pytest.raises(GatewayAbort) as caught:
        await context.abort(grpc_status.code, grpc_status.details, grpc_status.trailing_metadata)
    return caught.value


async def test_the_status_details_become_the_bodys_details_in_protojson() -> None:
    violation = error_details_pb2.BadRequest.FieldViolation(field="run_yaml", description="bad")
    status = status_pb2.Status(
        code=3,
        message="run_yaml: bad",
        details=packed(
            error_details_pb2.ErrorInfo(reason="INVALID_ARGUMENT", domain="dagwire.io"),
            error_details_pb2.BadRequest(field_violations=[violation]),
        ),
    )
    abort = await abort_of(status)
    assert (abort.code, abort.http_status) == (grpc.StatusCode.INVALID_ARGUMENT, 400)
    body = abort.as_json()
    assert (body["code"], body["message"]) == (3, "run_yaml: bad")
    info, bad = body["details"]
    assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert info["reason"] == "INVALID_ARGUMENT"
    assert bad["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    (only,) = bad["fieldViolations"]
    assert (only["field"], only["description"]) == ("run_yaml", "bad")


async def test_a_detail_of_an_unknown_type_keeps_its_type_url_and_bytes() -> None:
    unknown = AnyProto(type_url="type.googleapis.com/acme.Nope", value=b"\x08\x01")
    abort = await abort_of(status_pb2.Status(code=5, message="gone", details=[unknown]))
    assert abort.as_json()["details"] == [
        {"@type": "type.googleapis.com/acme.Nope", "value": "CAE="}
    ]


async def test_an_abort_without_details_or_with_garbage_has_none() -> None:
    context = GatewayContext((), "", {})
    for trailing in ((), ((STATUS_DETAILS_KEY, b"\xff\xff"),)):
        with pytest.raises(GatewayAbort) as caught:
            await context.abort(grpc.StatusCode.NOT_FOUND, "gone", trailing)
        assert caught.value.as_json() == {"code": 5, "message": "gone", "details": []}


@pytest.mark.parametrize(
    ("in_band", "reject_unary"),
    [
        pytest.param(True, None, id="in-band-table"),
        pytest.param(False, kuscia_rejection, id="status-table"),
    ],
)
def test_a_table_must_agree_with_its_service_on_in_band_errors(
    in_band: bool, reject_unary: UnaryRejection | None
) -> None:
    descriptor = workflow_service_pb2.DESCRIPTOR.services_by_name["WorkflowService"]
    table = RouteTable(descriptor.full_name, "/x/", {"get": "GetRun"}, in_band=in_band)
    service = GatewayService(descriptor, object(), reject_unary)
    with pytest.raises(ValueError, match="in_band"):
        HttpGateway(
            services=[service],
            authenticator=Authenticator(),
            metrics=ServerMetrics(),
            max_body_bytes=1024,
            tables=[table],
        )
