"""Who may run free `command:` steps: the operator's domains (--command-domains, the
token file's command_domains) and operators; everyone else gets PERMISSION_DENIED naming
the rule, on CreateRun, CreatePipeline and UpdatePipeline, over gRPC and HTTP alike.
Registered app images stay open to every tenant."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import grpc
import pytest

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.security.sandboxing import (
    ALICE,
    BOB,
    BOB_TOKEN,
    CAROL,
    OPS,
    http,
    http_post,
    one_step,
    run_to_end,
    server_config,
    token_file,
    workflows,
)

__all__ = ["http", "server_config", "token_file", "workflows"]  # fixtures

pytestmark = pytest.mark.usefixtures("dagwire_server")


def steal_tokens(token_file: str) -> str:
    return one_step(f"id; cat {token_file}")


async def test_bobs_command_run_is_refused_naming_the_rule(
    workflows: rpc.WorkflowServiceStub, token_file: Path
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await workflows.CreateRun(
            rr.CreateRunRequest(run_yaml=steal_tokens(str(token_file))), metadata=BOB
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    message = refused.value.details() or ""
    assert "domain 'bob' may not run free command steps (probe)" in message
    assert "--command-domains" in message


async def test_bobs_command_run_is_refused_over_http(
    http: aiohttp.ClientSession, token_file: Path
) -> None:
    status, body = await http_post(
        http,
        "/api/v1/workflow/run/create",
        {"run_yaml": steal_tokens(str(token_file))},
        BOB_TOKEN,
    )
    assert status == 403
    assert "--command-domains" in body["message"]


async def test_bobs_command_pipeline_is_refused(workflows: rpc.WorkflowServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await workflows.CreatePipeline(
            rr.CreatePipelineRequest(pipeline_yaml=one_step("id")), metadata=BOB
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_bob_cannot_add_a_command_version_to_a_pipeline(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    images_only = "name: probe\nentry_points:\n  probe: {app_image: dagwire-sleep}\n"
    created = await workflows.CreatePipeline(
        rr.CreatePipelineRequest(pipeline_yaml=images_only), metadata=BOB
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await workflows.UpdatePipeline(
            rr.UpdatePipelineRequest(
                pipeline_id=created.pipeline.pipeline_id, pipeline_yaml=one_step("id")
            ),
            metadata=BOB,
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_bob_cannot_run_the_operators_command_pipeline(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # The operator's pipeline belongs to no tenant: to bob it does not exist (tenancy),
    # so its command steps are out of his reach before the command rule is even asked.
    created = await workflows.CreatePipeline(
        rr.CreatePipelineRequest(pipeline_yaml=one_step("true")), metadata=OPS
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await workflows.CreateRun(
            rr.CreateRunRequest(pipeline_id=created.pipeline.pipeline_id), metadata=BOB
        )
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


async def test_bobs_app_image_steps_run(workflows: rpc.WorkflowServiceStub) -> None:
    images_only = "name: images\nentry_points:\n  a: {app_image: dagwire-sleep}\n"
    run = await run_to_end(workflows, images_only, BOB)
    assert run.status == enums.RUN_STATUS_SUCCEEDED


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param(ALICE, id="alice-by-command-domains-flag"),
        pytest.param(CAROL, id="carol-by-token-file"),
        pytest.param(OPS, id="operator"),
    ],
)
async def test_allowed_callers_run_commands(
    workflows: rpc.WorkflowServiceStub, metadata: tuple[tuple[str, str], ...]
) -> None:
    run = await run_to_end(workflows, one_step("true"), metadata)
    assert run.status == enums.RUN_STATUS_SUCCEEDED


async def test_bob_cannot_schedule_runs_of_the_operators_command_pipeline(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    created = await workflows.CreatePipeline(
        rr.CreatePipelineRequest(pipeline_yaml=one_step("true")), metadata=OPS
    )
    request = rr.CreateScheduleRequest(
        name="nightly", pipeline_id=created.pipeline.pipeline_id, crontab="0 3 * * *"
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await workflows.CreateSchedule(request, metadata=BOB)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND  # as above: not his to see
