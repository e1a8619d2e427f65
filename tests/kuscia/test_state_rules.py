"""The state rules of Kuscia's JobService (secretflow/kuscia
pkg/kusciaapi/service/job_service.go), driven with Kuscia's own messages over gRPC."""

from __future__ import annotations

import pytest

from tests.kuscia.conftest import create, sleeping_body, state, wait_for_state
from tests.kuscia.kuscia_client import KusciaJobClient


async def running(kuscia: KusciaJobClient, job_id: str) -> None:
    await create(kuscia, sleeping_body(job_id))
    await wait_for_state(kuscia, job_id, "Running")


async def succeeded(kuscia: KusciaJobClient, job_id: str) -> None:
    await create(kuscia, sleeping_body(job_id, 0))
    await wait_for_state(kuscia, job_id, "Succeeded")


async def cancelled(kuscia: KusciaJobClient, job_id: str) -> None:
    await running(kuscia, job_id)
    assert (await kuscia("CancelJob", job_id=job_id)).status.code == 0
    await wait_for_state(kuscia, job_id, "Cancelled")


async def failed(kuscia: KusciaJobClient, job_id: str) -> None:
    await running(kuscia, job_id)
    assert (await kuscia("StopJob", job_id=job_id)).status.code == 0
    await wait_for_state(kuscia, job_id, "Failed")


SETUPS = {"succeeded": succeeded, "failed": failed, "cancelled": cancelled}


@pytest.mark.parametrize("source", ["succeeded", "failed", "cancelled"])
async def test_stop_of_a_finished_job_succeeds_and_changes_nothing(
    kuscia: KusciaJobClient, source: str
) -> None:
    # job_service.go StopJob: no phase check; only the stage label is set, which a
    # finished job's controller ignores.
    job_id = f"stop-{source}"
    await SETUPS[source](kuscia, job_id)
    before = await kuscia("QueryJob", job_id=job_id)
    response = await kuscia("StopJob", job_id=job_id, reason="again")
    assert response.status.code == 0 and response.data.job_id == job_id
    assert await kuscia("QueryJob", job_id=job_id) == before


@pytest.mark.parametrize("source", ["succeeded", "cancelled"])
async def test_cancel_of_a_job_over_for_good_succeeds_and_changes_nothing(
    kuscia: KusciaJobClient, source: str
) -> None:
    # job_service.go CancelJob: no phase check either.
    job_id = f"cancel-{source}"
    await SETUPS[source](kuscia, job_id)
    before = await kuscia("QueryJob", job_id=job_id)
    response = await kuscia("CancelJob", job_id=job_id, reason="again")
    assert response.status.code == 0 and response.data.job_id == job_id
    assert await kuscia("QueryJob", job_id=job_id) == before


async def test_suspend_of_a_running_job_suspends_it(kuscia: KusciaJobClient) -> None:
    # job_service.go SuspendJob: Phase == Running -> JobSuspendStage.
    await running(kuscia, "suspend-running")
    response = await kuscia("SuspendJob", job_id="suspend-running")
    assert response.status.code == 0
    await wait_for_state(kuscia, "suspend-running", "Suspended")


@pytest.mark.parametrize("source", ["succeeded", "failed", "cancelled"])
async def test_suspend_of_a_job_that_is_not_running_is_refused_with_11210(
    kuscia: KusciaJobClient, source: str
) -> None:
    # job_service.go SuspendJob: Phase != Running -> KusciaAPIErrSuspendNotRunningJob.
    job_id = f"suspend-{source}"
    await SETUPS[source](kuscia, job_id)
    before = await state(kuscia, job_id)
    response = await kuscia("SuspendJob", job_id=job_id)
    assert response.status.code == 11210
    assert "only Running jobs can be suspended" in response.status.message
    assert list(response.status.details) == []
    assert await state(kuscia, job_id) == before


async def test_restart_of_a_running_job_is_refused_with_11211(kuscia: KusciaJobClient) -> None:
    # job_service.go RestartJob: Phase neither Failed nor Suspended ->
    # KusciaAPIErrRestartNotSuspendedOrFailedJob.
    await running(kuscia, "restart-running")
    response = await kuscia("RestartJob", job_id="restart-running")
    assert response.status.code == 11211
    assert await state(kuscia, "restart-running") == "Running"


async def test_restart_of_a_stopped_job_runs_it_again(kuscia: KusciaJobClient) -> None:
    # job_service.go RestartJob: Phase Failed -> JobRestartStage.
    await failed(kuscia, "restart-failed")
    assert (await kuscia("RestartJob", job_id="restart-failed")).status.code == 0
    await wait_for_state(kuscia, "restart-failed", "Running")


async def test_every_party_is_listed_as_accepted_when_none_must_approve(
    kuscia: KusciaJobClient,
) -> None:
    # Kuscia's controller (pkg/controllers/kusciajob/handler/initialized.go) sets
    # ApproveStatus[p] = JobAccepted for its parties; QueryJob lists ApproveStatus.
    await create(kuscia, sleeping_body("approvals-listed", 0))
    status = (await kuscia("QueryJob", job_id="approvals-listed")).data.status
    assert [(a.domain_id, a.state) for a in status.approve_status_list] == [
        ("alice", "JobAccepted"),
        ("bob", "JobAccepted"),
    ]
