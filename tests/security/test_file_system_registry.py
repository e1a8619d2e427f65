"""A registered file system belongs to its creator's domain: another domain's answers
exactly as a missing one, the same name is free in each domain, a tenant cannot open a
host folder (`local://`), and a run finds only its own domain's file system by name."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.security.sandboxing import (
    ALICE,
    BOB,
    OPS,
    run_to_end,
    server_config,
    token_file,
    workflows,
)

__all__ = ["server_config", "token_file", "workflows"]  # fixtures

pytestmark = pytest.mark.usefixtures("dagwire_server")


async def _code(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value.code()


async def test_another_domains_file_system_answers_as_a_missing_one(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    lake = rr.CreateFileSystemRequest(name="lake", url="s3://alice-data/raw")
    await workflows.CreateFileSystem(lake, metadata=ALICE)
    get = rr.GetFileSystemRequest(name="lake")
    for call in (
        workflows.GetFileSystem(get, metadata=BOB),
        workflows.DeleteFileSystem(rr.DeleteFileSystemRequest(name="lake"), metadata=BOB),
        workflows.GetFileSystem(rr.GetFileSystemRequest(name="nothing"), metadata=BOB),
    ):
        assert await _code(call) is grpc.StatusCode.NOT_FOUND
    assert not (
        await workflows.ListFileSystems(rr.ListFileSystemsRequest(), metadata=BOB)
    ).file_systems
    # The same name is free in bob's domain, and each sees its own.
    bobs = rr.CreateFileSystemRequest(name="lake", url="s3://bob-data")
    await workflows.CreateFileSystem(bobs, metadata=BOB)
    assert (await workflows.GetFileSystem(get, metadata=ALICE)).file_system.url == lake.url
    assert (await workflows.GetFileSystem(get, metadata=BOB)).file_system.url == bobs.url
    await workflows.DeleteFileSystem(rr.DeleteFileSystemRequest(name="lake"), metadata=ALICE)
    assert (await workflows.GetFileSystem(get, metadata=BOB)).file_system.url == bobs.url


async def test_only_an_operator_registers_a_host_folder(
    workflows: rpc.WorkflowServiceStub, dagwire_server: ServerThread, tmp_path: Path
) -> None:
    request = rr.CreateFileSystemRequest(name="host", url="local:///etc")
    assert await _code(workflows.CreateFileSystem(request, metadata=ALICE)) is (
        grpc.StatusCode.PERMISSION_DENIED
    )
    data = dagwire_server.config.data_dir
    inside = rr.CreateFileSystemRequest(name="store", url=f"local://{data}/x")
    assert await _code(workflows.CreateFileSystem(inside, metadata=OPS)) is (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    folder = tmp_path / "shared"
    ok = rr.CreateFileSystemRequest(name="host", url=f"local://{folder}")
    await workflows.CreateFileSystem(ok, metadata=OPS)


async def test_a_run_uses_its_own_domains_file_system_of_that_name(
    workflows: rpc.WorkflowServiceStub, dagwire_server: ServerThread, tmp_path: Path
) -> None:
    # The operator registers `shelf` as a host folder: alice's `shelf` is still hers
    # (the server-managed <fs dir>/alice/shelf), never the operator's folder.
    folder = tmp_path / "operator-shelf"
    folder.mkdir()
    (folder / "secret").write_text("operator-secret\n")
    await workflows.CreateFileSystem(
        rr.CreateFileSystemRequest(name="shelf", url=f"local://{folder}"), metadata=OPS
    )
    spec = (
        "name: probe\nfs_options: {main_fs: {name: shelf}}\n"
        "entry_points:\n  p: {command: 'pwd > here; cat secret > got 2>&1; true'}\n"
    )
    run = await run_to_end(workflows, spec, ALICE)
    assert run.status == enums.RUN_STATUS_SUCCEEDED, run.run_msg
    mine = dagwire_server.config.file_systems_dir / "alice" / "shelf"
    assert (mine / "here").read_text().strip() == str(mine)
    assert "operator-secret" not in (mine / "got").read_text()
    assert not (folder / "here").exists()
