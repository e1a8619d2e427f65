"""Stop, suspend, restart, cancel, delete: allowed moves do what Kuscia documents,
forbidden ones return their code and change nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.api.conftest import create_ok, job_request, query, sleeping, task, wait_for_state

Stub = job_pb2_grpc.JobServiceStub
Op = Callable[[Stub, str], Awaitable[Any]]


def stop(stub: Stub, job_id: str) -> Awaitable[pb.StopJobResponse]:
    return stub.StopJob(pb.StopJobRequest(job_id=job_id, reason="operator stop"))


def suspend(stub: Stub, job_id: str) -> Awaitable[pb.SuspendJobResponse]:
    return stub.SuspendJob(pb.SuspendJobRequest(job_id=job_id, reason="maintenance"))


def restart(stub: Stub, job_id: str) -> Awaitable[pb.RestartJobResponse]:
    return stub.RestartJob(pb.RestartJobRequest(job_id=job_id))


def cancel(stub: Stub, job_id: str) -> Awaitable[pb.CancelJobResponse]:
    return stub.CancelJob(pb.CancelJobRequest(job_id=job_id, reason="not needed"))


async def running_job(stub: Stub, job_id: str) -> None:
    await create_ok(stub, job_request(job_id, sleeping("first", 0), sleeping("long", 30, "first")))
    await wait_for_state(stub, job_id, "Running")
    # wait until the long task's processes run: then nothing changes by itself for a while
    from tests.conftest import assert_eventually

    await assert_eventually(
        lambda: query(stub, job_id),
        lambda r: all(p.state == "Running" for p in r.data.status.tasks[1].parties),
    )


async def succeeded_job(stub: Stub, job_id: str) -> None:
    await create_ok(stub, job_request(job_id, sleeping("only", 0)))
    await wait_for_state(stub, job_id, "Succeeded")


async def failed_job(stub: Stub, job_id: str) -> None:
    await create_ok(
        stub, job_request(job_id, sleeping("ok", 0), task("bad", "ok", image="dagwire-fail"))
    )
    await wait_for_state(stub, job_id, "Failed")


async def suspended_job(stub: Stub, job_id: str) -> None:
    await running_job(stub, job_id)
    assert (await suspend(stub, job_id)).status.code == 0


async def cancelled_job(stub: Stub, job_id: str) -> None:
    await running_job(stub, job_id)
    assert (await cancel(stub, job_id)).status.code == 0


SETUPS = {
    "running": running_job,
    "succeeded": succeeded_job,
    "failed": failed_job,
    "suspended": suspended_job,
    "cancelled": cancelled_job,
}

# (operation, from state) -> (code, resulting Kuscia state)
CASES = [
    ("stop", "running", 0, "Failed"),
    ("stop", "suspended", 0, "Failed"),
    # Kuscia's StopJob and CancelJob check no state (secretflow/kuscia
    # pkg/kusciaapi/service/job_service.go): on a job that is over they succeed and
    # change nothing.
    ("stop", "succeeded", 0, "Succeeded"),
    ("stop", "failed", 0, "Failed"),
    ("stop", "cancelled", 0, "Cancelled"),
    ("suspend", "running", 0, "Suspended"),
    ("suspend", "succeeded", 11210, "Succeeded"),
    ("suspend", "failed", 11210, "Failed"),
    ("suspend", "suspended", 11210, "Suspended"),
    ("suspend", "cancelled", 11210, "Cancelled"),
    ("restart", "running", 11211, "Running"),
    ("restart", "succeeded", 11211, "Succeeded"),
    ("restart", "cancelled", 11211, "Cancelled"),
    ("cancel", "running", 0, "Cancelled"),
    ("cancel", "suspended", 0, "Cancelled"),
    ("cancel", "failed", 0, "Cancelled"),
    ("cancel", "succeeded", 0, "Succeeded"),
    ("cancel", "cancelled", 0, "Cancelled"),
]
OPS: dict[str, Op] = {"stop": stop, "suspend": suspend, "restart": restart, "cancel": cancel}


@pytest.mark.parametrize(
    ("op", "source", "code", "target"),
    [pytest.param(*case, id=f"{case[0]}-from-{case[1]}") for case in CASES],
)
async def test_lifecycle_operation_from_state(
    stub: Stub, op: str, source: str, code: int, target: str
) -> None:
    job_id = f"{op}-{source}"
    await SETUPS[source](stub, job_id)
    before = (await query(stub, job_id)).data
    response = await OPS[op](stub, job_id)
    assert response.status.code == code, response.status.message
    after = (await query(stub, job_id)).data
    assert after.status.state == target
    if code != 0 or target == before.status.state:
        assert after == before, "a refused or idle operation must change nothing"
    if code != 0:
        assert (
            source in response.status.message
            or before.status.state.lower() in response.status.message
        )


async def test_stop_kills_running_tasks_and_records_the_reason(stub: Stub) -> None:
    await running_job(stub, "stop-reason")
    await stop(stub, "stop-reason")
    status = (await query(stub, "stop-reason")).data.status
    assert status.err_msg == "operator stop" and status.end_time
    assert [t.state for t in status.tasks] == ["Succeeded", "Failed"]
    assert [s.state for s in status.stage_status_list] == ["JobStopStageSucceeded"] * 2


async def test_restart_after_suspend_reruns_only_what_did_not_succeed(stub: Stub) -> None:
    await create_ok(
        stub, job_request("resume", sleeping("first", 0), sleeping("second", 2, "first"))
    )
    from tests.conftest import assert_eventually

    await assert_eventually(
        lambda: query(stub, "resume"), lambda r: r.data.status.tasks[1].state == "Running"
    )
    first_end = (await query(stub, "resume")).data.status.tasks[0].end_time
    assert (await suspend(stub, "resume")).status.code == 0
    assert (await query(stub, "resume")).data.status.state == "Suspended"
    assert (await restart(stub, "resume")).status.code == 0
    done = await wait_for_state(stub, "resume", "Succeeded")
    assert done.data.status.tasks[0].end_time == first_end, "the succeeded task must not run again"


async def test_restart_of_a_failed_job_runs_the_failed_task_again(stub: Stub) -> None:
    await failed_job(stub, "retry-failed")
    assert (await restart(stub, "retry-failed")).status.code == 0
    # dagwire-fail fails again: the point is that it ran again (a new failure)
    done = await wait_for_state(stub, "retry-failed", "Failed")
    assert [s.state for s in done.data.status.stage_status_list] == ["JobRestartStageSucceeded"] * 2


async def test_delete_removes_the_job(stub: Stub) -> None:
    await running_job(stub, "to-delete")
    response = await stub.DeleteJob(pb.DeleteJobRequest(job_id="to-delete"))
    assert (response.status.code, response.data.job_id) == (0, "to-delete")
    assert (await query(stub, "to-delete")).status.code == 11202


async def test_delete_of_an_unknown_job_returns_11204(stub: Stub) -> None:
    response = await stub.DeleteJob(pb.DeleteJobRequest(job_id="ghost"))
    assert response.status.code == 11204


@pytest.mark.parametrize("op", sorted(OPS))
async def test_operation_on_an_unknown_job_names_it(stub: Stub, op: str) -> None:
    response = await OPS[op](stub, "ghost")
    assert response.status.code != 0 and "'ghost' does not exist" in response.status.message


async def test_operation_without_job_id_is_invalid(stub: Stub) -> None:
    response = await stub.StopJob(pb.StopJobRequest())
    assert (response.status.code, response.status.message) == (11100, "job_id is required")
