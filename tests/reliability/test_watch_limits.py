"""A watch's memory is bounded: a subscriber that stops reading is cut off with
RESOURCE_EXHAUSTED and resumes where it was; a resume older than the retained log is
told to re-list. Jobs here await approval, so every event is one job's ADDED."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.api.conftest import create_ok, job_request, sleeping
from tests.security.watch_tenants import stream_error_info

Stub = job_pb2_grpc.JobServiceStub


@pytest.fixture
def approval_domains() -> frozenset[str]:
    return frozenset({"alice"})


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> Stub:
    return job_pb2_grpc.JobServiceStub(channel)


def wide_job(job_id: str, tasks: int = 100) -> pb.CreateJobRequest:
    """About 8 KB of JobStatus per event: enough to fill the transport's buffers fast."""
    return job_request(job_id, *(sleeping(f"t{i}", 0, parties=("alice",)) for i in range(tasks)))


class TestSlowSubscriber:
    @pytest.fixture
    def server_overrides(self) -> dict[str, Any]:
        return {"watch_queue_size": 20}

    @pytest.fixture
    async def stub(self, dagwire_server: Any) -> AsyncIterator[Stub]:
        # Without BDP probing the HTTP/2 window stays small, so the server's writes block
        # as soon as the client stops reading, and the bounded queue behind them fills.
        options = [("grpc.http2.bdp_probe", 0)]
        async with grpc.aio.insecure_channel(dagwire_server.address, options=options) as channel:
            yield job_pb2_grpc.JobServiceStub(channel)

    async def test_a_subscriber_that_stops_reading_is_cut_off_and_resumes(self, stub: Stub) -> None:
        slow = stub.WatchJob(pb.WatchJobRequest())
        assert (await slow.read()).type == pb.HEARTBEAT  # the bookmark: the stream is open
        ids = [f"flood-{i}" for i in range(120)]
        for job_id in ids:
            await create_ok(stub, wide_job(job_id))
        received: list[pb.WatchJobEventResponse] = []
        with pytest.raises(grpc.aio.AioRpcError) as cut:
            while (event := await slow.read()) is not grpc.aio.EOF:
                received.append(event)
        assert cut.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "fell more than 20 events behind" in (cut.value.details() or "")
        assert stream_error_info(cut.value).reason == "SUBSCRIBER_TOO_SLOW"
        assert len(received) < len(ids)

        resumed = stub.WatchJob(pb.WatchJobRequest(resume_from=received[-1].resource_version))
        async for event in resumed:
            received.append(event)
            if event.object.job_id == ids[-1]:
                break
        resumed.cancel()
        seen = [e.object.job_id for e in received if e.type == pb.ADDED]
        assert seen == ids, "after the resume every job arrived exactly once, in order"


class TestRetention:
    @pytest.fixture
    def server_overrides(self) -> dict[str, Any]:
        return {"event_retention": 10}

    async def test_a_resume_older_than_the_retained_log_is_told_to_relist(self, stub: Stub) -> None:
        for i in range(30):
            await create_ok(stub, job_request(f"old-{i}", sleeping("t", 0)))
        call = stub.WatchJob(pb.WatchJobRequest(resume_from=1))
        with pytest.raises(grpc.aio.AioRpcError) as expired:
            await call.read()
        assert expired.value.code() == grpc.StatusCode.OUT_OF_RANGE
        assert "older than the retained event log" in (expired.value.details() or "")

    async def test_a_resume_within_the_retained_log_replays_it(self, stub: Stub) -> None:
        for i in range(30):
            await create_ok(stub, job_request(f"kept-{i}", sleeping("t", 0)))
        listing = stub.WatchJob(pb.WatchJobRequest())
        bookmark = [e async for e in _until_heartbeat(listing)][-1].resource_version
        resumed = stub.WatchJob(pb.WatchJobRequest(resume_from=bookmark - 5))
        replayed = [e async for e in _until_heartbeat(resumed)]
        assert [e.object.job_id for e in replayed[:-1]] == [f"kept-{i}" for i in range(25, 30)]


async def _until_heartbeat(call: Any) -> Any:
    async for event in call:
        yield event
        if event.type == pb.HEARTBEAT:
            call.cancel()
            return
