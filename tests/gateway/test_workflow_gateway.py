"""WorkflowService over the HTTP/JSON gateway: pipelines, runs, logs and watches by
curl's means, and errors as grpc-gateway answers them (the HTTP status of the gRPC code,
a google.rpc.Status body with the details a gRPC client gets)."""

from __future__ import annotations

import contextlib
from typing import NoReturn

import grpc
import pytest

from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.gateway.conftest import Gateway
from tests.gateway.workflows import (
    DEMO,
    WORKFLOW,
    call,
    create_run,
    details_of,
    get_run,
    ndjson,
    violations,
    wait_finished,
)
from tests.workflow.conftest import field_violations

UNKNOWN_DEP = "name: x\nentry_points:\n  a: {command: x, deps: nope}\n"


async def test_a_pipeline_created_from_yaml_runs_to_success_and_its_logs_are_read(
    gateway: Gateway,
) -> None:
    created = await call(gateway, WORKFLOW + "pipeline/create", {"pipeline_yaml": DEMO})
    pipeline_id = created["pipeline"]["pipeline_id"]
    assert created["pipeline"]["name"] == "demo"
    assert created["pipeline_version"]["pipeline_yaml"] == DEMO

    run = (await call(gateway, WORKFLOW + "run/create", {"pipeline_id": pipeline_id}))["run"]
    assert run["pipeline_id"] == pipeline_id
    done = await wait_finished(gateway, run["run_id"])
    assert done["status"] == "RUN_STATUS_SUCCEEDED"
    assert {step["name"]: step["status"] for step in done["steps"]} == {
        "a": "STEP_STATUS_SUCCEEDED",
        "b": "STEP_STATUS_SUCCEEDED",
    }

    listed = await call(gateway, WORKFLOW + "run/list", {})
    assert [r["run_id"] for r in listed["runs"]] == [run["run_id"]]
    logs = await call(gateway, WORKFLOW + "log/get", {"run_id": run["run_id"], "step_name": "b"})
    assert [(log["step_name"], log["log_content"]) for log in logs["logs"]] == [("b", "b\n")]


async def test_a_pipeline_can_be_read_listed_and_deleted(gateway: Gateway) -> None:
    created = await call(gateway, WORKFLOW + "pipeline/create", {"pipeline_yaml": DEMO})
    pipeline_id = created["pipeline"]["pipeline_id"]
    got = await call(gateway, WORKFLOW + "pipeline/get", {"pipeline_id": pipeline_id})
    assert [v["pipeline_version_id"] for v in got["pipeline_versions"]] == ["1"]
    listed = await call(gateway, WORKFLOW + "pipeline/list", {})
    assert [p["pipeline_id"] for p in listed["pipelines"]] == [pipeline_id]
    assert await call(gateway, WORKFLOW + "pipeline/delete", {"pipeline_id": pipeline_id}) == {}
    missing = await gateway.post(WORKFLOW + "pipeline/get", {"pipeline_id": pipeline_id})
    assert missing.status == 404


async def test_a_pipelines_page_token_with_another_filter_is_a_400_naming_page_token(
    gateway: Gateway,
) -> None:
    for name in ("one", "two"):
        await call(
            gateway,
            WORKFLOW + "pipeline/create",
            {"pipeline_yaml": f"name: {name}\nentry_points:\n  a: {{command: echo}}\n"},
        )
    first = await call(gateway, WORKFLOW + "pipeline/list", {"page_size": 1})
    reply = await gateway.post(
        WORKFLOW + "pipeline/list",
        {"page_size": 1, "page_token": first["next_page_token"], "filter": "name=two"},
    )
    assert reply.status == 400
    assert violations(reply.body) == {
        "page_token": "was made for no filter; send that filter with it, or list again without it"
    }


async def test_a_bad_spec_is_a_400_naming_the_field_in_a_bad_request_detail(
    gateway: Gateway,
) -> None:
    reply = await gateway.post(WORKFLOW + "run/create", {"run_yaml": UNKNOWN_DEP})
    assert reply.status == 400
    assert reply.body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "entry_points.a.deps" in violations(reply.body)
    (info,) = details_of(reply.body, "ErrorInfo")
    assert (info["reason"], info["domain"]) == ("INVALID_ARGUMENT", "dagwire.io")
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply.headers["X-Request-Id"]


async def test_http_and_grpc_clients_see_the_same_field_violations(
    gateway: Gateway, channel: grpc.aio.Channel
) -> None:
    reply = await gateway.post(WORKFLOW + "pipeline/create", {"pipeline_yaml": UNKNOWN_DEP})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await rpc.WorkflowServiceStub(channel).CreatePipeline(
            rr.CreatePipelineRequest(pipeline_yaml=UNKNOWN_DEP)
        )
    assert reply.body["message"] == caught.value.details()
    assert violations(reply.body) == field_violations(caught.value)


async def test_an_unknown_run_is_a_404_naming_the_resource(gateway: Gateway) -> None:
    reply = await gateway.post(WORKFLOW + "run/get", {"run_id": "run-nope"})
    assert reply.status == 404
    assert reply.body["code"] == grpc.StatusCode.NOT_FOUND.value[0]
    (resource,) = details_of(reply.body, "ResourceInfo")
    assert (resource["resourceType"], resource["resourceName"]) == ("run", "run-nope")


