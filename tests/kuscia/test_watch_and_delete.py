"""WatchJob, DeleteJob and BatchQueryJobStatus with Kuscia's own messages over gRPC
(secretflow/kuscia pkg/kusciaapi/service/job_service.go WatchJob, DeleteJob,
BatchQueryJobStatus)."""

from __future__ import annotations

import grpc

from tests.kuscia.conftest import create, sleeping_body, wait_for_state
from tests.kuscia.kuscia_client import KusciaJobClient


async def next_event_of(events: object, kuscia: KusciaJobClient, job_id: str) -> tuple[str, str]:
    """The next (event type, job state) about `job_id`, heartbeats skipped."""
    async for event in events:  # type: ignore[attr-defined]
        kind = kuscia.protos.enum_name("EventType", event.type)
        if kind != "HEARTBEAT" and event.object.job_id == job_id:
            return kind, str(event.object.status.state)
    raise AssertionError(f"the stream ended before an event about {job_id}")


async def test_watch_lists_existing_jobs_then_reports_their_deletion(
    kuscia: KusciaJobClient,
) -> None:
    # job_service.go WatchJob: a Kubernetes watch without resourceVersion (ADDED for what
    # exists), then watch.Deleted -> EventType_DELETED.
    await create(kuscia, sleeping_body("watched"))
    await wait_for_state(kuscia, "watched", "Running")
    events = kuscia.stream("WatchJob", timeout_seconds=30)
    try:
        assert await next_event_of(events, kuscia, "watched") == ("ADDED", "Running")
        deleted = await kuscia("DeleteJob", job_id="watched")
        assert (deleted.status.code, deleted.data.job_id) == (0, "watched")
        kind, _ = await next_event_of(events, kuscia, "watched")
        while kind == "MODIFIED":  # the stop of its running task may come first
            kind, _ = await next_event_of(events, kuscia, "watched")
        assert kind == "DELETED"
    finally:
        events.cancel()
    assert (await kuscia("QueryJob", job_id="watched")).status.code == 11202


async def test_watch_with_a_timeout_beyond_int32_fails_the_stream(
    kuscia: KusciaJobClient,
) -> None:
    # job_service.go WatchJob: timeout outside [0, 2^31-1] -> an error, not an event.
    events = kuscia.stream("WatchJob", timeout_seconds=2**31)
    try:
        async for _ in events:
            raise AssertionError("no event expected")
    except grpc.aio.AioRpcError as error:
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_batch_query_answers_every_job_in_the_order_asked(kuscia: KusciaJobClient) -> None:
    # job_service.go BatchQueryJobStatus: one JobStatus per id, in request order.
    await create(kuscia, sleeping_body("batch-a", 0))
    await create(kuscia, sleeping_body("batch-b", 0))
    response = await kuscia("BatchQueryJobStatus", job_ids=["batch-b", "batch-a"])
    assert response.status.code == 0
    assert [job.job_id for job in response.data.jobs] == ["batch-b", "batch-a"]
    assert all(job.status.state for job in response.data.jobs)
