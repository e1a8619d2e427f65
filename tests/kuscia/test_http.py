"""Kuscia's HTTP layer (secretflow/kuscia pkg/web/decorator/proto_decorator.go,
binder/json_proto_binder.go, render/; pkg/kusciaapi/bean/http_server_bean.go; and
docs/reference/apis/summary_cn.md): answers parsed with Kuscia's own messages."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.kuscia.conftest import create_request, doc_body, sleeping_body
from tests.kuscia.kuscia_client import KusciaProtos

JSON = {"Content-Type": "application/json"}
PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def approval_domains() -> frozenset[str]:
    return frozenset({"alice"})


async def post(http: aiohttp.ClientSession, path: str, body: Any) -> tuple[int, str]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.post(f"/api/v1/job/{path}", data=data, headers=JSON) as response:
        return response.status, await response.text()


async def test_an_error_body_parses_strictly_as_kuscias_response(
    http: aiohttp.ClientSession, kuscia_protos: KusciaProtos
) -> None:
    # pkg/web/utils/response_status.go BuildErrorResponseStatus; summary_cn.md Status.
    status, text = await post(http, "query", {"job_id": "ghost"})
    assert status == 200
    response = kuscia_protos.parse(text, "QueryJobResponse")
    assert response.status.code == 11202  # type: ignore[attr-defined]
    assert json.loads(text)["status"]["details"] == []


async def test_malformed_json_answers_11101(
    http: aiohttp.ClientSession, kuscia_protos: KusciaProtos
) -> None:
    # proto_decorator.go ProtoDecorator: getProtoRequest fails -> UnexpectedErrorHandler,
    # which http_server_bean.go protoDecorator sets to ErrorCode_KusciaAPIErrForUnexpected.
    status, text = await post(http, "create", b'{"job_id": ')
    assert status == 200
    response = kuscia_protos.parse(text, "CreateJobResponse")
    assert response.status.code == 11101  # type: ignore[attr-defined]


async def test_unknown_fields_are_discarded(
    http: aiohttp.ClientSession, kuscia_protos: KusciaProtos
) -> None:
    # binder/json_proto_binder.go: protojson.UnmarshalOptions{DiscardUnknown: true}.
    body = sleeping_body("unknown-fields", 0) | {"not_a_kuscia_field": {"x": 1}}
    body["tasks"][0]["also_unknown"] = True
    status, text = await post(http, "create", body)
    response = kuscia_protos.parse(text, "CreateJobResponse")
    assert (status, response.status.code) == (200, 0), text  # type: ignore[attr-defined]


async def test_approve_with_the_documented_header_field_is_accepted(
    http: aiohttp.ClientSession, kuscia_protos: KusciaProtos
) -> None:
    # kusciajob_cn.md ApproveJob request table lists `header` (RequestHeader), which
    # ApproveJobRequest lacks; DiscardUnknown drops it.
    assert (await post(http, "create", sleeping_body("approve-header", 0)))[0] == 200
    body = {
        "header": {"custom_headers": {"k": "v"}},
        "job_id": "approve-header",
        "result": "APPROVE_RESULT_ACCEPT",
    }
    status, text = await post(http, "approve", body)
    response = kuscia_protos.parse(text, "ApproveJobResponse")
    assert (status, response.status.code) == (200, 0), text  # type: ignore[attr-defined]


async def test_a_protobuf_body_gets_a_protobuf_answer(
    http: aiohttp.ClientSession, kuscia_protos: KusciaProtos
) -> None:
    # summary_cn.md: with `Content-Type: application/x-protobuf` the request and the
    # answer are in the protobuf encoding; proto_decorator.go renderResponse.
    request = create_request(kuscia_protos, doc_body("binary-body"))
    async with http.post(
        "/api/v1/job/create", data=request.SerializeToString(), headers=PROTOBUF
    ) as reply:
        assert reply.headers["Content-Type"] == "application/x-protobuf"
        answer = kuscia_protos.response_type("CreateJob").FromString(await reply.read())
    assert (answer.status.code, answer.data.job_id) == (0, "binary-body")  # type: ignore[attr-defined]


async def test_an_undecodable_protobuf_body_answers_11101_in_protobuf(
    http: aiohttp.ClientSession, kuscia_protos: KusciaProtos
) -> None:
    async with http.post("/api/v1/job/query", data=b"\xff\xff\xff", headers=PROTOBUF) as reply:
        answer = kuscia_protos.response_type("QueryJob").FromString(await reply.read())
    assert answer.status.code == 11101  # type: ignore[attr-defined]
    assert list(answer.status.details) == []  # type: ignore[attr-defined]


async def test_unset_message_fields_print_as_null(
    http: aiohttp.ClientSession, kuscia_protos: KusciaProtos
) -> None:
    # proto_decorator.go: protojson.MarshalOptions{EmitUnpopulated: true}; the QueryJob
    # example of kusciajob_cn.md shows `"schedule_config": null`.
    assert (await post(http, "create", sleeping_body("nulls", 0)))[0] == 200
    _, text = await post(http, "query", {"job_id": "nulls"})
    task = json.loads(text)["data"]["tasks"][0]
    assert task["schedule_config"] is None
    assert [party["resources"] for party in task["parties"]] == [None, None]
    _, missing = await post(http, "query", {"job_id": "ghost"})
    assert json.loads(missing)["data"] is None
    # Still Kuscia's message; the published stubs predate bandwidth limits and
    # schedule_config, which their client passes over as unknown.
    kuscia_protos.parse(text, "QueryJobResponse", ignore_unknown=True)
