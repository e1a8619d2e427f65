"""PaddleFlow's error body on dagwire: `{"requestID", "code", "message"}` with the HTTP
status PaddleFlow gives the code (pkg/apiserver/common/errors.go errorHTTPStatus,
ErrorResponse; the header names in pkg/apiserver/common/consts.go)."""

from __future__ import annotations

import pytest

from tests.paddleflow_rest.conftest import PaddleFlow

pytestmark = pytest.mark.timeout(60)


async def test_a_refused_token_is_paddleflows_auth_invalid_token(root: PaddleFlow) -> None:
    # client/paddleflow/run/run_api.py show_run: GET /run/{id} with the login header.
    reply = await root.as_("not-a-token").request(
        "GET", "/run/run-00000001", headers={"x-pf-request-id": "req-1"}
    )

    assert reply.status == 400
    assert reply.body["code"] == "AuthInvalidToken"
    assert reply.body["requestID"] == "req-1"
    assert reply.headers["x-pf-request-id"] == "req-1"
    assert reply.body["message"]


async def test_a_request_without_a_token_is_paddleflows_auth_without_token(
    root: PaddleFlow,
) -> None:
    reply = await root.as_(None).request("GET", "/run/run-00000001")

    assert reply.status == 400
    assert reply.body["code"] == "AuthWithoutToken"


async def test_a_missing_run_is_paddleflows_run_not_found(alice: PaddleFlow) -> None:
    reply = await alice.request("GET", "/run/run-00000001")

    assert reply.status == 404
    assert reply.body["code"] == "RunNotFound"
    assert "run-00000001" in reply.body["message"]
    assert reply.body["requestID"] == reply.headers["x-pf-request-id"]


async def test_version_answers_paddleflows_build_info_fields(alice: PaddleFlow) -> None:
    # client/paddleflow/version/version_api.py get_version: GET /version, no `message`.
    reply = await alice.request("GET", "/version")

    assert reply.status == 200
    assert "message" not in reply.body
    assert {"gitVersion", "gitCommit", "buildDate", "platform"} <= set(reply.body)


def test_every_code_the_tables_give_has_paddleflows_http_status() -> None:
    # pkg/apiserver/common/errors.go errorHTTPStatus: a code without a status would
    # answer 0 there; here it would be a 500.
    from dagwire.server.gateway.paddleflow import common

    given = {*common.ERRORS.values(), *common.NOT_FOUND_CODES.values()}
    given |= set(common.DUPLICATE_CODES.values())
    assert given <= set(common.HTTP_STATUS)


async def test_a_body_that_is_not_json_is_paddleflows_malformed_json(alice: PaddleFlow) -> None:
    broken = await alice.session.post(
        "/api/paddleflow/v1/run",
        data=b"{not json",
        headers={"x-pf-authorization": alice.token or ""},
    )

    assert broken.status == 400
    assert (await broken.json())["code"] == "MalformedJSON"


async def test_a_field_of_the_wrong_type_is_paddleflows_malformed_json(alice: PaddleFlow) -> None:
    # add_run sends parameters as an object; a list cannot bind to it.
    reply = await alice.request("POST", "/run", json_body={"runYamlRaw": "", "parameters": [1]})

    assert reply.status == 400
    assert reply.body["code"] == "MalformedJSON"
    assert "parameters" in reply.body["message"]
