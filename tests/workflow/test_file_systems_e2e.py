"""The file-system registry over gRPC: CreateFileSystem / Get / List / Delete, and runs
using a registered file system by name in fs_options: a `local://` host folder (an
operator's), and an S3-compatible prefix (a real server on loopback) synced into the
step's folder before it runs and back after."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.workflow.conftest import (
    field_violations,
    run_status,
    run_yaml,
    step_statuses,
    wait_finished,
)
from tests.workflow.s3_server import SECRET_KEY, S3Server, s3_server

__all__ = ["s3_server"]  # fixture

LOCAL_RUN = """
name: on-local
fs_options: {main_fs: {name: shelf, sub_path: books}}
entry_points:
  write: {command: "pwd > where.txt && cat ../seed.txt > copy.txt"}
"""


async def test_a_registered_local_fs_is_the_steps_folder(
    workflows: rpc.WorkflowServiceStub, tmp_path: Path
) -> None:
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    (shelf / "seed.txt").write_text("seed\n")
    created = await workflows.CreateFileSystem(
        rr.CreateFileSystemRequest(name="shelf", url=f"local://{shelf}")
    )
    assert created.file_system.url == f"local://{shelf}"
    done = await wait_finished(workflows, (await run_yaml(workflows, LOCAL_RUN)).run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert (shelf / "books" / "where.txt").read_text().strip() == str(shelf / "books")
    assert (shelf / "books" / "copy.txt").read_text() == "seed\n"


async def test_file_systems_are_created_listed_shown_and_deleted(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    properties = {"endpoint": "http://127.0.0.1:9", "accessKey": "AK", "secretKey": "SK"}
    await workflows.CreateFileSystem(
        rr.CreateFileSystemRequest(name="lake", url="s3://bucket-a/raw", properties=properties)
    )
    shown = (await workflows.GetFileSystem(rr.GetFileSystemRequest(name="lake"))).file_system
    assert dict(shown.properties) == {
        "endpoint": "http://127.0.0.1:9",
        "access_key": "AK",
        "secret_key": "******",
    }
    assert shown.create_time.seconds > 0
    with pytest.raises(grpc.aio.AioRpcError) as taken:
        await workflows.CreateFileSystem(rr.CreateFileSystemRequest(name="lake", url="s3://b-b"))
    assert taken.value.code() is grpc.StatusCode.ALREADY_EXISTS
    await workflows.CreateFileSystem(rr.CreateFileSystemRequest(name="attic", url="s3://b-c"))
    listed = await workflows.ListFileSystems(rr.ListFileSystemsRequest())
    assert [fs.name for fs in listed.file_systems] == ["attic", "lake"]
    await workflows.DeleteFileSystem(rr.DeleteFileSystemRequest(name="lake"))
    for call in (
        workflows.GetFileSystem(rr.GetFileSystemRequest(name="lake")),
        workflows.DeleteFileSystem(rr.DeleteFileSystemRequest(name="lake")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await call
        assert missing.value.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("name", "url", "properties", "field"),
    [
        ("bad name", "s3://bucket-a", {}, "name"),
        ("ok", "ftp://host/x", {}, "url"),
        ("ok", "local://relative", {}, "url"),
        ("ok", "local:///a/../b", {}, "url"),
        ("ok", "s3://A_B", {}, "url"),
        ("ok", "s3://bucket-a", {"endpoint": "file:///etc"}, "properties.endpoint"),
    ],
    ids=["name", "scheme", "relative", "dotdot", "bucket", "endpoint"],
)
async def test_a_file_system_that_cannot_work_is_refused_saying_where(
    workflows: rpc.WorkflowServiceStub,
    name: str,
    url: str,
    properties: dict[str, str],
    field: str,
) -> None:
    request = rr.CreateFileSystemRequest(name=name, url=url, properties=properties)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.CreateFileSystem(request)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


S3_RUN = """
name: on-s3
fs_options: {main_fs: {name: lake}}
entry_points:
  clean:
    command: "bash tools/clean.sh"
  after:
    deps: clean
    command: "test -s data/total.txt && test ! -e data/old.txt && echo seen > seen.txt"
"""

CLEAN = """#!/bin/bash
# clean.sh: sums data/numbers.txt into data/total.txt and drops data/old.txt.
set -e
awk '{ s += $1 } END { print s }' data/numbers.txt > data/total.txt
rm data/old.txt
"""


async def test_an_s3_prefix_is_synced_into_the_step_and_back(
    workflows: rpc.WorkflowServiceStub, s3_server: S3Server
) -> None:
    s3 = s3_server.client()
    s3.create_bucket(Bucket="runs-data")
    s3.put_object(Bucket="runs-data", Key="team/tools/clean.sh", Body=CLEAN.encode())
    s3.put_object(Bucket="runs-data", Key="team/data/numbers.txt", Body=b"3\n4\n5\n")
    s3.put_object(Bucket="runs-data", Key="team/data/old.txt", Body=b"stale\n")
    s3.put_object(Bucket="runs-data", Key="other/untouched.txt", Body=b"x\n")
    created = await workflows.CreateFileSystem(
        rr.CreateFileSystemRequest(
            name="lake", url="s3://runs-data/team", properties=s3_server.properties()
        )
    )
    assert SECRET_KEY not in str(created)
    done = await wait_finished(workflows, (await run_yaml(workflows, S3_RUN)).run_id, timeout=60)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(["clean", "after"], "STEP_STATUS_SUCCEEDED")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="runs-data")["Contents"]}
    assert keys == {
        "team/tools/clean.sh",
        "team/data/numbers.txt",
        "team/data/total.txt",
        "team/seen.txt",
        "other/untouched.txt",
    }
    total = s3.get_object(Bucket="runs-data", Key="team/data/total.txt")["Body"].read()
    assert total.decode().strip() == "12"


async def test_an_unreachable_s3_fs_fails_the_step_saying_why(
    workflows: rpc.WorkflowServiceStub, s3_server: S3Server
) -> None:
    await workflows.CreateFileSystem(
        rr.CreateFileSystemRequest(
            name="lake", url="s3://no-such-bucket/x", properties=s3_server.properties()
        )
    )
    done = await wait_finished(workflows, (await run_yaml(workflows, S3_RUN)).run_id, timeout=60)
    assert run_status(done) == "RUN_STATUS_FAILED"
    clean = next(step for step in done.steps if step.name == "clean")
    assert "file system" in clean.message and "no-such-bucket" in clean.message, clean.message


GATED = """
name: gated
entry_points:
  first: {command: "while [ ! -e %(flag)s ]; do sleep 0.05; done"}
  second:
    deps: first
    command: "echo second > second.txt"
    extra_fs: [{name: shelf}]
"""


async def test_a_step_whose_registered_fs_was_deleted_fails_saying_so(
    workflows: rpc.WorkflowServiceStub, tmp_path: Path
) -> None:
    shelf, flag = tmp_path / "shelf", tmp_path / "go"
    await workflows.CreateFileSystem(
        rr.CreateFileSystemRequest(name="shelf", url=f"local://{shelf}")
    )
    run = await run_yaml(workflows, GATED % {"flag": flag})
    await workflows.DeleteFileSystem(rr.DeleteFileSystemRequest(name="shelf"))
    flag.write_text("")
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_FAILED"
    second = next(step for step in done.steps if step.name == "second")
    assert "'shelf' was registered when the run was created and is gone" in second.message
    assert not (shelf / "second.txt").exists()
