"""pipelines/relay_cache (mirrors PaddleFlow's example/pipeline/cache_example): a second
identical run reuses every cached step; after a script in a step's fs_scope is edited,
that step runs again (its fingerprint covers the files of its fs_scope), while a step
whose scope did not change is still reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwire.v1 import message_pb2 as pb
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.workflow.conftest import run_status, run_yaml, wait_finished
from tests.workflow.paddleflow import install_ppl, pipeline


@pytest.fixture
def ppl(dagwire_server: ServerThread) -> Path:
    return install_ppl(dagwire_server)


def cached_from(run: pb.Run) -> dict[str, str]:
    return {step.name: step.cache_run_id for step in run.steps}


async def run_relay_cache(workflows: rpc.WorkflowServiceStub) -> pb.Run:
    # no fs_options: the run names its file system, as PaddleFlow's CreateRun does with
    # fs_name
    run = await run_yaml(workflows, pipeline("relay_cache"), fs_name="ppl")
    done = await wait_finished(workflows, run.run_id, timeout=40)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    return done


async def test_relay_cache_reuses_then_reruns_the_step_whose_fs_scope_changed(
    workflows: rpc.WorkflowServiceStub, ppl: Path
) -> None:
    first = await run_relay_cache(workflows)
    assert cached_from(first) == {"gather": "", "fit": "", "check": ""}

    second = await run_relay_cache(workflows)
    # check has cache.enable: false; the others hit the first run's entries
    assert cached_from(second) == {"gather": first.run_id, "fit": first.run_id, "check": ""}

    # fit's fs_scope is the pipeline's (relay_cache/shells); gather has its own
    # (relay_cache/run.yaml), which did not change
    with (ppl / "relay_cache" / "shells" / "fit.sh").open("a") as script:
        script.write("\necho edited\n")
    third = await run_relay_cache(workflows)
    assert cached_from(third) == {"gather": first.run_id, "fit": "", "check": ""}
