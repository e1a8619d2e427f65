"""Pipelines in PaddleFlow's DSL run on a main file system: each step starts in its root,
so their relative commands (`bash relay_basic/shells/gather.sh`) find the scripts."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.client import AsyncDagwireClient, Resources
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.workflow.conftest import (
    field_violations,
    run_status,
    run_yaml,
    step_statuses,
    wait_finished,
)
from tests.workflow.paddleflow import install_ppl, pipeline, spec_file

SUCCEEDED = "STEP_STATUS_SUCCEEDED"


@pytest.fixture
def ppl(dagwire_server: ServerThread) -> Path:
    return install_ppl(dagwire_server)


async def test_relay_basic_runs_in_the_file_system_named_at_create(
    workflows: rpc.WorkflowServiceStub, ppl: Path
) -> None:
    # pipelines/relay_basic (mirrors PaddleFlow's example/pipeline/base_pipeline): no
    # fs_options, the run names its fs
    run = await run_yaml(workflows, pipeline("relay_basic"), fs_name="ppl")
    done = await wait_finished(workflows, run.run_id, timeout=50)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(["gather", "fit", "check"], SUCCEEDED)
    # gather.sh wrote ./relay_basic/rows/<run>/rows.txt, fit.sh ./weights/<run>/weights.txt
    rows = (ppl / "relay_basic" / "rows" / run.run_id / "rows.txt").read_text()
    assert rows.splitlines() == ["row 1", "row 2", "row 3", "row 4"]
    weights = (ppl / "weights" / run.run_id / "weights.txt").read_text()
    assert weights.splitlines() == ["round 1 weight 4", "round 2 weight 8"]


async def test_relay_artifacts_runs_in_its_main_fs(
    workflows: rpc.WorkflowServiceStub, ppl: Path
) -> None:
    # pipelines/relay_artifacts (mirrors PaddleFlow's example/pipeline/artifact_example):
    # fs_options.main_fs {name: ppl}
    run = await run_yaml(workflows, pipeline("relay_artifacts"))
    done = await wait_finished(workflows, run.run_id, timeout=50)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(["gather", "fit", "check"], SUCCEEDED)
    source = (ppl / "relay_artifacts" / "source" / "all.txt").read_text()
    assert source.split() == ["11", "22", "33", "44", "55", "66"]


async def test_two_fs_testcase_with_main_and_extra_fs_runs(
    workflows: rpc.WorkflowServiceStub, dagwire_server: ServerThread
) -> None:
    # testcases/two_fs.yaml (mirrors PaddleFlow's
    # pkg/apiserver/controller/pipeline/testcase/run.yaml): main_fs scratch, extra_fs shared.
    # Its steps run in the queue demo-q (PF_JOB_QUEUE_NAME), which must exist, as on
    # PaddleFlow; their flavour `small` is not defined here and sizes nothing.
    async with AsyncDagwireClient(target=dagwire_server.address, timeout=10) as client:
        await client.create_queue("demo-q", Resources(cpu="2"))
    run = await run_yaml(workflows, spec_file("two_fs"))
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(["first", "second", "closing"], SUCCEEDED)
    assert (dagwire_server.config.file_systems_dir / "_operator" / "scratch").is_dir()


@pytest.mark.parametrize(
    ("fs_options", "field"),
    [
        ('{main_fs: {name: "../x"}}', "fs_options.main_fs.name"),
        ('{main_fs: {name: ppl, sub_path: "/abs"}}', "fs_options.main_fs.sub_path"),
        ('{main_fs: {name: ppl, sub_path: "a/../.."}}', "fs_options.main_fs.sub_path"),
        ("{extra_fs: [{name: ppl, mount: x}]}", "fs_options.extra_fs[0].mount"),
    ],
    ids=["name-with-slash", "absolute-sub-path", "dot-dot-sub-path", "unknown-key"],
)
async def test_a_file_system_outside_its_folder_is_rejected(
    workflows: rpc.WorkflowServiceStub, fs_options: str, field: str
) -> None:
    text = f"name: p\nentry_points: {{a: {{command: 'true'}}}}\nfs_options: {fs_options}\n"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)


async def test_pf_mount_path_none_keeps_the_step_out_of_the_fs(
    workflows: rpc.WorkflowServiceStub, ppl: Path, work_dir: Path
) -> None:
    text = (
        "name: p\nfs_options: {main_fs: {name: ppl}}\nentry_points:\n"
        f"  here: {{command: 'pwd > {work_dir}/here'}}\n"
        f"  elsewhere: {{command: 'pwd > {work_dir}/elsewhere', env: {{PF_MOUNT_PATH: NONE}}}}\n"
    )
    done = await wait_finished(workflows, (await run_yaml(workflows, text)).run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert (work_dir / "here").read_text().strip() == str(ppl)
    assert (work_dir / "elsewhere").read_text().strip() != str(ppl)
