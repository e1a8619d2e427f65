"""PaddleFlow's loop_argument: the step runs once per item, as `step`, `step-1`, ...
(PaddleFlow's runtime names), each with its item in {{PF_LOOP_ARGUMENT}} and the
PF_LOOP_ARGUMENT variable; what depends on the step waits for every run. A list in the
spec is laid out when the run is made; a parameter's or an input artifact's list when
the step is launched (its upstream has finished), and its copies are made then."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_request_response_pb2 as rr
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


LOOP = """
name: loop
entry_points:
  process:
    command: "echo {{PF_LOOP_ARGUMENT}}=$PF_LOOP_ARGUMENT >> %(work)s/items"
    loop_argument: [3, -1, "a b"]
  positive:
    command: "echo {{PF_LOOP_ARGUMENT}} >> %(work)s/positive"
    loop_argument: "[4, -2]"
    condition: "{{PF_LOOP_ARGUMENT}} > 0"
  after:
    deps: process
    command: "echo after >> %(work)s/items"
"""


async def test_a_loop_runs_its_step_once_per_item(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, LOOP % {"work": work_dir})
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == {
        "process": "STEP_STATUS_SUCCEEDED",
        "process-1": "STEP_STATUS_SUCCEEDED",
        "process-2": "STEP_STATUS_SUCCEEDED",
        "positive": "STEP_STATUS_SUCCEEDED",
        "positive-1": "STEP_STATUS_SKIPPED",
        "after": "STEP_STATUS_SUCCEEDED",
    }
    lines = (work_dir / "items").read_text().splitlines()
    assert sorted(lines[:3]) == sorted(["3=3", "-1=-1", "a b=a b"]) and lines[3] == "after"
    assert (work_dir / "positive").read_text().split() == ["4"]
    after = next(step for step in done.steps if step.name == "after")
    assert list(after.deps) == ["process", "process-1", "process-2"]


async def test_loop_list_pipeline_runs_each_item_then_the_step_after(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # pipelines/loop_list (mirrors a loop_argument list as in PaddleFlow's
    # example/pipeline/loop_example and docs/zh_cn/reference/pipeline/yaml_definition/9_loop.md)
    done = await wait_finished(workflows, (await run_yaml(workflows, pipeline("loop_list"))).run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(
        ["shard", "shard-1", "shard-2", "merge"], "STEP_STATUS_SUCCEEDED"
    )
    merge = next(step for step in done.steps if step.name == "merge")
    assert list(merge.deps) == ["shard", "shard-1", "shard-2"]


async def test_loop_draw_runs_one_copy_per_item_of_an_upstream_artifact(
    workflows: rpc.WorkflowServiceStub, ppl: Path
) -> None:
    # pipelines/loop_draw (mirrors PaddleFlow's example/pipeline/loop_example and
    # docs/zh_cn/reference/pipeline/yaml_definition/9_loop.md: loop_argument "{{nums}}"
    # naming an input artifact that an upstream step wrote as a JSON list)
    run = await run_yaml(workflows, pipeline("loop_draw"))
    done = await wait_finished(workflows, run.run_id, timeout=60)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    copies = ["square", "square-1", "square-2", "square-3"]
    assert step_statuses(done) == dict.fromkeys(
        ["draw", *copies, "greet", "greet-1", "total"], "STEP_STATUS_SUCCEEDED"
    )
    total = next(step for step in done.steps if step.name == "total")
    assert list(total.deps) == [*copies, "greet", "greet-1"]
    out = ppl / "loop_draw" / "out"
    assert (out / f"{run.run_id}.total").read_text().strip() == f"4 files: {9 + 25 + 49 + 81}"
    greetings = (out / f"{run.run_id}.greetings").read_text().splitlines()
    assert sorted(greetings) == ["hello north", "hello south"]
    # Each copy's result is its own artifact, listed under the copy's name.
    listed = await workflows.ListArtifacts(rr.ListArtifactsRequest(page_size=500))
    results = {
        a.step_name: _text(a.path)
        for a in listed.artifacts
        if a.run_id == run.run_id and a.name == "result" and a.type == enums.ARTIFACT_TYPE_OUTPUT
    }
    assert results == dict(zip(copies, ["9", "25", "49", "81"], strict=True))


def _text(path: str) -> str:
    return Path(path).read_text().strip()


LOOP_PARAMETERS = """
name: loop-params
entry_points:
  prep:
    command: "true"
    parameters: {nums: "[1, 2, 3]"}
  upstream:
    deps: prep
    command: "echo up-{{PF_LOOP_ARGUMENT}} >> %(work)s/items"
    loop_argument: "{{prep.nums}}"
  own:
    command: "echo own-$PF_LOOP_ARGUMENT >> %(work)s/items"
    loop_argument: "{{letters}}"
    parameters: {letters: "[]"}
