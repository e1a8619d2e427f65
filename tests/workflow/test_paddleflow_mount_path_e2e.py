"""PaddleFlow's mount_path: a step's file systems are bound at their mount_path inside
its sandbox (read-only when asked), and it starts at its main fs's."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.workflow.conftest import (
    field_violations,
    run_status,
    run_yaml,
    step_statuses,
    wait_finished,
)
from tests.workflow.paddleflow import install_ppl, pipeline


@pytest.fixture
def ppl(dagwire_server: ServerThread) -> Path:
    return install_ppl(dagwire_server)


async def test_mounted_fs_sees_its_file_systems_at_their_mount_paths(
    workflows: rpc.WorkflowServiceStub, ppl: Path
) -> None:
    # pipelines/mounted_fs (mirrors the extra_fs {name, mount_path, sub_path, read_only}
    # and `cd /randint && ...` of PaddleFlow's example/pipeline/loop_example, and
    # main_fs's mount_path of docs/zh_cn/reference/pipeline/yaml_definition/3_multiple_fs.md)
    run = await run_yaml(workflows, pipeline("mounted_fs"))
    done = await wait_finished(workflows, run.run_id, timeout=40)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(["stamp", "guard"], "STEP_STATUS_SUCCEEDED")
    area = ppl / "mounted_fs" / "area"  # the main fs's sub_path on the host
    assert (area / "where.txt").read_text().strip() == "/pf/workspace"
    assert (area / "stamp.txt").read_text().strip() == f"{run.run_id} from /pf/tools"
    assert (area / "guard.txt").read_text().strip() == "ok"
    assert not (ppl / "mounted_fs" / "tools" / "written-by-guard").exists()


async def test_many_fs_steps_see_the_global_and_their_own_extra_fs(
    workflows: rpc.WorkflowServiceStub, ppl: Path
) -> None:
    # pipelines/many_fs (mirrors PaddleFlow's example/pipeline/multiple_fs/run.yaml at
    # commit 3ca9ece1 and its earlier example/pipeline/mutil_fs/run.yaml at 6c8cffd0):
    # fs_options.extra_fs reaches every step, a step's own extra_fs only that step, each
    # at its mount_path; the main fs (a sub_path) is where each step starts.
    run = await run_yaml(workflows, pipeline("many_fs"))
    done = await wait_finished(workflows, run.run_id, timeout=40)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    steps = ["on-base", "on-shared", "on-own", "tally"]
    assert step_statuses(done) == dict.fromkeys(steps, "STEP_STATUS_SUCCEEDED")
    tally = (ppl / "many_fs" / "tally" / f"{run.run_id}.txt").read_text().splitlines()
    assert tally == [
        "base fs at /mnt/base/kits/base",
        "shared fs at /mnt/shared",
        "own fs at /mnt/own",
    ]


async def test_a_step_without_its_own_extra_fs_does_not_see_it(
    workflows: rpc.WorkflowServiceStub, ppl: Path
) -> None:
    # many_fs's on-own mount is that step's alone: on-shared, with the global one only,
    # finds nothing at /mnt/own.
    text = pipeline("many_fs").replace(
        'command: "cd /mnt/shared && bash mark.sh"', 'command: "test ! -e /mnt/own/mark.sh"'
    )
    run = await run_yaml(workflows, text)
    done = await wait_finished(workflows, run.run_id, timeout=40)
    assert step_statuses(done)["on-shared"] == "STEP_STATUS_SUCCEEDED", done.run_msg


@pytest.mark.parametrize("mount_path", ["/", "/proc/x", "/a/../etc", "relative"])
async def test_a_mount_path_that_cannot_be_a_mount_point_is_refused(
    workflows: rpc.WorkflowServiceStub, mount_path: str
) -> None:
    text = (
        "name: p\nfs_options:\n"
        f"  main_fs: {{name: ppl, mount_path: '{mount_path}'}}\n"
        "entry_points:\n  a: {command: 'true'}\n"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    assert "fs_options.main_fs.mount_path" in field_violations(caught.value)
