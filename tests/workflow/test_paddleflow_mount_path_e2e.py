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
