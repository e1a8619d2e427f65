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
def approval_domains() -> frozenset[str]:
    # bob's job waits for his approval: it stays stored, unfinished, and large.
    return frozenset({"bob"})


async def open_until_bookmark(stub: job_pb2_grpc.JobServiceStub) -> int:
    """Open a watch, read its initial listing up to the bookmark; the events read."""
    watch = stub.WatchJob(pb.WatchJobRequest(), metadata=ALICE)
    read = 0
    while (event := await watch.read()) is not grpc.aio.EOF:
        read += 1
        if event.type == pb.HEARTBEAT:
            break
    watch.cancel()
    return read


async def test_300_watch_opens_decode_only_the_callers_jobs(
    dagwire_server: ServerThread, channel: grpc.aio.Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = job_pb2_grpc.JobServiceStub(channel)
    created = await stub.CreateJob(chain("bobs-big-job", 10_000, "bob", "carol"), metadata=BOB)
    assert created.status.code == 0, created.status.message
    small = pb.CreateJobRequest(job_id="alices", initiator="alice", tasks=[noop_task("t", "alice")])
    assert (await stub.CreateJob(small, metadata=ALICE)).status.code == 0

    store = dagwire_server.server.store  # type: ignore[union-attr]
    listed: list[Job] = []
    real = store.list_jobs_page

    async def counting(*args: Any) -> list[Job]:
        page = await real(*args)
        listed.extend(page)
        return page

    monkeypatch.setattr(store, "list_jobs_page", counting)

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
