"""PaddleFlow's queue examples: steps naming a queue and a flavour in their env
(PF_JOB_QUEUE_NAME, PF_JOB_FLAVOUR) are admitted through that queue, sized by that
flavour, and run to the end as PaddleFlow documents. Written from PaddleFlow's
example/pipeline/queue_example/run.yaml (commit 3ca9ece1), its earlier
example/pipeline/run.yaml and example/pipeline/base_pipeline/run.yaml.multiple
(commit c26a02c7), and docs/zh_cn/reference/pipeline/yaml_definition/4_queue.md."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dagwire.client import AsyncDagwireClient, Resources
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread, assert_eventually
from tests.workflow.conftest import run_status, run_yaml, step_statuses, wait_finished
from tests.workflow.paddleflow import install_ppl, pipeline

SUCCEEDED = "STEP_STATUS_SUCCEEDED"


@pytest.fixture
def ppl(dagwire_server: ServerThread) -> Path:
    return install_ppl(dagwire_server)


@pytest.fixture
async def operator(dagwire_server: ServerThread) -> AsyncIterator[AsyncDagwireClient]:
    async with AsyncDagwireClient(target=dagwire_server.address, timeout=10) as client:
        yield client


async def make_queue(client: AsyncDagwireClient) -> None:
    """The queue and flavour the pipelines name, as an operator makes them."""
    await client.create_queue("relay-q", Resources(cpu="2", mem="4Gi"))
    await client.create_flavour("one-core", Resources(cpu="1", mem="1Gi"))


async def test_queue_relay_steps_are_admitted_through_their_queue_and_succeed(
    workflows: rpc.WorkflowServiceStub, operator: AsyncDagwireClient, ppl: Path
) -> None:
    # pipelines/queue_relay (mirrors example/pipeline/queue_example): every step names
    # relay-q and one-core; parallelism 1. collect waits while queue_relay/hold exists.
    await make_queue(operator)
    hold = ppl / "queue_relay" / "hold"
    hold.touch()
    run = await run_yaml(workflows, pipeline("queue_relay"), fs_name="ppl")
    queue = await assert_eventually(
        lambda: operator.get_queue("relay-q"), lambda q: q.running == 1, timeout=30
    )
    assert (queue.used.cpu, queue.used.mem, queue.waiting) == ("1", "1Gi", 0)  # one-core's size
    hold.unlink()
    done = await wait_finished(workflows, run.run_id, timeout=60)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(["collect", "learn", "judge"], SUCCEEDED)
    model = ppl / "queue_relay" / "model" / run.run_id / "model.txt"
    assert model.read_text().strip() == "model 45"  # (3 + 5 + 7) * 3 passes
    drained = await operator.get_queue("relay-q")
    assert (drained.running, drained.used.cpu) == (0, "")  # nothing held any more


async def test_queue_relay_fails_at_its_first_step_without_its_queue(
    workflows: rpc.WorkflowServiceStub, ppl: Path
) -> None:
    # The same pipeline with no queue relay-q: the first step fails naming it, as a
    # PaddleFlow job does on a missing queue, and nothing after it runs.
    run = await run_yaml(workflows, pipeline("queue_relay"), fs_name="ppl")
    done = await wait_finished(workflows, run.run_id, timeout=60)
    assert run_status(done) == "RUN_STATUS_FAILED"
    collect = next(step for step in done.steps if step.name == "collect")
    assert "queue 'relay-q' not found" in collect.message
    assert step_statuses(done)["collect"] == "STEP_STATUS_FAILED"
    assert not (ppl / "queue_relay" / "samples" / run.run_id).exists()


async def test_vc_relay_with_vcjob_env_runs_through_its_queue(
    workflows: rpc.WorkflowServiceStub, operator: AsyncDagwireClient, ppl: Path
) -> None:
    # pipelines/vc_relay (mirrors example/pipeline/run.yaml and
    # base_pipeline/run.yaml.multiple): PF_JOB_TYPE vcjob, PF_JOB_MODE Pod, spaced
    # references, a parameter composed of two upstream ones, deps "shape,base"
    await make_queue(operator)
    run = await run_yaml(workflows, pipeline("vc_relay"), fs_name="ppl")
    done = await wait_finished(workflows, run.run_id, timeout=60)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(["base", "label", "shape", "join"], SUCCEEDED)
    out = ppl / "vc_relay" / "out"
    label = (out / f"{run.run_id}.label").read_text().split()
    assert label[:2] == [run.run_id, "label"]
    assert label[3] == f"{run.run_id}_label_{label[2]}"  # LABEL_NOTE from the same values
    joined = (out / f"{run.run_id}.join").read_text().split()
    assert joined == ["./vc_relay/model_456", "456", "7.001"]
