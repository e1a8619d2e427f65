"""In-band Kuscia statuses and gRPC failures become precise exceptions."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2

from dagwire.client import (
    ERROR_CLASSES,
    AuthError,
    DagwireError,
    IllegalStateError,
    InvalidRequestError,
    JobAlreadyExistsError,
    JobNotFoundError,
    KusciaError,
    RPCError,
    WaitTimeoutError,
    WatchExpiredError,
)
from dagwire.client._errors import error_from_rpc, error_from_status
from dagwire.kuscia.v1alpha1 import common_pb2


def _status(code: int, reason: str = "", domain: str = "dagwire.io") -> common_pb2.Status:
    status = common_pb2.Status(code=code, message="it went wrong")
    if reason:
        packed = any_pb2.Any()
        packed.Pack(
            error_details_pb2.ErrorInfo(reason=reason, domain=domain, metadata={"job_id": "j"})
        )
        status.details.append(packed)
    return status


@pytest.mark.parametrize(
    ("reason", "code", "expected"),
    [
        pytest.param("INVALID_REQUEST", 11100, InvalidRequestError, id="invalid-request"),
        pytest.param("JOB_ALREADY_EXISTS", 11201, JobAlreadyExistsError, id="already-exists"),
        pytest.param("JOB_NOT_FOUND", 11202, JobNotFoundError, id="not-found-on-query"),
        pytest.param("JOB_NOT_FOUND", 11205, JobNotFoundError, id="not-found-on-stop"),
        pytest.param("ILLEGAL_STATE", 11210, IllegalStateError, id="suspend-not-running"),
        pytest.param("ILLEGAL_STATE", 11206, IllegalStateError, id="approve-not-awaiting"),
        pytest.param("AUTH_FAILED", 11102, AuthError, id="auth"),
        pytest.param("INTERNAL", 11101, KusciaError, id="internal"),
    ],
)
def test_error_info_reason_picks_the_exception_class(
    reason: str, code: int, expected: type[KusciaError]
) -> None:
    error = error_from_status(_status(code, reason))
    assert type(error) is expected
    assert (error.code, error.reason, error.message) == (code, reason, "it went wrong")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param(11100, InvalidRequestError, id="11100-invalid"),
        pytest.param(11101, KusciaError, id="11101-unexpected"),
        pytest.param(11102, AuthError, id="11102-auth"),
        pytest.param(11201, KusciaError, id="11201-create"),
        pytest.param(11202, JobNotFoundError, id="11202-query"),
        pytest.param(11203, JobNotFoundError, id="11203-batch-query"),
        pytest.param(11204, JobNotFoundError, id="11204-delete"),
        pytest.param(11205, KusciaError, id="11205-stop"),
        pytest.param(11206, KusciaError, id="11206-approve"),
        pytest.param(11207, KusciaError, id="11207-suspend"),
        pytest.param(11208, KusciaError, id="11208-restart"),
        pytest.param(11209, KusciaError, id="11209-cancel"),
        pytest.param(11210, IllegalStateError, id="11210-suspend-not-running"),
        pytest.param(11211, IllegalStateError, id="11211-restart-not-stopped"),
        pytest.param(12345, KusciaError, id="unknown-code"),
    ],
)
def test_code_picks_the_class_when_there_is_no_error_info(
    code: int, expected: type[KusciaError]
) -> None:
    error = error_from_status(_status(code))
    assert type(error) is expected
    assert error.reason == ""


def test_error_info_of_another_domain_is_ignored() -> None:
    error = error_from_status(_status(11202, "SOMETHING_ELSE", domain="example.com"))
    assert type(error) is JobNotFoundError
    assert error.reason == ""


def test_error_info_metadata_is_kept() -> None:
    assert error_from_status(_status(11202, "JOB_NOT_FOUND")).metadata == {"job_id": "j"}


def test_message_and_code_appear_in_the_error_text() -> None:
    assert str(error_from_status(_status(11100))) == "it went wrong (code 11100)"


def test_duplicate_job_is_also_an_invalid_request_as_kuscia_reports_it() -> None:
    assert issubclass(JobAlreadyExistsError, InvalidRequestError)


def test_every_table_entry_is_a_kuscia_error() -> None:
    assert all(issubclass(cls, KusciaError) for cls in ERROR_CLASSES.values())


@pytest.mark.parametrize(
    "cls",
    [RPCError, WatchExpiredError, KusciaError, JobNotFoundError, AuthError, WaitTimeoutError],
)
def test_every_sdk_error_derives_from_dagwire_error(cls: type[Exception]) -> None:
    assert issubclass(cls, DagwireError)


def test_wait_timeout_is_also_a_builtin_timeout_error() -> None:
    assert issubclass(WaitTimeoutError, TimeoutError)


class _FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_transport_failure_becomes_rpc_error_with_status_and_details() -> None:
    error = error_from_rpc(_FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connection refused"))
    assert type(error) is RPCError
    assert (error.status, error.details) == (grpc.StatusCode.UNAVAILABLE, "connection refused")


def test_out_of_range_becomes_watch_expired_error() -> None:
    error = error_from_rpc(_FakeRpcError(grpc.StatusCode.OUT_OF_RANGE, "too old"))
    assert isinstance(error, WatchExpiredError)
    assert isinstance(error, RPCError)
