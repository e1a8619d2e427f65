"""CreateJob throughput with 1 and with 3 replicas on one PostgreSQL database, against
the bare echo unary measured in the same run (and one server on SQLite for reference):
jobs held for approval (one write per call) and jobs run to Succeeded. While each load
runs, the sessions waiting for a lock are sampled: their time per job is the serial
section that writes of several replicas queue for.

The load is createjob's: 2-task no-op jobs from 32 concurrent clients for 10 s, the jobs
run to Succeeded while the load goes on. With 3 replicas the clients are spread
round-robin over them, as a load balancer would; all replicas share the data dir. After
each load the benchmark waits until every accepted job has finished (a replica that
accepts faster than the replicas together run would build a backlog) and checks the
database: every job Succeeded.

Needs PostgreSQL at DAGWIRE_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/
postgres, a superuser: each measurement gets a throwaway database).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator

import grpc

from bench.context import Context, LoadResult, closed_loop
from bench.core import Figure, percentile
from bench.createjob import CLIENTS, _echo_load
from bench.jobs import two_task_job
from bench.procs import Server, local_channel
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc

NAME = "replicas"
ADMIN_DSN = os.environ.get("DAGWIRE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SETTLE_TIMEOUT = 300.0


async def run(ctx: Context) -> list[Figure]:
    seconds = ctx.pick_seconds(10.0, 2.0)
    payload = two_task_job("cj-00-0000000").SerializeToString()
    try:
        import asyncpg

        admin = await asyncpg.connect(ADMIN_DSN, timeout=3)
        await admin.close()
    except Exception as error:  # skipped, saying why, as the tests are
        return [
            Figure(
                "replicas: createjob (skipped)",
                float("nan"),
                "jobs/s",
                note=f"PostgreSQL is not reachable at {ADMIN_DSN}: {error}",
            )
        ]

    async with ctx.launcher.echo() as echo:
        echo_result = await _echo_load(echo.address, payload, seconds)
    ctx.log(f"  echo unary: {echo_result.rate:,.0f} calls/s")

    async with ctx.launcher.dagwire("replicas-sqlite") as server:
        sqlite = await _create_load([server], seconds)
    ctx.log(f"  1 server, SQLite: {sqlite.rate:,.0f} jobs/s")

    figures = [
        Figure(
            "replicas: createjob, 1 server on SQLite (reference)",
            sqlite.rate,
            "jobs/s",
            baseline=echo_result.rate,
            note=f"{CLIENTS} clients, {seconds:g} s, 2-task no-op jobs run to Succeeded",
        )
    ]
    for held in (True, False):
        figures += await _compare(ctx, seconds, echo_result.rate, held=held)
    return figures


async def _compare(ctx: Context, seconds: float, echo_rate: float, *, held: bool) -> list[Figure]:
    """1 and 3 replicas under the same load: jobs run to Succeeded, or held for
    approval (one write per call, nothing runs)."""
    results: dict[int, tuple[LoadResult, float, float, float]] = {}
    extra = ("--approval-domains", "bob") if held else ()
    kind = "held" if held else "run"
    for count in (1, 3):
        async with _database() as url, _replicas(ctx, count, url, extra) as servers:
            cpu_before = sum(server.cpu_seconds() for server in servers)
            async with _lock_waits(url) as waits:
                result = await _create_load(servers, seconds)
            settle = await _settle(url, result.calls, held=held)
            cpu_ms = (
                (sum(server.cpu_seconds() for server in servers) - cpu_before)
                / max(result.completed, 1)
                * 1000
            )
        # Time write transactions spent waiting for locks (the serial section), per job.
        wait_ms = waits.mean() * seconds / max(result.completed, 1) * 1000
        results[count] = (result, settle, cpu_ms, wait_ms)
        ctx.log(
            f"  {count} replica(s), PostgreSQL, {kind}: {result.rate:,.0f} jobs/s "
            f"({result.errors} errors, p99 {percentile(result.latencies, 99) * 1000:.1f} ms, "
            f"all finished {settle:.1f} s after the load, {cpu_ms:.1f} ms server CPU "
            f"per job, {wait_ms:.2f} ms waited for locks per job)"
        )

    one, three = results[1][0], results[3][0]
    what = "held for approval" if held else "run to Succeeded"
    note = f"{CLIENTS} clients, {seconds:g} s, 2-task no-op jobs {what}"
    figures = []
    for count, label in ((1, "1 replica"), (3, "3 replicas")):
        result, settle, cpu_ms, wait_ms = results[count]
        figures.append(
            Figure(
                f"replicas: createjob {kind}, {label} on PostgreSQL",
                result.rate,
                "jobs/s",
                baseline=echo_rate,
                note=f"{note}; backlog done {settle:.1f} s after the load; "
                f"{cpu_ms:.1f} ms server CPU per job (all replicas); "
                f"{wait_ms:.2f} ms lock wait per job"
                + (f"; {result.errors} calls failed" if result.errors else ""),
                extra={
                    "p50_ms": percentile(result.latencies, 50) * 1000,
                    "p99_ms": percentile(result.latencies, 99) * 1000,
                    "settle_seconds": settle,
                    "cpu_ms_per_job": cpu_ms,
                    "lock_wait_ms_per_job": wait_ms,
                },
            )
        )
    figures.append(
        Figure(
            f"replicas: createjob {kind}, 3 replicas vs 1",
            three.rate / one.rate if one.rate else float("nan"),
            "x",
            note=f"on {os.cpu_count()} cores shared by the replicas, PostgreSQL and the clients",
        )
    )
    return figures


class _Waits:
    def __init__(self) -> None:
        self.samples: list[int] = []

    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else 0.0


@contextlib.asynccontextmanager
async def _lock_waits(url: str) -> AsyncIterator[_Waits]:
    """Samples, every 10 ms, how many of the database's sessions wait for a lock: the
    mean times the load's duration is the time spent queueing for the serial section."""
    import asyncpg

    waits = _Waits()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=3)
    database = url.rsplit("/", 1)[1]

    async def sample() -> None:
        while True:
            waits.samples.append(
                int(
                    await conn.fetchval(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = $1 AND wait_event_type = 'Lock'",
                        database,
                    )
                )
            )
            await asyncio.sleep(0.01)

    task = asyncio.create_task(sample())
    try:
        yield waits
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await conn.close()


