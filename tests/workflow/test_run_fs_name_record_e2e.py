"""A run keeps the name of its main file system in its record, as PaddleFlow's run
does (pkg/apiserver/controller/pipeline/run.go CreateRun: the request's fsName, else the
spec's fs_options.main_fs.name, stored as the run's FsName), and GetRun and ListRuns show
it."""

from __future__ import annotations

from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.workflow.conftest import run_yaml

PLAIN = "name: plain\nentry_points:\n  say: {command: 'echo hi'}\n"
MAIN_FS = (
    "name: mainfs\n"
    "fs_options: {main_fs: {name: shared, sub_path: part}}\n"
    "entry_points:\n  say: {command: 'echo hi'}\n"
)


async def test_a_run_created_with_fs_name_records_it(workflows: rpc.WorkflowServiceStub) -> None:
    created = await run_yaml(workflows, PLAIN, fs_name="scratch")

    got = await workflows.GetRun(rr.GetRunRequest(run_id=created.run_id))
    listed = await workflows.ListRuns(rr.ListRunsRequest(filter=f"run_id={created.run_id}"))
    assert created.fs_name == got.run.fs_name == "scratch"
    assert [run.fs_name for run in listed.runs] == ["scratch"]


async def test_a_run_records_its_specs_main_fs(workflows: rpc.WorkflowServiceStub) -> None:
    created = await run_yaml(workflows, MAIN_FS)

    got = await workflows.GetRun(rr.GetRunRequest(run_id=created.run_id))
    assert got.run.fs_name == "shared"


async def test_a_run_without_a_file_system_records_none(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    created = await run_yaml(workflows, PLAIN)

    got = await workflows.GetRun(rr.GetRunRequest(run_id=created.run_id))
    assert got.run.fs_name == ""