async def test_a_second_pipeline_of_the_same_name_is_a_409(gateway: Gateway) -> None:
    await call(gateway, WORKFLOW + "pipeline/create", {"pipeline_yaml": DEMO})
    reply = await gateway.post(WORKFLOW + "pipeline/create", {"pipeline_yaml": DEMO})
    assert reply.status == 409
    assert reply.body["code"] == grpc.StatusCode.ALREADY_EXISTS.value[0]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(b'{"run_id": ', "not a valid GetRunRequest", id="bad-json"),
        pytest.param(b'{"run_idd": "x"}', "run_idd", id="unknown-field"),
        pytest.param(b'{"run_id": 7}', "run_id", id="wrong-type"),
    ],
)
async def test_an_undecodable_body_is_invalid_argument(
    gateway: Gateway, data: bytes, words: str
) -> None:
    reply = await gateway.post(WORKFLOW + "run/get", data=data)
    assert reply.status == 400
    assert reply.body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert words in reply.body["message"]
    assert reply.body["details"] == []


async def test_snake_case_and_lower_camel_case_are_both_accepted(gateway: Gateway) -> None:
    by_snake = (await call(gateway, WORKFLOW + "run/create", {"run_yaml": DEMO}))["run"]
    by_camel = (await call(gateway, WORKFLOW + "run/create", {"runYaml": DEMO}))["run"]
    for run in (by_snake, by_camel):
        assert (await get_run(gateway, run["run_id"]))["run_yaml"] == DEMO
    camel = await call(gateway, WORKFLOW + "run/get", {"runId": by_camel["run_id"]})
    assert camel["run"]["run_id"] == by_camel["run_id"]
    failure = {"run_yaml": DEMO, "failureStrategy": "FAILURE_STRATEGY_CONTINUE"}
    run = (await call(gateway, WORKFLOW + "run/create", failure))["run"]
    assert run["failure_strategy"] == "FAILURE_STRATEGY_CONTINUE"


async def test_run_watch_streams_ndjson_events_until_the_run_succeeds(gateway: Gateway) -> None:
    run_id = await create_run(gateway)
    events = ndjson(gateway, WORKFLOW + "run/watch", {"run_ids": [run_id], "timeout_seconds": 20})
    seen: list[str] = []
    async with contextlib.aclosing(events):
        async for event in events:
            assert event["resource_version"].isdigit()  # int64: a string in JSON
            if event["type"] == "EVENT_TYPE_HEARTBEAT":
                continue
            assert event["run"]["run_id"] == run_id
            seen.append(event["run"]["status"])
            if event["run"]["status"] == "RUN_STATUS_SUCCEEDED":
                break
    assert seen[-1] == "RUN_STATUS_SUCCEEDED"


async def test_a_watch_the_servicer_rejects_at_once_gets_an_http_status(
    gateway: Gateway,
) -> None:
    reply = await gateway.post(WORKFLOW + "run/watch", {"timeout_seconds": -1})
    assert reply.status == 400
    assert "timeout_seconds" in violations(reply.body)


async def test_a_run_can_be_stopped_and_deleted(gateway: Gateway) -> None:
    run_id = await create_run(gateway, 'name: slow\nentry_points:\n  a: {command: "sleep 30"}\n')
    stopped = await call(gateway, WORKFLOW + "run/stop", {"run_id": run_id, "force": True})
    assert stopped["run"]["run_id"] == run_id
    done = await wait_finished(gateway, run_id)
    assert done["status"] == "RUN_STATUS_TERMINATED"
    assert await call(gateway, WORKFLOW + "run/delete", {"run_id": run_id}) == {}
    assert (await gateway.post(WORKFLOW + "run/get", {"run_id": run_id})).status == 404


async def test_an_unexpected_error_is_a_500_without_its_text(
    gateway: Gateway, dagwire_server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(*_: object) -> NoReturn:
        raise RuntimeError("SELECT doc FROM pipelines")

    assert dagwire_server.server is not None
    monkeypatch.setattr(dagwire_server.server.workflow_store, "get_pipeline", failing)

    reply = await gateway.post(WORKFLOW + "pipeline/get", {"pipeline_id": "ppl-1"})

    assert reply.status == 500
    assert reply.body["message"] == "unexpected server error in GetPipeline: RuntimeError"


async def test_file_systems_are_registered_and_read_over_http(gateway: Gateway) -> None:
    body = {"name": "lake", "url": "s3://bucket-h/p", "properties": {"secretKey": "hush"}}
    created = await call(gateway, WORKFLOW + "fs/create", body)
    assert created["file_system"]["properties"] == {"secret_key": "******"}
    shown = await call(gateway, WORKFLOW + "fs/get", {"name": "lake"})
    assert shown["file_system"]["url"] == "s3://bucket-h/p"
    listed = await call(gateway, WORKFLOW + "fs/list", {})
    assert [fs["name"] for fs in listed["file_systems"]] == ["lake"]
    await call(gateway, WORKFLOW + "fs/delete", {"name": "lake"})
    missing = await gateway.post(WORKFLOW + "fs/get", {"name": "lake"})
    assert missing.status == 404
