"""6. Memory: the server's resident set with 100k stored jobs and 1,000 watchers.

The watchers resume from the latest resource_version (dagwire's extension). A plain
Kuscia watcher first receives a synthetic ADDED for every stored job; one such watcher
is measured last, for the time its initial listing takes and the peak it costs.
"""

from __future__ import annotations

import asyncio
import time

from bench.context import Context
from bench.core import Figure
from bench.jobs import latest_resource_version
from bench.watch import Subscribers, channels_for, create
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc

NAME = "memory"
SETTLE = 0.5


async def run(ctx: Context) -> list[Figure]:
    stored = ctx.pick(100_000, 20_000)
    watchers = ctx.pick(1_000, 100)
    label = f"{stored // 1000}k jobs"

    async with ctx.launcher.dagwire("memory-empty") as server:
        await asyncio.sleep(SETTLE)
        empty = server.rss_mb()
    ctx.log(f"  empty: {empty:.0f} MB")

    data_dir = await ctx.seeds.data_dir(stored, ctx.workdir / "memory-data")
    resume_from = latest_resource_version(data_dir)
    async with ctx.launcher.dagwire("memory", data_dir=data_dir) as server:
        await asyncio.sleep(SETTLE)
        idle = server.rss_mb()
        ctx.log(f"  {label}: {idle:.0f} MB")
        async with channels_for(server.address, watchers) as channels:
            request = pb.WatchJobRequest(resume_from=resume_from)
            subscribers = Subscribers(channels, watchers, request)
            try:
                await create(job_pb2_grpc.JobServiceStub(channels[0]), "memory-probe")
                if not await subscribers.until_received(watchers, within=120):
                    raise RuntimeError(f"only {subscribers.received} of {watchers} watchers ready")
                await asyncio.sleep(SETTLE)
                watched = server.rss_mb()
            finally:
                await subscribers.close()
        ctx.log(f"  {label} + {watchers} watchers: {watched:.0f} MB")

        # One plain Kuscia watcher: the initial ADDED burst for every stored job.
        async with channels_for(server.address, 1) as channels:
            listing = Subscribers(channels, 1)
            began = time.perf_counter()
            try:
                complete = await listing.until_received(stored + 1, within=180)
                listing_seconds = time.perf_counter() - began
            finally:
                await listing.close()
        peak = server.peak_rss_mb()
        ctx.log(
            f"  initial listing of {stored + 1:,} jobs: {listing_seconds:.1f} s, peak {peak:.0f} MB"
        )

    per_watcher_kb = (watched - idle) * 1024 / watchers
    return [
        Figure(
            f"memory RSS, {label}",
            idle,
            "MB",
            baseline=empty,
            note="baseline: the same server with an empty data dir",
        ),
        Figure(
            f"memory RSS, {label} + {watchers:,} watchers",
            watched,
            "MB",
            baseline=empty,
            note=f"{per_watcher_kb:.0f} KB per watcher (resuming from the latest version)",
        ),
        Figure(
            f"memory peak RSS after a plain watch of {label}",
            peak,
            "MB",
            baseline=empty,
            note=f"initial ADDED listing took {listing_seconds:.1f} s"
            + ("" if complete else f" and was incomplete ({listing.received:,} events)"),
        ),
    ]
