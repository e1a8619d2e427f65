"""1. CreateJob throughput: 2-task jobs from 32 concurrent clients for 10 s, against the
bare echo unary at the same concurrency with a request of the same size.

The jobs use the in-process no-op image, so the server also runs every job it accepts
(two more commits per job) while the load goes on: the target figure is what the server
sustains, not only what its front door accepts (a server accepting faster than it runs
builds a backlog without bound). The same load against jobs held for approval, which
run nothing, is reported beside it as the ceiling of the API path alone.
"""

from __future__ import annotations

import contextlib

import grpc

from bench.context import Context, LoadResult, closed_loop
from bench.core import Figure, Target, percentile
from bench.echo import UNARY
from bench.jobs import two_task_job
from bench.procs import local_channel
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc

NAME = "createjob"
CLIENTS = 32


async def run(ctx: Context) -> list[Figure]:
    seconds = ctx.pick_seconds(10.0, 2.0)
    payload = two_task_job("cj-00-0000000").SerializeToString()

    async with ctx.launcher.echo() as echo:
        echo_result = await _echo_load(echo.address, payload, seconds)
    ctx.log(f"  echo unary: {echo_result.rate:,.0f} calls/s")

    async with ctx.launcher.dagwire("createjob") as server:
        started = server.cpu_seconds()
        sustained = await _create_load(server.address, seconds)
        cpu_ms = (server.cpu_seconds() - started) / max(sustained.completed, 1) * 1000
    ctx.log(
        f"  CreateJob, jobs run: {sustained.rate:,.0f} jobs/s ({sustained.errors} errors, "
        f"{cpu_ms:.1f} ms server CPU per job)"
    )

    # The same load on a server that holds every new job for approval: one write per
    # CreateJob and nothing run, the ceiling of the API path alone.
    async with ctx.launcher.dagwire("createjob-held", args=("--approval-domains", "bob")) as server:
        held = await _create_load(server.address, seconds)
    ctx.log(f"  CreateJob, jobs held for approval: {held.rate:,.0f} jobs/s")

    note = f"{CLIENTS} clients, {seconds:g} s, {len(payload)}-byte requests; jobs run to Succeeded"
    note += f" (no-op image), {cpu_ms:.1f} ms server CPU per job"
    if sustained.errors or held.errors:
        note += f"; {sustained.errors + held.errors} CreateJob calls failed"
    return [
        Figure(
            "createjob throughput",
            sustained.rate,
            "jobs/s",
            baseline=echo_result.rate,
            target=Target("ratio", ">=", 0.60, ">= 0.60 x echo"),
            note=note,
        ),
        Figure(
            "createjob throughput, jobs held (API path)",
            held.rate,
            "jobs/s",
            baseline=echo_result.rate,
            note="same load, --approval-domains bob: one write per call, nothing runs",
        ),
        Figure(
            "createjob p50 latency under load",
            percentile(sustained.latencies, 50) * 1000,
            "ms",
            baseline=percentile(echo_result.latencies, 50) * 1000,
        ),
        Figure(
            "createjob p99 latency under load",
            percentile(sustained.latencies, 99) * 1000,
            "ms",
            baseline=percentile(echo_result.latencies, 99) * 1000,
        ),
    ]


async def _echo_load(address: str, payload: bytes, seconds: float) -> LoadResult:
    async with contextlib.AsyncExitStack() as stack:
        channels = [await stack.enter_async_context(local_channel(address)) for _ in range(CLIENTS)]
        calls = [channel.unary_unary(UNARY) for channel in channels]

        async def call(worker: int, sequence: int) -> bool:
            try:
                await calls[worker](payload)
            except grpc.aio.AioRpcError:
                return False
            return True

        return await closed_loop(CLIENTS, seconds, call)


async def _create_load(address: str, seconds: float) -> LoadResult:
    async with contextlib.AsyncExitStack() as stack:
        channels = [await stack.enter_async_context(local_channel(address)) for _ in range(CLIENTS)]
        stubs = [job_pb2_grpc.JobServiceStub(channel) for channel in channels]
        template = two_task_job("")

        async def call(worker: int, sequence: int) -> bool:
            # Copying a template keeps the client's own cost per call low; fixed-width ids
            # keep every request as long as the echo payload.
            request = pb.CreateJobRequest()
            request.CopyFrom(template)
            request.job_id = f"cj-{worker:02d}-{sequence:07d}"
            try:
                response = await stubs[worker].CreateJob(request)
            except grpc.aio.AioRpcError:
                return False
            return response.status.code == 0

        return await closed_loop(CLIENTS, seconds, call)
