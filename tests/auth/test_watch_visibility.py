"""WatchJob shows a bound caller only the jobs its domain is a party of: in the initial
listing and in live events alike. An operator's watch shows everything."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.auth.conftest import ALICE, BOB, OPS, Metadata, create, job
from tests.conftest import assert_eventually

Stub = job_pb2_grpc.JobServiceStub
Call = grpc.aio.UnaryStreamCall[pb.WatchJobRequest, pb.WatchJobEventResponse]


@pytest.fixture
def heartbeat_interval() -> float:
    return 0.2


async def succeeded(stub: Stub, job_id: str) -> None:
    await assert_eventually(
        lambda: stub.QueryJob(pb.QueryJobRequest(job_id=job_id), metadata=OPS),
        lambda r: r.data.status.state == "Succeeded",
    )


async def job_ids_until(call: Call, done: Callable[[pb.WatchJobEventResponse], bool]) -> set[str]:
    """Every job the stream shows until an event satisfies `done`."""
    seen: set[str] = set()

    async def read() -> None:
        async for event in call:
            if event.type != pb.HEARTBEAT:
                seen.add(event.object.job_id)
            if done(event):
                return

    await asyncio.wait_for(read(), timeout=20)
    return seen


def succeeded_event(job_id: str) -> Callable[[pb.WatchJobEventResponse], bool]:
    return lambda e: e.object.job_id == job_id and e.object.status.state == "Succeeded"


def heartbeat(event: pb.WatchJobEventResponse) -> bool:
    return event.type == pb.HEARTBEAT


def watch(stub: Stub, metadata: Metadata) -> Call:
    return stub.WatchJob(pb.WatchJobRequest(), metadata=metadata)


async def test_alices_initial_listing_leaves_out_bob_only_jobs(stub: Stub) -> None:
    await create(stub, job("bob-before", "bob"), BOB)
    await create(stub, job("alice-before", "alice", "bob"), ALICE)
    await succeeded(stub, "bob-before")
    await succeeded(stub, "alice-before")
    call = watch(stub, ALICE)
    seen = await job_ids_until(call, heartbeat)  # the initial listing precedes any heartbeat
    call.cancel()
    assert seen == {"alice-before"}


async def test_alices_live_events_leave_out_bob_only_jobs(stub: Stub) -> None:
    call = watch(stub, ALICE)
    # a heartbeat shows the stream is live; bob's job is created, finishes and is deleted
    # before alice's job starts, so its events would all come before the read ends
    assert await job_ids_until(call, heartbeat) == set()
    await create(stub, job("bob-after", "bob"), BOB)
    await succeeded(stub, "bob-after")
    deleted = await stub.DeleteJob(pb.DeleteJobRequest(job_id="bob-after"), metadata=BOB)
    assert deleted.status.code == 0
    await create(stub, job("alice-after", "alice"), ALICE)
    seen = await job_ids_until(call, succeeded_event("alice-after"))
    call.cancel()
    assert seen == {"alice-after"}


async def test_an_operator_watch_shows_every_job(stub: Stub) -> None:
    await create(stub, job("bob-before", "bob"), BOB)
    await succeeded(stub, "bob-before")
    call = watch(stub, OPS)
    listed = await job_ids_until(call, heartbeat)
    await create(stub, job("bob-after", "bob"), BOB)
    await succeeded(stub, "bob-after")
    await create(stub, job("alice-after", "alice"), ALICE)
    live = await job_ids_until(call, succeeded_event("alice-after"))
    call.cancel()
    assert (listed, live) == ({"bob-before"}, {"bob-after", "alice-after"})
