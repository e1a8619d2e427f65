"""A step of a domain allowed to run commands runs sandboxed: it cannot read the token
file or the store, writes nothing outside its own directory, has no network, lives in its
own pid and uts namespaces, and runs under the configured limits."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread, assert_eventually
from tests.security.sandboxing import (
    ALICE_TOKEN,
    LIMITS,
    PYTHON,
    http,
    http_post,
    loopback_listener,
    one_step,
    run_to_end,
    server_config,
    step_log,
    token_file,
    workflows,
)

__all__ = ["http", "loopback_listener", "server_config", "token_file", "workflows"]  # fixtures
FINISHED_NAMES = ("RUN_STATUS_SUCCEEDED", "RUN_STATUS_FAILED", "RUN_STATUS_TERMINATED")


@pytest.fixture
def data_dir(dagwire_server: ServerThread) -> Path:
    return dagwire_server.config.data_dir


async def probe(workflows: rpc.WorkflowServiceStub, command: str) -> tuple[int, str]:
    """Run `command` as alice's step; its run status and its output."""
    run = await run_to_end(workflows, one_step(command))
    return run.status, await step_log(workflows, run.run_id, "probe")


async def test_the_token_file_is_unreadable(
    workflows: rpc.WorkflowServiceStub, token_file: Path
) -> None:
    status, output = await probe(workflows, f"cat {token_file}")
    assert status == enums.RUN_STATUS_FAILED
    assert "alice-" not in output and "ops-" not in output


async def test_the_data_dir_and_its_store_are_invisible(
    workflows: rpc.WorkflowServiceStub, data_dir: Path
) -> None:
    assert (data_dir / "dagwire.db").exists()
    status, output = await probe(workflows, f"ls -A {data_dir}")
    assert status == enums.RUN_STATUS_SUCCEEDED
    # Only the folders leading to the step's own directories, no store.
    assert output.split() == ["artifacts", "tasks"]


async def test_writes_outside_the_task_directory_leave_nothing_on_the_host(
    workflows: rpc.WorkflowServiceStub, data_dir: Path
) -> None:
    marker = f"escape-{uuid.uuid4().hex}"
    command = (
        f"echo x > /tmp/{marker}; echo x > {data_dir}/{marker}; "
        f"echo x > {Path.cwd()}/{marker}; echo x > own-{marker}"
    )
    status, _ = await probe(workflows, command)
    assert status == enums.RUN_STATUS_SUCCEEDED  # the last write, into its own folder
    assert host_paths(data_dir, marker) == [f"own-{marker}"]


def host_paths(data_dir: Path, marker: str) -> list[str]:
    """The files the step's writes left on the host: the one in its own folder only."""
    escaped = [Path("/tmp") / marker, data_dir / marker, Path.cwd() / marker]
    return [str(p) for p in escaped if p.exists()] + [
        p.name for p in (data_dir / "tasks").rglob(f"own-{marker}")
    ]


async def test_there_is_no_network(
    workflows: rpc.WorkflowServiceStub, loopback_listener: tuple[int, list[str]]
) -> None:
    port, connected = loopback_listener
    connect = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
    status, output = await probe(workflows, f'{PYTHON} -c "{connect}"')
    assert status == enums.RUN_STATUS_FAILED
    assert "Network is unreachable" in output or "refused" in output
    assert connected == []


async def test_it_runs_in_its_own_pid_and_uts_namespaces(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    status, output = await probe(
        workflows, f"echo $$; hostname; test -e /proc/{os.getpid()} && echo server-visible; true"
    )
    assert status == enums.RUN_STATUS_SUCCEEDED
    pid, hostname = output.split()
    assert int(pid) <= 3  # bwrap's init is 1, the step's shell right after it
    assert hostname == "dagwire-sandbox"


async def test_the_configured_limits_apply(workflows: rpc.WorkflowServiceStub) -> None:
    status, output = await probe(workflows, "cat /proc/self/limits")
    assert status == enums.RUN_STATUS_SUCCEEDED
    limits = {line[:26].strip(): line[26:].split()[0] for line in output.splitlines()[1:]}
    assert limits["Max processes"] == str(LIMITS.processes)
    assert limits["Max address space"] == str(LIMITS.memory_bytes)
    assert limits["Max cpu time"] == str(LIMITS.cpu_seconds)
    assert limits["Max file size"] == str(LIMITS.file_bytes)


async def test_a_file_larger_than_the_limit_cannot_be_written(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    size = LIMITS.file_bytes * 2
    status, _ = await probe(workflows, f"head -c {size} /dev/zero > big")
    assert status == enums.RUN_STATUS_FAILED


async def test_it_holds_no_capabilities(workflows: rpc.WorkflowServiceStub) -> None:
    status, output = await probe(workflows, "grep CapEff /proc/self/status")
    assert status == enums.RUN_STATUS_SUCCEEDED
    assert output.split() == ["CapEff:", "0000000000000000"]


async def test_over_http_too_the_step_cannot_read_the_token_file(
    http: aiohttp.ClientSession, token_file: Path
) -> None:
    workflow = "/api/v1/workflow/"
    status, created = await http_post(
        http, workflow + "run/create", {"run_yaml": one_step(f"cat {token_file}")}, ALICE_TOKEN
    )
    assert status == 200, created
    run_id = created["run"]["run_id"]

    async def run() -> dict[str, Any]:
        _, answer = await http_post(http, workflow + "run/get", {"run_id": run_id}, ALICE_TOKEN)
        found: dict[str, Any] = answer["run"]
        return found

    done = await assert_eventually(run, lambda r: r["status"] in FINISHED_NAMES, timeout=30)
    assert done["status"] == "RUN_STATUS_FAILED"
    _, logs = await http_post(
        http, workflow + "log/get", {"run_id": run_id, "step_name": "probe"}, ALICE_TOKEN
    )
    output = logs["logs"][0].get("log_content", "")
    assert "No such file" in output or "Permission denied" in output
    assert "alice-" not in output and "ops-" not in output
