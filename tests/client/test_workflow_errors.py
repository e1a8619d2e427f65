"""WorkflowService errors are gRPC statuses with google.rpc details; the SDK raises the class
the status picks and surfaces the details: field violations, ErrorInfo, ResourceInfo."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2

from dagwire.client import (
    RPC_ERROR_CLASSES,
    AlreadyExistsError,
    AsyncDagwireClient,
    DagwireClient,
    DagwireError,
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    RPCError,
    WatchExpiredError,
)
from dagwire.client._errors import error_from_rpc
from tests.client.scripted_workflow import (
    ScriptedWorkflowService,
    bad_spec_status,
    rich_status,
    scripted_workflow_server,
)


@pytest.fixture
def service() -> Iterator[ScriptedWorkflowService]:
    with scripted_workflow_server() as service:
        yield service


@pytest.fixture
def client(service: ScriptedWorkflowService) -> Iterator[DagwireClient]:
    with DagwireClient(target=service.address, timeout=5) as client:
        yield client


class FakeCall(grpc.RpcError):
    """What a failed call raises: code, details and trailing metadata."""

    def __init__(self, code: grpc.StatusCode, details: str, trailers: tuple = ()) -> None:  # type: ignore[type-arg]
        self._code, self._details, self._trailers = code, details, trailers

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple:  # type: ignore[type-arg]
        return self._trailers


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param(grpc.StatusCode.INVALID_ARGUMENT, InvalidArgumentError, id="invalid"),
        pytest.param(grpc.StatusCode.NOT_FOUND, NotFoundError, id="not-found"),
        pytest.param(grpc.StatusCode.ALREADY_EXISTS, AlreadyExistsError, id="exists"),
        pytest.param(grpc.StatusCode.FAILED_PRECONDITION, FailedPreconditionError, id="state"),
        pytest.param(grpc.StatusCode.OUT_OF_RANGE, WatchExpiredError, id="out-of-range"),
        pytest.param(grpc.StatusCode.UNAVAILABLE, RPCError, id="unavailable"),
        pytest.param(grpc.StatusCode.INTERNAL, RPCError, id="internal"),
    ],
)
def test_the_status_code_picks_the_class(code: grpc.StatusCode, expected: type[RPCError]) -> None:
    error = error_from_rpc(FakeCall(code, "it went wrong"))
    assert type(error) is expected
    assert isinstance(error, RPCError) and isinstance(error, DagwireError)
    assert (error.status, error.details, error.field_violations) == (code, "it went wrong", ())
    assert RPC_ERROR_CLASSES.get(code, RPCError) is expected


def test_field_violations_error_info_and_resource_come_from_the_trailer() -> None:
    status = rich_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        "bad",
        error_details_pb2.ErrorInfo(reason="INVALID_ARGUMENT", metadata={"k": "v"}),
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field="a.b", description="no")
            ]
        ),
        error_details_pb2.ResourceInfo(resource_type="pipeline", resource_name="ppl-1"),
    )
    trailers = (("grpc-status-details-bin", status.SerializeToString()),)
    error = error_from_rpc(FakeCall(grpc.StatusCode.INVALID_ARGUMENT, "bad", trailers))
    assert isinstance(error, InvalidArgumentError)
    assert error.field_violations == (FieldViolation("a.b", "no"),)
    assert (error.reason, dict(error.metadata)) == ("INVALID_ARGUMENT", {"k": "v"})
    assert (error.resource_type, error.resource_name) == ("pipeline", "ppl-1")


def test_unreadable_details_are_ignored() -> None:
    trailers = (("grpc-status-details-bin", b"\xff\x00garbage"),)
    error = error_from_rpc(FakeCall(grpc.StatusCode.NOT_FOUND, "gone", trailers))
    assert isinstance(error, NotFoundError) and error.reason == ""


def test_a_bad_spec_surfaces_every_field_violation_through_a_real_channel(
    service: ScriptedWorkflowService, client: DagwireClient
) -> None:
    service.error = bad_spec_status()
    with pytest.raises(InvalidArgumentError) as caught:
        client.create_pipeline("name: x")
    assert [(v.field, v.description) for v in caught.value.field_violations] == [
        ("entry_points.b.deps", "unknown step 'x'; steps: a, b"),
        ("parameters.epochs", "must be an int"),
    ]
    assert caught.value.reason == "INVALID_ARGUMENT"
    assert str(caught.value).startswith("INVALID_ARGUMENT: entry_points.b.deps")


def test_not_found_names_the_resource(client: DagwireClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_run("run-nope")
    assert (caught.value.resource_type, caught.value.resource_name) == ("run", "run-nope")


async def test_the_async_client_raises_the_same(service: ScriptedWorkflowService) -> None:
    service.error = bad_spec_status()
    async with AsyncDagwireClient(target=service.address, timeout=5) as client:
        with pytest.raises(InvalidArgumentError) as caught:
            await client.create_pipeline("name: x")
        assert len(caught.value.field_violations) == 2
        service.error = None
        with pytest.raises(NotFoundError):
            await client.get_run("run-nope")


def test_workflow_calls_carry_the_token_and_metadata(service: ScriptedWorkflowService) -> None:
    with DagwireClient(
        target=service.address, token="s3cret", metadata={"x-request-id": "r1"}
    ) as c:
        c.create_pipeline("name: diamond")
    assert service.metadata[0]["token"] == "s3cret"
    assert service.metadata[0]["x-request-id"] == "r1"
