"""The sync SDK against a real dagwire server (the `dagwire_server` fixture)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dagwire.client import (
    DagwireClient,
    EventType,
    IllegalStateError,
    InvalidRequestError,
    JobAlreadyExistsError,
    JobNotFoundError,
    JobState,
    WaitTimeoutError,
)

JobBody = Callable[..., dict[str, Any]]


@pytest.fixture
def client(dagwire_server: Any) -> Iterator[DagwireClient]:
    with DagwireClient(target=dagwire_server.address, timeout=10) as client:
        yield client


def test_seed_like_job_runs_to_success(client: DagwireClient, job_body: JobBody) -> None:
    job = client.submit_job(job_body()).result(timeout=30)
    assert job.state == JobState.SUCCEEDED
    assert [t.state for t in job.status.tasks] == ["Succeeded", "Succeeded"]


def test_run_job_creates_and_waits_for_the_end(client: DagwireClient, job_body: JobBody) -> None:
    assert client.run_job(job_body(), timeout=30).status.is_terminal


def test_get_job_returns_task_specs_and_task_statuses(
    client: DagwireClient, job_body: JobBody
) -> None:
    body = job_body()
    handle = client.create_job(body)
    job = client.get_job(handle.job_id)
    assert (job.job_id, job.initiator, job.max_parallelism) == (body["job_id"], "alice", 2)
    psi, split = job.tasks
    assert (psi.task_id, psi.alias, psi.app_image) == ("job-psi", "job-psi", "dagwire-sleep")
    assert [p.domain_id for p in psi.parties] == ["alice", "bob"]
    assert split.dependencies == ("job-psi",)
    assert {t.task_id for t in job.status.tasks} == {"job-psi", "job-split"}
    assert job.status.create_time is not None


def test_describe_on_the_handle_returns_the_job(client: DagwireClient, job_body: JobBody) -> None:
    handle = client.create_job(job_body())
    assert handle.describe().job_id == handle.job_id


def test_task_progress_reported_by_the_app_reaches_the_task_status(
    client: DagwireClient, job_body: JobBody
) -> None:
    body = job_body("dagwire-progress", {"steps": 2, "interval_seconds": 0.05})
    job = client.run_job(body, timeout=30)
    assert [t.progress for t in job.status.tasks] == [pytest.approx(1.0)] * 2


def test_failing_task_ends_the_job_failed_with_a_message(
    client: DagwireClient, job_body: JobBody
) -> None:
    job = client.run_job(job_body("dagwire-fail", {"exit_code": 3}), timeout=30)
    assert job.state == JobState.FAILED
    assert job.status.err_msg


def test_batch_status_answers_in_the_order_asked(client: DagwireClient, job_body: JobBody) -> None:
    first, second = client.create_job(job_body()), client.create_job(job_body())
    statuses = client.batch_status([second.job_id, first.job_id])
    assert [s.job_id for s in statuses] == [second.job_id, first.job_id]


def test_creating_a_job_with_a_taken_id_raises_job_already_exists(
    client: DagwireClient, job_body: JobBody
) -> None:
    body = job_body()
    client.create_job(body)
    with pytest.raises(JobAlreadyExistsError) as caught:
        client.create_job(body)
    assert (caught.value.code, caught.value.reason) == (11201, "JOB_ALREADY_EXISTS")


def test_creating_an_invalid_job_raises_invalid_request(
    client: DagwireClient, job_body: JobBody
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.create_job(job_body(job_id="Not A DNS Name"))
    assert type(caught.value) is InvalidRequestError


def test_getting_an_unknown_job_raises_job_not_found(client: DagwireClient) -> None:
    with pytest.raises(JobNotFoundError) as caught:
        client.get_job("no-such-job")
    assert caught.value.code == 11202


def test_suspending_a_finished_job_raises_illegal_state(
    client: DagwireClient, job_body: JobBody
) -> None:
    handle = client.create_job(job_body())
    handle.result(timeout=30)
    with pytest.raises(IllegalStateError) as caught:
        client.suspend_job(handle.job_id)
    assert caught.value.code == 11210


def test_suspend_then_restart_brings_a_job_to_success(
    client: DagwireClient, job_body: JobBody
) -> None:
    handle = client.create_job(job_body(config={"sleep_seconds": 1}))
    client.suspend_job(handle.job_id, reason="pause")
    assert handle.describe().state == JobState.SUSPENDED
    client.restart_job(handle.job_id)
    assert handle.result(timeout=30).state == JobState.SUCCEEDED


def test_cancel_through_the_handle_ends_the_job_cancelled(
    client: DagwireClient, job_body: JobBody
) -> None:
    handle = client.create_job(job_body(config={"sleep_seconds": 30}))
    handle.cancel(reason="no longer needed")
    assert handle.result(timeout=30).state == JobState.CANCELLED


def test_stop_through_the_handle_fails_the_job_with_the_reason(
    client: DagwireClient, job_body: JobBody
) -> None:
    handle = client.create_job(job_body(config={"sleep_seconds": 30}))
    handle.stop(reason="operator stop")
    job = handle.result(timeout=30)
    assert job.state == JobState.FAILED
    assert "operator stop" in job.status.err_msg


def test_result_gives_up_after_its_timeout(client: DagwireClient, job_body: JobBody) -> None:
    handle = client.create_job(job_body(config={"sleep_seconds": 30}))
    with pytest.raises(WaitTimeoutError):
        handle.result(timeout=1)
    handle.cancel()


def test_deleted_job_is_no_longer_found(client: DagwireClient, job_body: JobBody) -> None:
    handle = client.create_job(job_body())
    client.delete_job(handle.job_id)
    with pytest.raises(JobNotFoundError):
        handle.describe()


def test_watch_yields_added_then_modified_for_a_new_job(
    client: DagwireClient, job_body: JobBody
) -> None:
    handle = client.create_job(job_body())
    seen: list[EventType] = []
    for event in client.watch_jobs(job_ids=[handle.job_id], timeout_seconds=30):
        seen.append(event.type)
        if event.status is not None and event.status.is_terminal:
            break
    assert seen[0] is EventType.ADDED
    assert EventType.MODIFIED in seen[1:]


def test_watch_without_job_ids_sees_jobs_created_after_it_started(
    client: DagwireClient, job_body: JobBody
) -> None:
    existing = client.create_job(job_body())
    events = client.watch_jobs(timeout_seconds=30)
    assert next(events).job_id == existing.job_id  # the initial listing
    fresh = client.create_job(job_body())
    event = next(e for e in events if e.job_id == fresh.job_id)
    events.close()
    assert event.type is EventType.ADDED
