"""PaddleFlow's cache_example: a second identical run reuses every cached step; after a
script in a step's fs_scope is edited, that step runs again (its fingerprint covers the
files of its fs_scope), while a step whose scope did not change is still reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwire.v1 import message_pb2 as pb
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.workflow.conftest import run_status, run_yaml, wait_finished
from tests.workflow.paddleflow import example, install_ppl


@pytest.fixture
def ppl(dagwire_server: ServerThread) -> Path:
    return install_ppl(dagwire_server)


def cached_from(run: pb.Run) -> dict[str, str]:
    return {step.name: step.cache_run_id for step in run.steps}


async def run_cache_example(workflows: rpc.WorkflowServiceStub) -> pb.Run:
    # example/pipeline/cache_example/run.yaml, unchanged; no fs_options: the run names
    # its file system, as PaddleFlow's CreateRun does with fs_name
    run = await run_yaml(workflows, example("cache_example"), fs_name="ppl")
    done = await wait_finished(workflows, run.run_id, timeout=40)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    return done


async def test_cache_example_reuses_then_reruns_the_step_whose_fs_scope_changed(
    workflows: rpc.WorkflowServiceStub, ppl: Path
) -> None:
    first = await run_cache_example(workflows)
    assert cached_from(first) == {"preprocess": "", "train": "", "validate": ""}

    second = await run_cache_example(workflows)
    # validate has cache.enable: false; the others hit the first run's entries
    assert cached_from(second) == {
        "preprocess": first.run_id,
        "train": first.run_id,
        "validate": "",
    }

    # train's fs_scope is the pipeline's (cache_example/shells); preprocess has its own
    # (cache_example/run.yaml), which did not change
    with (ppl / "cache_example" / "shells" / "train.sh").open("a") as script:
        script.write("\necho edited\n")
    third = await run_cache_example(workflows)
    assert cached_from(third) == {"preprocess": first.run_id, "train": "", "validate": ""}
