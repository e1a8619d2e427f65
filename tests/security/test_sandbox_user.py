"""With --sandbox-user (a server running as root), steps run as that unprivileged user:
root's files stay closed to them, and the process limit holds (Linux exempts root from
it). Their own directory and outputs are handed to that user, so a pipeline still runs
end to end."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pwd
from pathlib import Path

import pytest

from dagwire.server.config import ServerConfig
from dagwire.server.executors.sandbox import Limits
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import assert_eventually
from tests.security.sandboxing import one_step, run_to_end, step_log, token_file, workflows
from tests.security.sandboxing import server_config as sandboxed_config

__all__ = ["sandboxed_config", "token_file", "workflows"]  # fixtures

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
NOBODY = pwd.getpwnam("nobody")
MAX_PROCESSES = 12


@pytest.fixture
def server_config(sandboxed_config: ServerConfig) -> ServerConfig:
    return dataclasses.replace(
        sandboxed_config,
        sandbox_user="nobody",
        sandbox_limits=Limits(processes=MAX_PROCESSES),
        # pytest's folders are root's (0700): unshared, the sandbox makes its own way to
        # the data dir in its private /tmp.
        sandbox_shared=(),
    )


async def probe(workflows: rpc.WorkflowServiceStub, command: str) -> tuple[int, str]:
    run = await run_to_end(workflows, one_step(command))
    return run.status, await step_log(workflows, run.run_id, "probe")


async def test_the_step_runs_as_the_sandbox_user_without_capabilities(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    status, output = await probe(workflows, "id -u; id -g; grep CapEff /proc/self/status")
    assert status == enums.RUN_STATUS_SUCCEEDED
    assert output.split() == [str(NOBODY.pw_uid), str(NOBODY.pw_gid), "CapEff:", "0" * 16]


async def test_roots_files_stay_closed(workflows: rpc.WorkflowServiceStub) -> None:
    status, output = await probe(workflows, "cat /etc/shadow")
    assert status == enums.RUN_STATUS_FAILED
    assert "Permission denied" in output


async def test_the_process_limit_holds(workflows: rpc.WorkflowServiceStub) -> None:
    spawn = f"i=0; while [ $i -lt {MAX_PROCESSES * 2} ]; do sleep 1 & i=$((i+1)); done; wait"
    _, output = await probe(workflows, spawn)
    assert "fork" in output.lower()
    # The limit counts every process of the user on this host: let them end before the
    # next test.
    await assert_eventually(lambda: processes_of(NOBODY.pw_uid), lambda pids: not pids)


async def processes_of(uid: int) -> list[str]:
    return await asyncio.to_thread(
        lambda: [p.name for p in Path("/proc").iterdir() if p.name.isdigit() and owned_by(p, uid)]
    )


def owned_by(path: Path, uid: int) -> bool:
    try:
        return path.stat().st_uid == uid
    except OSError:
        return False


async def test_a_pipeline_writes_and_reads_its_artifacts(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    text = (
        "name: handover\nentry_points:\n"
        '  make: {command: "echo data > {{out}} && echo own > own", '
        "artifacts: {output: [out]}}\n"
        '  use: {command: "cat {{inp}}", deps: make, '
        'artifacts: {input: {inp: "{{make.out}}"}}}\n'
    )
    run = await run_to_end(workflows, text)
    assert run.status == enums.RUN_STATUS_SUCCEEDED
    assert await step_log(workflows, run.run_id, "use") == "data\n"
