"""Load, loopback only and bounded: many CreateJob calls from concurrent clients while
watchers stream. Every call succeeds and every watcher sees every job finish.

The server runs in its own process so that the load does not share its interpreter.
`make load` runs the full size (5,000 jobs, 32 clients, 100 watchers) and prints
the figures; `make test` runs a small one."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.processes import ServerProcess

TERMINAL = {"Succeeded", "Failed", "Cancelled", "ApprovalReject"}


@dataclass(frozen=True)
class LoadResult:
    jobs: int
    errors: int
    create_seconds: float
    settle_seconds: float
    watchers_complete: int


def noop_job(job_id: str) -> pb.CreateJobRequest:
    parties = [pb.Party(domain_id="alice"), pb.Party(domain_id="bob")]
    return pb.CreateJobRequest(
        job_id=job_id,
        initiator="alice",
        max_parallelism=2,
        tasks=[
            pb.Task(alias="a", app_image="dagwire-noop", parties=parties),
            pb.Task(alias="b", app_image="dagwire-noop", parties=parties, dependencies=["a"]),
        ],
    )


async def _watch(
    address: str, expected: set[str], ready: asyncio.Event, counter: list[int]
) -> set[str]:
    finished: set[str] = set()
    async with grpc.aio.insecure_channel(address) as channel:
        call = job_pb2_grpc.JobServiceStub(channel).WatchJob(pb.WatchJobRequest())
        async for event in call:
            if event.type == pb.HEARTBEAT:
                counter[0] += 1
                if counter[0] >= counter[1]:
                    ready.set()
                continue
            if event.object.status.state in TERMINAL:
                finished.add(event.object.job_id)
                if finished >= expected:
                    call.cancel()
                    break
    return finished


async def _create(address: str, job_ids: list[str], errors: list[str]) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)
        for job_id in job_ids:
            try:
                response = await stub.CreateJob(noop_job(job_id), timeout=30)
                if response.status.code != 0:
                    errors.append(f"{job_id}: {response.status.message}")
            except grpc.aio.AioRpcError as error:
                errors.append(f"{job_id}: {error.code()} {error.details()}")


async def run_load(workdir: Path, *, jobs: int, clients: int, watchers: int) -> LoadResult:
    server = ServerProcess(workdir, "--heartbeat-interval", "60").start()
    try:
        job_ids = [f"load-{i:05d}" for i in range(jobs)]
        expected = set(job_ids)
        ready = asyncio.Event()
        counter = [0, watchers]  # bookmarks seen, watchers to wait for
        watching = [
            asyncio.create_task(_watch(server.address, expected, ready, counter))
            for _ in range(watchers)
        ]
        await asyncio.wait_for(ready.wait(), 60)
        errors: list[str] = []
        start = time.perf_counter()
        await asyncio.gather(
            *(_create(server.address, job_ids[i::clients], errors) for i in range(clients))
        )
        created = time.perf_counter()
        seen = await asyncio.wait_for(asyncio.gather(*watching), timeout=600)
        settled = time.perf_counter()
    finally:
        assert server.stop() == 0
    return LoadResult(
        jobs=jobs,
        errors=len(errors),
        create_seconds=created - start,
        settle_seconds=settled - start,
        watchers_complete=sum(1 for s in seen if s >= expected),
    )


async def test_concurrent_creates_with_watchers_lose_nothing(tmp_path: Path) -> None:
    result = await run_load(tmp_path, jobs=300, clients=8, watchers=10)
    assert result.errors == 0
    assert result.watchers_complete == 10


@pytest.mark.load
async def test_load_5000_jobs_32_clients_100_watchers(tmp_path: Path) -> None:
    result = await run_load(tmp_path, jobs=5000, clients=32, watchers=100)
    print(
        f"\nload: {result.jobs} jobs, {result.errors} errors, "
        f"created in {result.create_seconds:.1f} s ({result.jobs / result.create_seconds:.0f}/s), "
        f"all {result.watchers_complete} watchers saw every terminal event after "
        f"{result.settle_seconds:.1f} s"
    )
    assert result.errors == 0
    assert result.watchers_complete == 100
