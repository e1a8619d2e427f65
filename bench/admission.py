"""8. Admission under real process load: CreateJob and QueryJob p99 while 500 jobs of the
`secretflow-image` kind (a Python process per party, Kuscia's two-task example shape)
drain, and the most party processes alive at once.

Run twice in the same window: with the server's default capacity (--capacity-cpu unset:
the machine's cores), and with a capacity far above the load, which is how the server
behaved before admission (every created job started its processes at once). 32 clients
create the jobs as fast as the server answers; meanwhile and then one client queries
random created jobs back to back for a fixed window. A sampler thread counts, every 5 ms,
the live Python processes whose environment points into the server's data dir: the
parties of this run only. The servers stop at the end of the window: waiting parties are
never launched, and what runs finishes by itself within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
import time
from pathlib import Path

import grpc

from bench.context import Context
from bench.core import Figure, Target, percentile
from bench.jobs import two_task_job
from bench.procs import local_channel
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc

NAME = "admission"
CLIENTS = 32
IMAGE = "secretflow-image"
UNBOUNDED = "100000"  # cores: no launch ever waits, as before admission


class ProcessSampler:
    """The most live Python processes at once whose environment names `needle`."""

    def __init__(self, needle: str) -> None:
        self._needle = needle.encode()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._count())

    def _count(self) -> int:
        found = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if (entry / "comm").read_text().startswith("python") and self._needle in (
                    entry / "environ"
                ).read_bytes():
                    found += 1
            except OSError:  # gone meanwhile, or not ours to read
                continue
        return found


async def run(ctx: Context) -> list[Figure]:
    jobs = ctx.pick(500, 60)
    window = ctx.pick_seconds(20.0, 5.0)
    cores = len(os.sched_getaffinity(0))
    figures: list[Figure] = []
    measured: dict[str, tuple[float, float, int]] = {}
    for label, args in (("unbounded", ["--capacity-cpu", UNBOUNDED]), ("default", [])):
        async with ctx.launcher.dagwire(f"admission-{label}", args=args) as server:
            assert server.data_dir is not None
            with ProcessSampler(str(server.data_dir.resolve())) as sampler:
                creates, created = await _create_all(server.address, jobs, label)
                queries = await _query_for(server.address, created, window)
            peak = sampler.peak
        measured[label] = (percentile(creates, 99), percentile(queries, 99), peak)
        ctx.log(
            f"  {label:>9}: CreateJob p99 {measured[label][0] * 1000:.1f} ms, QueryJob p99 "
            f"{measured[label][1] * 1000:.1f} ms, at most {peak} processes at once"
        )
    create_before, query_before, peak_before = measured["unbounded"]
    create_after, query_after, peak_after = measured["default"]
    note = f"{jobs} {IMAGE} jobs (2 tasks x 2 parties), {CLIENTS} creating clients"
    figures.append(
        Figure(
            "admission CreateJob p99 while draining",
            create_after * 1000,
            "ms",
            baseline=create_before * 1000,
            target=Target("value", "<", 50.0, "< 50 ms"),
            note=f"{note}; baseline: no admission (capacity {UNBOUNDED} cores)",
        )
    )
    figures.append(
        Figure(
            "admission QueryJob p99 while draining",
            query_after * 1000,
            "ms",
            baseline=query_before * 1000,
            target=Target("value", "<", 50.0, "< 50 ms"),
            note=f"one client, back to back, {window:.0f} s",
        )
    )
    figures.append(
        Figure(
            "admission processes at once",
            float(peak_after),
            "processes",
            baseline=float(peak_before),
            target=Target("value", "<=", float(cores), f"<= capacity ({cores} cores)"),
            note="sampled from /proc every 5 ms",
        )
    )
    return figures


async def _create_all(address: str, jobs: int, label: str) -> tuple[list[float], list[str]]:
    """Create `jobs` jobs from CLIENTS clients as fast as they are answered: the latency of
    each call, and the ids created."""
    ids = [f"adm-{label[:3]}-{index:05d}" for index in range(jobs)]
    pending = list(reversed(ids))
    latencies: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        channels = [await stack.enter_async_context(local_channel(address)) for _ in range(CLIENTS)]

        async def client(channel: grpc.aio.Channel) -> None:
            stub = job_pb2_grpc.JobServiceStub(channel)
            while pending:
                request = two_task_job(pending.pop(), IMAGE)
                began = time.perf_counter()
                response = await stub.CreateJob(request)
                latencies.append(time.perf_counter() - began)
                if response.status.code != 0:
                    raise RuntimeError(f"CreateJob failed: {response.status.message}")

        await asyncio.gather(*(client(channel) for channel in channels))
    return latencies, ids


async def _query_for(address: str, ids: list[str], seconds: float) -> list[float]:
    rng = random.Random(len(ids))
    latencies: list[float] = []
    async with local_channel(address) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            began = time.perf_counter()
            response = await stub.QueryJob(pb.QueryJobRequest(job_id=rng.choice(ids)))
            latencies.append(time.perf_counter() - began)
            if response.status.code != 0:
                raise RuntimeError(f"QueryJob failed: {response.status.message}")
    return latencies
