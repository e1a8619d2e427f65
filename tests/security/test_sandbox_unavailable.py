"""Where no sandbox works, tenants' free command steps are refused with the reason,
unless the operator started the server with --unsandboxed; operators' own steps and
registered app images still run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc
import pytest

from dagwire.server.config import ServerConfig
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.security.sandboxing import (
    ALICE,
    OPS,
    one_step,
    run_to_end,
    step_log,
    token_file,
    workflows,
)
from tests.security.sandboxing import server_config as sandboxed_config

__all__ = ["sandboxed_config", "token_file", "workflows"]  # fixtures


@pytest.fixture
def unsandboxed() -> bool:
    return False


@pytest.fixture
def server_config(
    sandboxed_config: ServerConfig, tmp_path: Path, unsandboxed: bool
) -> ServerConfig:
    return dataclasses.replace(
        sandboxed_config, bwrap=str(tmp_path / "no-bwrap-here"), unsandboxed=unsandboxed
    )


async def test_an_allowed_tenants_command_is_refused_naming_the_missing_sandbox(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await workflows.CreateRun(rr.CreateRunRequest(run_yaml=one_step("id")), metadata=ALICE)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    message = refused.value.details() or ""
    assert "no working sandbox (bubblewrap)" in message and "--unsandboxed" in message


async def test_the_operators_own_command_still_runs(workflows: rpc.WorkflowServiceStub) -> None:
    run = await run_to_end(workflows, one_step("true"), OPS)
    assert run.status == enums.RUN_STATUS_SUCCEEDED


@pytest.mark.parametrize("unsandboxed", [True])
async def test_with_unsandboxed_the_tenants_command_runs_bare_on_the_host(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    run = await run_to_end(workflows, one_step("hostname"), ALICE)
    assert run.status == enums.RUN_STATUS_SUCCEEDED
    assert (await step_log(workflows, run.run_id, "probe")).strip() != "dagwire-sandbox"