"""


async def test_a_loop_over_a_parameter_takes_the_runs_value(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    text = LOOP_PARAMETERS % {"work": work_dir}
    run = await run_yaml(
        workflows, text, parameters={"own.letters": '["x", "y z"]', "prep.nums": "[5, 6]"}
    )
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert set(step_statuses(done)) == {"prep", "upstream", "upstream-1", "own", "own-1"}
    lines = sorted((work_dir / "items").read_text().splitlines())
    assert lines == ["own-x", "own-y z", "up-5", "up-6"]


async def test_a_loop_whose_list_is_no_list_fails_its_step_saying_why(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    text = (
        "name: bad-loop\nentry_points:\n"
        "  write: {command: 'echo not-json > {{out}}', artifacts: {output: [out]}}\n"
        "  each:\n"
        "    deps: write\n"
        "    command: 'true'\n"
        "    loop_argument: '{{items}}'\n"
        "    artifacts: {input: {items: '{{write.out}}'}}\n"
    )
    done = await wait_finished(workflows, (await run_yaml(workflows, text)).run_id)
    assert run_status(done) == "RUN_STATUS_FAILED"
    each = next(step for step in done.steps if step.name == "each")
    assert enums.StepStatus.Name(each.status) == "STEP_STATUS_FAILED"
    assert "non-empty list" in each.message, each.message


@pytest.mark.parametrize(
    ("loop", "extra", "expected"),
    [
        ("'x {{nums}}'", "", "one reference"),
        ("'{{nope}}'", "", "must name a parameter or an input artifact"),
        ("'{{PF_RUN_ID}}'", "", "system variable"),
        ("'{{nums}}'", "  a-1: {command: 'true'}\n", "rename step 'a-1'"),
    ],
    ids=["text-around", "unknown", "system-variable", "copy-name-taken"],
)
async def test_a_loop_reference_that_cannot_work_is_refused(
    workflows: rpc.WorkflowServiceStub, loop: str, extra: str, expected: str
) -> None:
    text = (
        "name: p\nentry_points:\n"
        f"  a: {{command: 'true', loop_argument: {loop}, parameters: {{nums: '[1]'}}}}\n{extra}"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    assert expected in field_violations(caught.value)["entry_points.a.loop_argument"]


async def test_loop_dag_runs_the_whole_sub_dag_once_per_item(
    workflows: rpc.WorkflowServiceStub, ppl: Path
) -> None:
    # pipelines/loop_dag (docs/zh_cn/reference/pipeline/yaml_definition/9_loop.md: DAG
    # nodes take loop_argument too; {{PF_PARENT.PF_LOOP_ARGUMENT}} in their steps)
    run = await run_yaml(workflows, pipeline("loop_dag"))
    done = await wait_finished(workflows, run.run_id, timeout=60)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    copies = [
        f"{dag}.{step}" for dag in ("region", "region-1", "region-2") for step in ("fetch", "count")
    ]
    assert step_statuses(done) == dict.fromkeys([*copies, "report"], "STEP_STATUS_SUCCEEDED")
    report = (ppl / "loop_dag" / "out" / f"{run.run_id}.report").read_text().split()
    assert report == ["north", "north.size", "south", "south.size", "west", "west.size"]
    size = (ppl / "loop_dag" / "out" / run.run_id / "south.size").read_text().strip()
    assert size == str(len("fetched-south\n"))


async def test_a_sub_dag_loop_over_a_reference_is_refused_not_dropped(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    text = (
        "name: p\nentry_points:\n"
        "  d:\n    loop_argument: '{{nums}}'\n    parameters: {nums: '[1]'}\n"
        "    entry_points:\n      x: {command: 'true'}\n"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    assert "the list itself" in field_violations(caught.value)["entry_points.d.loop_argument"]


FLAKY_LOOP = """
name: flaky-loop
failure_options: {strategy: continue}
entry_points:
  each:
    command: "(test {{PF_LOOP_ARGUMENT}} != 2 || test -e %(work)s/flag) && echo {{PF_LOOP_ARGUMENT}} >> %(work)s/ran"
    loop_argument: "{{nums}}"
    parameters: {nums: [1, 2, 3]}
"""


async def test_a_retried_run_reruns_only_the_loop_copies_that_did_not_succeed(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    first = await run_yaml(workflows, FLAKY_LOOP % {"work": work_dir})
    failed = await wait_finished(workflows, first.run_id)
    assert run_status(failed) == "RUN_STATUS_FAILED"
    assert step_statuses(failed) == {
        "each": "STEP_STATUS_SUCCEEDED",
        "each-1": "STEP_STATUS_FAILED",
        "each-2": "STEP_STATUS_SUCCEEDED",
    }
    (work_dir / "flag").write_text("")
    retried = (await workflows.RetryRun(rr.RetryRunRequest(run_id=first.run_id))).run
    done = await wait_finished(workflows, retried.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert set(step_statuses(done)) == {"each", "each-1", "each-2"}
    assert sorted((work_dir / "ran").read_text().split()) == ["1", "2", "3"], "2 ran once more"


JOINED = """
name: joined
entry_points:
  shard:
    command: "echo {{PF_LOOP_ARGUMENT}} > {{out}}"
    loop_argument: [a, b, c]
    artifacts: {output: [out]}
  merge:
    deps: shard
    command: "echo {{parts}} > %(work)s/parts && cat $(echo {{parts}} | tr , ' ') > %(work)s/merged"
    artifacts: {input: {parts: "{{shard.out}}"}}
"""


async def test_a_step_reading_a_looping_steps_output_gets_every_copys_path(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    # PaddleFlow's 9_loop.md 2.3: a looping step's output artifact, read downstream, is
    # the paths of all its runs joined with ','.
    done = await wait_finished(
        workflows, (await run_yaml(workflows, JOINED % {"work": work_dir})).run_id
    )
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert (work_dir / "merged").read_text().split() == ["a", "b", "c"]
    parts = (work_dir / "parts").read_text().strip().split(",")
    assert [Path(p).parent.name for p in parts] == ["shard", "shard-1", "shard-2"]
