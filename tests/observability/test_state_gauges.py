"""Gauges read at scrape time: jobs and tasks by state, executor processes, watchers."""

from __future__ import annotations

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.api.conftest import create_ok, job_request, seed_request, sleeping, wait_for_state
from tests.conftest import assert_eventually
from tests.observability.conftest import Scraper

Stub = job_pb2_grpc.JobServiceStub


async def test_jobs_are_counted_by_state(stub: Stub, metrics: Scraper) -> None:
    await create_ok(stub, seed_request())
    await wait_for_state(stub, "job-alice-bob-001", "Succeeded")
    assert await metrics.value("dagwire_jobs", state="succeeded") == 1
    assert await metrics.value("dagwire_jobs", state="running") == 0


async def test_tasks_of_a_running_job_are_counted_by_state(stub: Stub, metrics: Scraper) -> None:
    await create_ok(stub, job_request("busy", sleeping("a", 30), sleeping("b", 30, "a")))
    await wait_for_state(stub, "busy", "Running")
    assert await metrics.value("dagwire_tasks", state="pending") == 1
    await assert_eventually(
        lambda: metrics.value("dagwire_tasks", state="running"), lambda count: count == 1
    )


async def test_running_party_processes_are_counted(stub: Stub, metrics: Scraper) -> None:
    await create_ok(stub, job_request("busy", sleeping("a", 30)))
    # One task, two parties (alice and bob): two processes once both have started.
    await assert_eventually(
        lambda: metrics.value("dagwire_executor_processes"), lambda count: count == 2
    )


async def test_stopped_processes_are_no_longer_counted(stub: Stub, metrics: Scraper) -> None:
    await create_ok(stub, job_request("busy", sleeping("a", 30)))
    await assert_eventually(
        lambda: metrics.value("dagwire_executor_processes"), lambda count: count == 2
    )
    await stub.StopJob(pb.StopJobRequest(job_id="busy"))
    await assert_eventually(
        lambda: metrics.value("dagwire_executor_processes"), lambda count: count == 0
    )


async def test_connected_watch_streams_are_counted(stub: Stub, metrics: Scraper) -> None:
    call = stub.WatchJob(pb.WatchJobRequest(timeout_seconds=30))
    try:
        await call.read()  # the bookmark: the stream is subscribed
        assert await metrics.value("dagwire_watchers") == 1
    finally:
        call.cancel()
    await assert_eventually(lambda: metrics.value("dagwire_watchers"), lambda count: count == 0)
