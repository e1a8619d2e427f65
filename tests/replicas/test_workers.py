"""`--workers N` as users run it: one `python -m dagwire.server` that starts N API worker
processes on one port (dagwire.server.workers), on a throwaway PostgreSQL database.
The kernel spreads connections over the workers; whichever worker a call lands on, a
watcher sees every job in one total order (the event log's), resumes on any worker, and
a worker killed -9 loses no acknowledged job."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import grpc

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.eventually import assert_eventually
from tests.processes import ServerProcess
from tests.replicas.conftest import (
    all_in,
    job_states,
    noop_job,
    stored_events,
)

WORKERS = 3


def children(pid: int) -> list[int]:
    """The processes `pid` started (its workers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return sorted(found)


def connection(address: str) -> grpc.aio.Channel:
    """A channel with a TCP connection of its own: the kernel picks the worker per
    connection, so calls over separate channels reach different workers."""
    return grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])


@contextlib.contextmanager
def workers_server(workdir: Path, url: str, *args: str) -> Iterator[ServerProcess]:
    server = ServerProcess(
        workdir,
        "--database-url",
        url,
        "--workers",
        str(WORKERS),
        "--replica-id",
        "wk",
        *args,
    ).start()
    try:
        yield server
    except BaseException:
        print(server.log_path.read_text()[-6000:])
        raise
    finally:
        with contextlib.suppress(Exception):
            server.stop(timeout=60)


@contextlib.asynccontextmanager
async def stubs(address: str, count: int) -> AsyncIterator[list[job_pb2_grpc.JobServiceStub]]:
    channels = [connection(address) for _ in range(count)]
    try:
        yield [job_pb2_grpc.JobServiceStub(channel) for channel in channels]
    finally:
        for channel in channels:
            await channel.close()


async def watch(
    stub: job_pb2_grpc.JobServiceStub, count: int, resume_from: int = 0
) -> list[tuple[int, str, str]]:
    """The first `count` events but heartbeats, as (resource_version, type, job)."""
    got: list[tuple[int, str, str]] = []
    request = pb.WatchJobRequest(timeout_seconds=120, resume_from=resume_from)
    async for event in stub.WatchJob(request):
        if event.type == pb.HEARTBEAT:
            continue
        got.append((event.resource_version, pb.EventType.Name(event.type), event.object.job_id))
        if len(got) == count:
            break
    return got


async def owners(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return {row[0]: row[1] for row in await conn.fetch("SELECT job_id, owner FROM job_owners")}
    finally:
        await conn.close()


async def test_workers_serve_one_port_and_watchers_see_one_order_and_resume_anywhere(
    tmp_path: Path, pg_url: str
) -> None:
    """Jobs held for approval (so that each keeps its owner row: the worker that created
    it): 60 created over 12 connections, watched over 3 others from the start, then
    resumed from the middle over 3 more."""
    with workers_server(tmp_path, pg_url, "--approval-domains", "bob") as server:
        assert f"{WORKERS} workers" in server.banner
        assert server._process is not None
        assert len(children(server._process.pid)) == WORKERS
        async with stubs(server.address, 3) as watching, stubs(server.address, 12) as creating:
            # A watcher is live once its bookmark (after the empty initial listing) came.
            ready = [asyncio.Event() for _ in watching]

            async def follow(index: int) -> list[tuple[int, str, str]]:
                got: list[tuple[int, str, str]] = []
                async for event in watching[index].WatchJob(
                    pb.WatchJobRequest(timeout_seconds=120)
                ):
                    if event.type == pb.HEARTBEAT:
                        ready[index].set()
                        continue
                    got.append(
                        (event.resource_version, pb.EventType.Name(event.type), event.object.job_id)
                    )
                    if len(got) == 60:
                        return got
                return got

            watchers = [asyncio.create_task(follow(index)) for index in range(3)]
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in ready)), 30)

            async def create(index: int) -> None:
                for n in range(5):
                    reply = await creating[index].CreateJob(noop_job(f"job-{index:02d}-{n}"))
                    assert reply.status.code == 0, reply.status.message

            await asyncio.gather(*(create(index) for index in range(12)))
            seen = await asyncio.wait_for(asyncio.gather(*watchers), 60)
            log = await stored_events(pg_url)
            assert len(log) == 60
            for got in seen:
                assert got == log, "every watcher sees the log's one order, whole"
            by = await owners(pg_url)
            assert len(by) == 60
            assert len(set(by.values())) >= 2, f"all jobs went through one worker: {by}"
            assert set(by.values()) <= {f"wk-w{index}" for index in range(WORKERS)}

            middle = log[29][0]
            async with stubs(server.address, 3) as resuming:
                resumed = await asyncio.wait_for(
                    asyncio.gather(*(watch(stub, 30, resume_from=middle) for stub in resuming)),
                    60,
                )
            for got in resumed:
                assert got == log[30:], "a resumed watch gets exactly what came after"


async def test_a_worker_killed_under_load_loses_no_acknowledged_job_and_comes_back(
    tmp_path: Path, pg_url: str
) -> None:
    with workers_server(tmp_path, pg_url, "--lease-seconds", "2") as server:
        assert server._process is not None
        before = children(server._process.pid)
        acknowledged: list[str] = []
        stop = asyncio.Event()

        async def create(stub: job_pb2_grpc.JobServiceStub, index: int) -> None:
            n = 0
            while not stop.is_set():
                job_id = f"load-{index:02d}-{n}"
                n += 1
                try:
                    reply = await stub.CreateJob(noop_job(job_id), timeout=10)
                except grpc.aio.AioRpcError:
                    await asyncio.sleep(0.05)  # that worker died: not acknowledged
                    continue
                if reply.status.code == 0:
                    acknowledged.append(job_id)

        async with stubs(server.address, 8) as creating:
            load = [asyncio.create_task(create(stub, i)) for i, stub in enumerate(creating)]
            await assert_eventually(lambda: len(acknowledged) >= 40, timeout=60)
            os.kill(before[0], signal.SIGKILL)
            mark = len(acknowledged)
            await assert_eventually(lambda: len(acknowledged) >= mark + 40, timeout=60)
            stop.set()
            await asyncio.gather(*load)

        async def restarted() -> bool:
            now = children(server._process.pid)  # type: ignore[union-attr]
            return len(now) == WORKERS and before[0] not in now

        await assert_eventually(restarted, timeout=60)
        async with stubs(server.address, 1) as (stub,):

            async def all_succeeded() -> bool:
                states = await job_states(stub, acknowledged)
                assert set(states) == set(acknowledged), "an acknowledged job was lost"
                return all_in(states, {"Succeeded"})

            await assert_eventually(all_succeeded, timeout=120)


def test_more_than_one_worker_on_sqlite_is_refused_with_a_reason(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dagwire.server", "--data-dir", str(tmp_path), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--workers 2 needs PostgreSQL" in result.stderr
    assert "use --workers 1" in result.stderr
