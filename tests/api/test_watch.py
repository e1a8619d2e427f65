"""WatchJob: the initial listing, live events in order, heartbeats, exact resumption."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.runtime import watch as watch_module
from tests.api.conftest import create_ok, job_request, sleeping, wait_for_state

Stub = job_pb2_grpc.JobServiceStub
Event = pb.WatchJobEventResponse
TERMINAL = {"Succeeded", "Failed", "Cancelled", "ApprovalReject"}


@pytest.fixture
def heartbeat_interval() -> float:
    return 1.0


def watch(stub: Stub, **fields: object) -> grpc.aio.UnaryStreamCall[pb.WatchJobRequest, Event]:
    return stub.WatchJob(pb.WatchJobRequest(**fields))  # type: ignore[arg-type]


async def collect_until(
    events: AsyncIterator[Event], done: object, timeout: float = 20.0
) -> list[Event]:
    """Read events until `done(event)` holds for one; return them all."""
    seen: list[Event] = []

    async def read() -> None:
        async for event in events:
            seen.append(event)
            if done(event):  # type: ignore[operator]
                return

    await asyncio.wait_for(read(), timeout)
    return seen


async def listed(stub: Stub) -> grpc.aio.UnaryStreamCall[pb.WatchJobRequest, Event]:
    """A watch whose initial listing is over (its bookmark arrived): whatever happens
    next reaches it as live events."""
    call = watch(stub)
    await collect_until(call, lambda e: e.type == pb.HEARTBEAT, timeout=10)
    return call


def is_terminal(job_id: str) -> object:
    return lambda e: e.object.job_id == job_id and e.object.status.state in TERMINAL


async def test_a_watcher_sees_added_then_modified_in_causal_order(stub: Stub) -> None:
    call = await listed(stub)
    await create_ok(stub, job_request("watched", sleeping("a", 0.2), sleeping("b", 0.2, "a")))
    events = [
        e for e in await collect_until(call, is_terminal("watched")) if e.type != pb.HEARTBEAT
    ]
    call.cancel()
    assert events[0].type == pb.ADDED and events[0].object.job_id == "watched"
    assert all(e.type == pb.MODIFIED for e in events[1:])
    versions = [e.resource_version for e in events]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    task_b = [e.object.status.tasks[1].state for e in events]
    assert task_b.index("Running") > max(i for i, s in enumerate(task_b) if s == "Pending")
    assert events[-1].object.status.state == "Succeeded"


async def test_a_watch_event_carries_the_same_status_as_a_query(stub: Stub) -> None:
    # Watch events are assembled from per-task pieces; a parser must see the one status
    # that a query builds whole, tasks in order.
    call = watch(stub)
    tasks = [sleeping("a", 0), sleeping("b", 0, "a"), sleeping("c", 0, "a"), sleeping("d", 0)]
    await create_ok(stub, job_request("assembled", *tasks))
    events = await collect_until(call, is_terminal("assembled"))
    call.cancel()
    answer = await stub.BatchQueryJobStatus(pb.BatchQueryJobStatusRequest(job_ids=["assembled"]))
    assert events[-1].object == answer.data.jobs[0]
    assert [t.alias for t in events[-1].object.status.tasks] == ["a", "b", "c", "d"]


async def test_a_quiet_stream_gets_heartbeats(stub: Stub) -> None:
    call = watch(stub)
    await collect_until(call, lambda e: e.type == pb.HEARTBEAT, timeout=5)  # the bookmark
    loop = asyncio.get_running_loop()
    start = loop.time()
    beats = await collect_until(call, lambda e: e.type == pb.HEARTBEAT, timeout=5)
    beats += await collect_until(call, lambda e: e.type == pb.HEARTBEAT, timeout=5)
    call.cancel()
    elapsed = loop.time() - start
    assert [e.type for e in beats] == [pb.HEARTBEAT, pb.HEARTBEAT]
    assert not beats[-1].HasField("object")
    assert 1.5 <= elapsed < 4, f"two 1 s heartbeats took {elapsed:.2f} s"


async def test_the_initial_listing_ends_with_a_bookmark_to_resume_from(stub: Stub) -> None:
    await create_ok(stub, job_request("bookmarked", sleeping("t", 0)))
    done = await wait_for_state(stub, "bookmarked", "Succeeded")
    call = watch(stub)
    events = await collect_until(call, lambda e: e.type == pb.HEARTBEAT)
    call.cancel()
    assert [e.type for e in events] == [pb.ADDED, pb.HEARTBEAT]
    assert events[1].resource_version == events[0].resource_version
    assert events[0].object.status.state == done.data.status.state


async def test_a_new_stream_first_lists_existing_jobs_as_added(stub: Stub) -> None:
    await create_ok(stub, job_request("existing-1", sleeping("t", 0)))
    await create_ok(stub, job_request("existing-2", sleeping("t", 0)))
    await wait_for_state(stub, "existing-2", "Succeeded")
    await wait_for_state(stub, "existing-1", "Succeeded")
    call = watch(stub)
    events = await collect_until(call, lambda e: e.object.job_id == "existing-2")
    call.cancel()
    assert [(e.type, e.object.job_id) for e in events] == [
        (pb.ADDED, "existing-1"),
        (pb.ADDED, "existing-2"),
    ]
    assert events[1].object.status.state == "Succeeded"


async def test_job_ids_filter_limits_the_stream(stub: Stub) -> None:
    call = watch(stub, job_ids=["wanted"])
    await create_ok(stub, job_request("unwanted", sleeping("t", 0)))
    await create_ok(stub, job_request("wanted", sleeping("t", 0)))
    events = await collect_until(call, is_terminal("wanted"))
    call.cancel()
    assert {e.object.job_id for e in events if e.type != pb.HEARTBEAT} == {"wanted"}


async def test_a_reconnecting_watcher_misses_nothing_and_duplicates_nothing(stub: Stub) -> None:
    reference = await listed(stub)
    interrupted = await listed(stub)
    await create_ok(stub, job_request("resume-a", sleeping("a", 0.1), sleeping("b", 0.1, "a")))
    first_part = await collect_until(interrupted, lambda e: e.type == pb.MODIFIED)
    interrupted.cancel()
    last = first_part[-1].resource_version
    # changes happen while it is away
    await create_ok(stub, job_request("resume-b", sleeping("a", 0.1)))
    await wait_for_state(stub, "resume-a", "Succeeded")
    await wait_for_state(stub, "resume-b", "Succeeded")
    resumed = watch(stub, resume_from=last)
    second_part = await collect_until(resumed, is_terminal("resume-b"))
    all_reference = await collect_until(reference, is_terminal("resume-b"))
    resumed.cancel()
    reference.cancel()

    def key(events: list[Event]) -> list[tuple[int, int, str, str]]:
        return [
            (e.resource_version, e.type, e.object.job_id, e.object.status.state)
            for e in events
            if e.type != pb.HEARTBEAT
        ]

    assert key(first_part) + key(second_part) == key(all_reference)


async def test_a_resumed_stream_skips_the_initial_listing(stub: Stub) -> None:
    await create_ok(stub, job_request("listed-once", sleeping("t", 0)))
    await wait_for_state(stub, "listed-once", "Succeeded")
    call = watch(stub)
    first = await collect_until(call, lambda e: e.object.job_id == "listed-once")
    call.cancel()
    resumed = watch(stub, resume_from=first[-1].resource_version)
    beat = await collect_until(resumed, lambda e: True, timeout=5)
    resumed.cancel()
    assert [e.type for e in beat] == [pb.HEARTBEAT]
    assert beat[0].resource_version >= first[-1].resource_version


async def test_timeout_seconds_ends_the_stream_normally(stub: Stub) -> None:
    call = watch(stub, timeout_seconds=1)
    loop = asyncio.get_running_loop()
    start = loop.time()
    events = [e async for e in call]
    assert await call.code() == grpc.StatusCode.OK
    assert 0.9 <= loop.time() - start < 3
    assert all(e.type == pb.HEARTBEAT for e in events)


@pytest.mark.parametrize("timeout", [-1, 2**31])
async def test_timeout_outside_the_valid_range_is_invalid_argument(
    stub: Stub, timeout: int
) -> None:
    call = watch(stub, timeout_seconds=timeout)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call.read()
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "[0, 2147483647]" in (error.value.details() or "")


async def test_resume_from_a_version_the_server_never_had_asks_to_relist(stub: Stub) -> None:
    call = watch(stub, resume_from=10_000)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call.read()
    assert error.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert "re-list" in (error.value.details() or "")


async def test_delete_reaches_watchers_as_deleted(stub: Stub) -> None:
    await create_ok(stub, job_request("gone", sleeping("t", 0)))
    await wait_for_state(stub, "gone", "Succeeded")
    call = watch(stub, job_ids=["gone"])
    await collect_until(call, lambda e: e.type == pb.ADDED)
    await stub.DeleteJob(pb.DeleteJobRequest(job_id="gone"))
    events = await collect_until(call, lambda e: e.type == pb.DELETED)
    call.cancel()
    assert events[-1].object.job_id == "gone"


async def test_a_listing_longer_than_a_page_lists_every_job_once_in_order(
    stub: Stub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "_LISTING_PAGE", 2)
    ids = [f"paged-{i}" for i in range(5)]
    for job_id in ids:
        await create_ok(stub, job_request(job_id, sleeping("t", 0)))
    call = watch(stub)
    events = await collect_until(call, lambda e: e.type == pb.HEARTBEAT)
    call.cancel()
    listed = [e.object.job_id for e in events if e.type == pb.ADDED]
    assert len(listed) == len(set(listed))
    assert [job_id for job_id in listed if job_id.startswith("paged-")] == ids
