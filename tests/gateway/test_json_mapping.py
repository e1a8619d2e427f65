"""The protobuf JSON mapping at the gateway: both spellings of field names, unknown
fields dropped and precise in-band answers (11101, HTTP 200) for bodies that are not the
request, as Kuscia's HTTP layer does (secretflow/kuscia pkg/web/decorator/
proto_decorator.go and binder/json_proto_binder.go)."""

from __future__ import annotations

import json

from tests.gateway.conftest import SUCCESS, Gateway, kuscia_create_body

JOB = "job-alice-bob-001"


async def test_lower_camel_case_field_names_are_accepted(gateway: Gateway) -> None:
    body = {
        "jobId": JOB,
        "initiator": "alice",
        "maxParallelism": 2,
        "tasks": [
            {
                "appImage": "dagwire-sleep",
                "taskId": "only",
                "alias": "only",
                "parties": [{"domainId": "alice", "role": "partner"}],
                "taskInputConfig": json.dumps({"sleep_seconds": 0}),
            }
        ],
    }
    reply = await gateway.post("/api/v1/job/create", body)
    assert reply.body == {"status": SUCCESS, "data": {"job_id": JOB}}


async def test_answers_use_the_proto_field_names(gateway: Gateway) -> None:
    await gateway.create(kuscia_create_body())
    reply = await gateway.post("/api/v1/job/query", {"jobId": JOB})
    assert "max_parallelism" in reply.body["data"]
    assert "maxParallelism" not in reply.body["data"]


async def test_an_unknown_field_is_discarded_as_kuscia_does(gateway: Gateway) -> None:
    await gateway.create(kuscia_create_body())
    reply = await gateway.post("/api/v1/job/query", {"job_id": JOB, "no_such_field": 1})
    assert reply.body["status"] == SUCCESS
    assert reply.body["data"]["job_id"] == JOB


async def test_malformed_json_is_rejected_in_band_with_11101(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/create", data=b'{"job_id": ')
    assert reply.status == 200
    assert reply.body["status"]["code"] == 11101
    assert reply.body["status"]["message"].startswith(
        "the request body is not a valid CreateJobRequest in JSON"
    )


async def test_a_value_of_the_wrong_type_is_rejected_naming_the_field(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/create", {"job_id": JOB, "max_parallelism": "two"})
    assert reply.body["status"]["code"] == 11101
    assert "max_parallelism" in reply.body["status"]["message"]


async def test_a_body_that_is_not_utf8_is_rejected_in_band(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/query", data=b'{"job_id": "\xff"}')
    assert reply.body["status"]["code"] == 11101
    assert reply.body["status"]["message"].startswith("the request body is not UTF-8 text")


async def test_a_caller_asking_with_the_header_gets_the_error_info(gateway: Gateway) -> None:
    reply = await gateway.post(
        "/api/v1/job/query", {"job_id": "ghost"}, headers={"dagwire-error-info": "1"}
    )
    [detail] = reply.body["status"]["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert detail["reason"] == "JOB_NOT_FOUND"


async def test_the_rejection_has_empty_details_as_kuscia_sends(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/query", data=b"[]")
    assert reply.body["status"]["code"] == 11101
    assert reply.body["status"]["details"] == []


async def test_an_empty_body_is_an_empty_request(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/query", data=b"")
    assert reply.body["status"]["code"] == 11100
    assert reply.body["status"]["message"] == "job_id is required"


async def test_an_unknown_job_gets_the_operation_code(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/query", {"job_id": "nope"})
    assert reply.status == 200
    assert reply.body["status"]["code"] == 11202


async def test_a_get_is_not_allowed(gateway: Gateway) -> None:
    async with gateway.session.get("/api/v1/job/query") as response:
        assert response.status == 405


async def test_every_answer_names_its_request_id(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/query", {"job_id": JOB})
    assert len(reply.headers["X-Request-Id"]) == 32


async def test_the_callers_request_id_is_sent_back(gateway: Gateway) -> None:
    reply = await gateway.post(
        "/api/v1/job/query", {"job_id": JOB}, headers={"X-Request-Id": "trace-42"}
    )
    assert reply.headers["X-Request-Id"] == "trace-42"


async def test_a_body_over_the_message_size_limit_is_a_413(gateway: Gateway) -> None:
    # The gRPC port's limit (8 MiB); a bigger body is not even read.
    too_big = b'{"job_id": "' + b"x" * (8 << 20) + b'"}'
    async with gateway.session.post("/api/v1/job/query", data=too_big) as response:
        assert response.status == 413
