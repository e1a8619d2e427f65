"""A logged-in user's resources are its domain's: alice, logged in, cannot see bob's
pipeline over gRPC nor over the HTTP gateway with PaddleFlow's `x-pf-authorization`
header (pkg/apiserver/common/consts.go names it; client/paddleflow/client.py login sends
it), and her answer about it is the answer about a missing pipeline."""

from __future__ import annotations

import aiohttp
import grpc
import pytest

from dagwire.v1 import user_request_response_pb2 as ur
from dagwire.v1 import user_service_pb2_grpc as urpc
from dagwire.v1 import workflow_request_response_pb2 as wr
from dagwire.v1 import workflow_service_pb2_grpc as wrpc
from tests.users.conftest import OPS, bearer, login

PIPELINE = "name: secret\nentry_points:\n  make: {command: 'true'}\n"


@pytest.fixture
async def tokens(users: urpc.UserServiceStub) -> dict[str, str]:
    for name in ("alice", "bobby"):
        await users.AddUser(ur.AddUserRequest(username=name, password=f"{name}pass1"), metadata=OPS)
    return {name: await login(users, name, f"{name}pass1") for name in ("alice", "bobby")}


@pytest.fixture
async def bobs_pipeline(channel: grpc.aio.Channel, tokens: dict[str, str]) -> str:
    workflows = wrpc.WorkflowServiceStub(channel)
    created = await workflows.CreatePipeline(
        wr.CreatePipelineRequest(pipeline_yaml=PIPELINE), metadata=bearer(tokens["bobby"])
    )
    return created.pipeline.pipeline_id


async def _refusal(workflows: wrpc.WorkflowServiceStub, pipeline_id: str, token: str) -> tuple:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await workflows.GetPipeline(
            wr.GetPipelineRequest(pipeline_id=pipeline_id), metadata=bearer(token)
        )
    return refused.value.code(), (refused.value.details() or "").replace(pipeline_id, "X")


async def test_alice_cannot_see_bobs_pipeline_over_grpc(
    channel: grpc.aio.Channel, tokens: dict[str, str], bobs_pipeline: str
) -> None:
    workflows = wrpc.WorkflowServiceStub(channel)
    found = await workflows.GetPipeline(
        wr.GetPipelineRequest(pipeline_id=bobs_pipeline), metadata=bearer(tokens["bobby"])
    )
    assert found.pipeline.username == "bobby"
    foreign = await _refusal(workflows, bobs_pipeline, tokens["alice"])
    missing = await _refusal(workflows, "ppl-00000000", tokens["alice"])
    assert foreign == missing and foreign[0] == grpc.StatusCode.NOT_FOUND
    listed = await workflows.ListPipelines(
        wr.ListPipelinesRequest(), metadata=bearer(tokens["alice"])
    )
    assert list(listed.pipelines) == []


async def test_alice_cannot_see_bobs_pipeline_over_http_with_x_pf_authorization(
    http: aiohttp.ClientSession, tokens: dict[str, str], bobs_pipeline: str
) -> None:
    async def get(token: str, pipeline_id: str) -> tuple[int, str]:
        async with http.post(
            "/api/v1/workflow/pipeline/get",
            json={"pipeline_id": pipeline_id},
            headers={"x-pf-authorization": token},
        ) as reply:
            return reply.status, (await reply.text()).replace(pipeline_id, "X")

    assert (await get(tokens["bobby"], bobs_pipeline))[0] == 200
    foreign = await get(tokens["alice"], bobs_pipeline)
    assert foreign == await get(tokens["alice"], "ppl-00000000")
    assert foreign[0] == 404
