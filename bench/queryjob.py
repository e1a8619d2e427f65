"""2. QueryJob latency, p50 and p99, with 1k, 10k and 100k stored jobs.

One client, one call at a time (latency, not throughput), random stored jobs, after a
warm-up. The target is about scaling: p99 at 100k under twice p99 at 1k.
"""

from __future__ import annotations

import random
import time

from bench.context import Context
from bench.core import Figure, Target, percentile
from bench.echo import UNARY
from bench.jobs import seed_job_id
from bench.procs import local_channel
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc

NAME = "queryjob"


async def run(ctx: Context) -> list[Figure]:
    sizes = [1_000, 10_000, 100_000] if not ctx.quick else [1_000, 5_000, 20_000]
    calls = ctx.pick(3_000, 500)
    p50: dict[int, float] = {}
    p99: dict[int, float] = {}
    response_size = 0
    for size in sizes:
        data_dir = await ctx.seeds.data_dir(size, ctx.workdir / f"queryjob-{size}")
        async with ctx.launcher.dagwire(f"queryjob-{size}", data_dir=data_dir) as server:
            latencies, response_size = await _query_latencies(server.address, size, calls)
        p50[size], p99[size] = percentile(latencies, 50), percentile(latencies, 99)
        ctx.log(f"  {size:>7,} jobs: p50 {p50[size] * 1000:.2f} ms, p99 {p99[size] * 1000:.2f} ms")

    async with ctx.launcher.echo() as echo:
        echo_latencies = await _echo_latencies(echo.address, response_size, calls)
    echo_p50, echo_p99 = percentile(echo_latencies, 50), percentile(echo_latencies, 99)

    small, large = sizes[0], sizes[-1]
    figures = []
    for size in sizes:
        figures.append(
            Figure(
                f"queryjob p50 @ {size // 1000}k jobs",
                p50[size] * 1000,
                "ms",
                baseline=echo_p50 * 1000,
                note=""
                if size != small
                else f"{calls} sequential calls per size; baseline: echo unary, "
                f"{response_size}-byte payload",
            )
        )
        figures.append(
            Figure(
                f"queryjob p99 @ {size // 1000}k jobs",
                p99[size] * 1000,
                "ms",
                baseline=echo_p99 * 1000,
            )
        )
    figures.append(
        Figure(
            f"queryjob p99 @ {large // 1000}k vs @ {small // 1000}k",
            p99[large] * 1000,
            "ms",
            baseline=p99[small] * 1000,
            target=Target("ratio", "<", 2.0, f"< 2 x p99 @ {small // 1000}k"),
        )
    )
    return figures


async def _query_latencies(address: str, stored: int, calls: int) -> tuple[list[float], int]:
    rng = random.Random(stored)
    latencies: list[float] = []
    size = 0
    async with local_channel(address) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)
        for index in range(calls + calls // 10):
            request = pb.QueryJobRequest(job_id=seed_job_id(rng.randrange(stored)))
            began = time.perf_counter()
            response = await stub.QueryJob(request)
            elapsed = time.perf_counter() - began
            if response.status.code != 0:
                raise RuntimeError(f"QueryJob failed: {response.status.message}")
            if index >= calls // 10:  # the first tenth warms up caches and connections
                latencies.append(elapsed)
            size = response.ByteSize()
    return latencies, size


async def _echo_latencies(address: str, size: int, calls: int) -> list[float]:
    payload = b"x" * size
    latencies = []
    async with local_channel(address) as channel:
        echo = channel.unary_unary(UNARY)
        for index in range(calls + calls // 10):
            began = time.perf_counter()
            await echo(payload)
            if index >= calls // 10:
                latencies.append(time.perf_counter() - began)
    return latencies