@contextlib.asynccontextmanager
async def _database() -> AsyncIterator[str]:
    import asyncpg

    name = f"dagwire_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_DSN, timeout=3)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(ADMIN_DSN, timeout=3)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.asynccontextmanager
async def _replicas(
    ctx: Context, count: int, url: str, extra: tuple[str, ...] = ()
) -> AsyncIterator[list[Server]]:
    data = ctx.scratch(f"replicas-{count}-{uuid.uuid4().hex[:6]}")
    async with contextlib.AsyncExitStack() as stack:
        servers = [
            await stack.enter_async_context(
                ctx.launcher.dagwire(
                    f"replicas-{count}-{index}",
                    data_dir=data,
                    args=(
                        "--database-url",
                        url,
                        "--replica-id",
                        f"bench-{index}",
                        "--workers",
                        "1",
                        *extra,
                    ),
                )
            )
            for index in range(count)
        ]
        yield servers


async def _create_load(servers: list[Server], seconds: float) -> LoadResult:
    """createjob's closed loop, client i talking to server i mod N."""
    async with contextlib.AsyncExitStack() as stack:
        channels = [
            await stack.enter_async_context(local_channel(servers[i % len(servers)].address))
            for i in range(CLIENTS)
        ]
        stubs = [job_pb2_grpc.JobServiceStub(channel) for channel in channels]
        template = two_task_job("")

        async def call(worker: int, sequence: int) -> bool:
            request = pb.CreateJobRequest()
            request.CopyFrom(template)
            request.job_id = f"cj-{worker:02d}-{sequence:07d}"
            try:
                response = await stubs[worker].CreateJob(request)
            except grpc.aio.AioRpcError:
                return False
            return response.status.code == 0

        return await closed_loop(CLIENTS, seconds, call)


async def _settle(url: str, expected: int, *, held: bool = False) -> float:
    """Seconds until every stored job is final, checking that all Succeeded (held: that
    every job is stored, awaiting approval)."""
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    began = time.perf_counter()
    conn = await asyncpg.connect(dsn, timeout=3)
    try:
        while True:
            rows = await conn.fetch("SELECT state, count(*) AS n FROM jobs GROUP BY state")
            counts = {row["state"]: int(row["n"]) for row in rows}
            if held:
                if set(counts) - {"awaiting_approval"}:
                    raise RuntimeError(f"held jobs did not all wait for approval: {counts}")
                if counts.get("awaiting_approval", 0) < expected:
                    raise RuntimeError(f"fewer jobs stored than acknowledged: {counts}")
                return time.perf_counter() - began
            # `expected` counts the calls inside the measured window; warm-up ones add more.
            if set(counts) == {"succeeded"} and counts["succeeded"] >= expected:
                return time.perf_counter() - began
            if set(counts) - {"succeeded", "running", "pending", "initialized"}:
                raise RuntimeError(f"jobs did not all succeed: {counts}")
            if time.perf_counter() - began > SETTLE_TIMEOUT:
                raise RuntimeError(f"jobs still unfinished after {SETTLE_TIMEOUT:g} s: {counts}")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
