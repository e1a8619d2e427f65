"""Opening a watch costs what the caller may see: a tenant's watch never reads (decodes)
another tenant's jobs, however large, so a stored 10,000-task job of bob's neither slows
alice's watches nor her queries. (Before: 300 opens by alice stalled the server 305 s,
and her QueryJob of a one-task job waited 257 s, every open decoding bob's job.)"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.engine.model import Job
from tests.conftest import ServerThread
from tests.security.watch_tenants import ALICE, BOB, chain, noop_task, server_config

__all__ = ["server_config"]

OPENS = 300


@pytest.fixture
def heartbeat_interval() -> float:
    return 0.5  # a replay ends with the first heartbeat


@pytest.fixture
def approval_domains() -> frozenset[str]:
    # bob's job waits for his approval: it stays stored, unfinished, and large.
    return frozenset({"bob"})


async def open_until_bookmark(stub: job_pb2_grpc.JobServiceStub, resume_from: int = 0) -> int:
    """Open a watch, read its initial listing (or replay) up to the first heartbeat; the
    events read."""
    watch = stub.WatchJob(pb.WatchJobRequest(resume_from=resume_from), metadata=ALICE)
    read = 0
    while (event := await watch.read()) is not grpc.aio.EOF:
        read += 1
        if event.type == pb.HEARTBEAT:
            break
    watch.cancel()
    return read


@pytest.mark.timeout(180)  # storing the 10,000-task job takes seconds on a loaded machine
async def test_300_watch_opens_decode_only_the_callers_jobs(
    dagwire_server: ServerThread, channel: grpc.aio.Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = job_pb2_grpc.JobServiceStub(channel)
    created = await stub.CreateJob(chain("bobs-big-job", 10_000, "bob", "carol"), metadata=BOB)
    assert created.status.code == 0, created.status.message
    small = pb.CreateJobRequest(job_id="alices", initiator="alice", tasks=[noop_task("t", "alice")])
    assert (await stub.CreateJob(small, metadata=ALICE)).status.code == 0

    listed = spy(dagwire_server, monkeypatch, "list_jobs_page")

    async def query_small() -> float:
        started = time.perf_counter()
        answer = await stub.QueryJob(pb.QueryJobRequest(job_id="alices"), metadata=ALICE)
        assert answer.status.code == 0
        return time.perf_counter() - started

    started = time.perf_counter()
    reads, query_seconds = await asyncio.gather(
        asyncio.gather(*(open_until_bookmark(stub) for _ in range(OPENS))), query_small()
    )
    elapsed = time.perf_counter() - started

    assert set(reads) == {2}, "each watch listed alice's job, then the bookmark"
    assert {job.job_id for job in listed} == {"alices"}, "bob's job was never read"
    assert sum(len(job.tasks) for job in listed) == OPENS, "one task decoded per open"
    # Generous bounds for a loaded 2-core machine (measured: 1.0 s and 0.9 s).
    assert elapsed < 60 and query_seconds < 30


def spy(server: ServerThread, monkeypatch: pytest.MonkeyPatch, read: str) -> list[Job]:
    """The jobs the store's `read` (a listing or a replay) returns, from now on."""
    store = server.server.store  # type: ignore[union-attr]
    returned: list[Job] = []
    real = getattr(store, read)

    async def recording(*args: Any, **kwargs: Any) -> Any:
        result = await real(*args, **kwargs)
        returned.extend(item if isinstance(item, Job) else item.job for item in result)
        return result

    monkeypatch.setattr(store, read, recording)
    return returned


@pytest.mark.timeout(180)
async def test_300_resumed_watches_replay_only_the_callers_events(
    dagwire_server: ServerThread, channel: grpc.aio.Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = job_pb2_grpc.JobServiceStub(channel)
    small = pb.CreateJobRequest(job_id="alices", initiator="alice", tasks=[noop_task("t", "alice")])
    assert (await stub.CreateJob(small, metadata=ALICE)).status.code == 0
    created = await stub.CreateJob(chain("bobs-big-job", 10_000, "bob", "carol"), metadata=BOB)
    assert created.status.code == 0, created.status.message
    replayed = spy(dagwire_server, monkeypatch, "changes_after")

    # resume_from=1: replay everything after alice's job was added (its run to
    # success), bob's ADDED included.
    reads = await asyncio.gather(*(open_until_bookmark(stub, 1) for _ in range(OPENS)))

    assert min(reads) >= 2, "alice's job's changes, then a heartbeat"
    assert {job.job_id for job in replayed} == {"alices"}, "bob's job was never decoded"
