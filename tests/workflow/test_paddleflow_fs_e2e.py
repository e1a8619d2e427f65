"""PaddleFlow's examples run unchanged on a main file system: each step starts in its
root, so their relative commands (`bash base_pipeline/shells/data.sh`) find the scripts."""

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
from tests.workflow.paddleflow import example, install_ppl, pkg_file

SUCCEEDED = "STEP_STATUS_SUCCEEDED"


@pytest.fixture
def ppl(dagwire_server: ServerThread) -> Path:
    return install_ppl(dagwire_server)


async def test_base_pipeline_runs_in_the_file_system_named_at_create(
    workflows: rpc.WorkflowServiceStub, ppl: Path
) -> None:
    # example/pipeline/base_pipeline/run.yaml: no fs_options, the run names its fs
    run = await run_yaml(workflows, example("base_pipeline"), fs_name="ppl")
    done = await wait_finished(workflows, run.run_id, timeout=50)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(["preprocess", "train", "validate"], SUCCEEDED)
    # data.sh wrote ./base_pipeline/data/<run>/data, train.sh ./output/<run>/model
    assert (ppl / "base_pipeline" / "data" / run.run_id / "data").read_text().startswith("hello")
    assert "paddleflow model" in (ppl / "output" / run.run_id / "model").read_text()


async def test_artifact_example_runs_in_its_main_fs(
    workflows: rpc.WorkflowServiceStub, ppl: Path
) -> None:
    # example/pipeline/artifact_example/run.yaml: fs_options.main_fs {name: ppl}
    run = await run_yaml(workflows, example("artifact_example"))
    done = await wait_finished(workflows, run.run_id, timeout=50)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(["preprocess", "train", "validate"], SUCCEEDED)
    assert "hello paddleflow" in (ppl / "artifact_example" / "data" / "data").read_text()


async def test_apiserver_testcase_with_main_and_extra_fs_runs(
    workflows: rpc.WorkflowServiceStub, dagwire_server: ServerThread
) -> None:
    # pkg/apiserver/controller/pipeline/testcase/run.yaml: main_fs xd, extra_fs abc
    run = await run_yaml(workflows, pkg_file("apiserver/controller/pipeline/testcase/run.yaml"))
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(["main", "nomain", "post"], SUCCEEDED)
    assert (dagwire_server.config.file_systems_dir / "_operator" / "xd").is_dir()


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
