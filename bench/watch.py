"""3. Watch fan-out: 1,000 concurrent WatchJob subscribers.

Latency: one state change at a time (a CreateJob), timed from just before the call to
the moment each subscriber has the event; p50/p99 over every delivery, and over the
time until the change has reached all subscribers. Throughput: a burst of changes,
messages delivered per second across all streams, against the echo server streaming
messages of the same size to the same number of streams.

The server holds new jobs for approval (--approval-domains bob), so each change is
exactly one event (ADDED) and nothing else competes for the streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator

import grpc

from bench.context import Context
from bench.core import Figure, Target, percentile
from bench.echo import STREAM, stream_request
from bench.jobs import two_task_job
from bench.procs import local_channel
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc

NAME = "watch"
WATCH_JOB = "/kuscia.proto.api.v1alpha1.kusciaapi.JobService/WatchJob"
STREAMS_PER_CHANNEL = 100
DELIVERY_TIMEOUT = 30.0


class Subscribers:
    """`count` WatchJob streams; records when each ADDED event reaches each stream."""

    def __init__(
        self,
        channels: list[grpc.aio.Channel],
        count: int,
        request: pb.WatchJobRequest | None = None,
    ) -> None:
        self.count = count
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.received = 0
        self.sample = b""  # one event as sent, the echo baseline's payload
        self.failures: list[str] = []
        self._target = 0
        self._reached = asyncio.Event()
        raw_request = (request or pb.WatchJobRequest()).SerializeToString()
        # Raw bytes in (no deserializer) so the size of a message is known exactly.
        self._calls = [
            channels[i % len(channels)].unary_stream(WATCH_JOB)(raw_request) for i in range(count)
        ]
        self._tasks = [asyncio.create_task(self._consume(call)) for call in self._calls]

    async def _consume(self, call: grpc.aio.UnaryStreamCall) -> None:  # type: ignore[type-arg]
        try:
            async for raw in call:
                arrived = time.perf_counter()
                event = pb.WatchJobEventResponse.FromString(raw)
                if event.type != pb.ADDED:
                    continue
                self.sample = raw
                self.arrivals[event.object.job_id].append(arrived)
                self.received += 1
                if self.received >= self._target:
                    self._reached.set()
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                self.failures.append(f"{error.code().name}: {error.details()}")

    async def until_received(self, total: int, within: float = DELIVERY_TIMEOUT) -> bool:
        """Wait until `total` ADDED events arrived over all streams; False on timeout."""
        self._target = total
        self._reached.clear()
        if self.received >= total:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._reached.wait(), within)
        return self.received >= total

    async def close(self) -> None:
        for call in self._calls:
            call.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def channels_for(address: str, streams: int) -> AsyncIterator[list[grpc.aio.Channel]]:
    async with contextlib.AsyncExitStack() as stack:
        count = max(streams // STREAMS_PER_CHANNEL, 1)
        yield [await stack.enter_async_context(local_channel(address)) for _ in range(count)]


async def run(ctx: Context) -> list[Figure]:
    streams = ctx.pick(1_000, 100)
    changes = ctx.pick(50, 10)
    burst = ctx.pick(50, 10)
    args = ("--approval-domains", "bob")
    async with (
        ctx.launcher.dagwire("watch", args=args) as server,
        channels_for(server.address, streams) as channels,
    ):
        stub = job_pb2_grpc.JobServiceStub(channels[0])
        subscribers = Subscribers(channels, streams)
        try:
            await create(stub, "warmup")
            if not await subscribers.until_received(streams, within=120):
                raise RuntimeError(
                    f"only {subscribers.received} of {streams} subscribers got the first event"
                )
            ctx.log(f"  {streams} subscribers ready; server RSS {server.rss_mb():.0f} MB")
            deliveries, fan_outs, missed = await _latency(stub, subscribers, changes)
            ctx.log(
                f"  latency: delivery p99 {percentile(deliveries, 99) * 1000:.1f} ms, "
                f"all-subscribers p99 {percentile(fan_outs, 99) * 1000:.1f} ms"
            )
            rate, burst_missed = await _throughput(stub, subscribers, burst)
            missed += burst_missed
            sample = subscribers.sample
            failures = subscribers.failures
        finally:
            await subscribers.close()
    message_size = len(sample)
    ctx.log(f"  stream: {rate:,.0f} msgs/s ({message_size}-byte events)")

    async with ctx.launcher.echo() as echo, channels_for(echo.address, streams) as channels:
        echo_rate = await _echo_stream_rate(channels, streams, burst, sample)
    ctx.log(f"  echo stream: {echo_rate:,.0f} msgs/s")

    latency_target = Target("value", "<", 100.0, "< 100 ms")
    note = f"{streams} subscribers, {changes} changes one at a time"
    if failures:
        note += f"; {len(failures)} streams failed, e.g. {failures[0]}"
    return [
        Figure("watch delivery p50", percentile(deliveries, 50) * 1000, "ms", note=note),
        Figure(
            "watch delivery p99", percentile(deliveries, 99) * 1000, "ms", target=latency_target
        ),
        Figure(
            "watch change -> all subscribers p50",
            percentile(fan_outs, 50) * 1000,
            "ms",
            extra={"slowest_ms": [t * 1000 for t in sorted(fan_outs)[-5:]]},
        ),
        Figure(
            "watch change -> all subscribers p99",
            percentile(fan_outs, 99) * 1000,
            "ms",
            target=latency_target,
        ),
        Figure(
            "watch missed deliveries",
            float(missed + len(failures)),
            "",
            target=Target("value", "==", 0, "0"),
        ),
        Figure(
            "watch stream throughput",
            rate,
            "msgs/s",
            baseline=echo_rate,
            target=Target("ratio", ">=", 0.5, ">= 0.5 x echo stream"),
            note=f"{burst} changes in a burst to {streams} streams; echo: {burst} "
            f"{message_size}-byte messages to each of {streams} streams",
        ),
    ]


async def create(stub: job_pb2_grpc.JobServiceStub, job_id: str) -> None:
    response = await stub.CreateJob(two_task_job(job_id))
    if response.status.code != 0:
        raise RuntimeError(f"CreateJob {job_id}: {response.status.message}")


async def _latency(
    stub: job_pb2_grpc.JobServiceStub, subscribers: Subscribers, changes: int
) -> tuple[list[float], list[float], int]:
    deliveries: list[float] = []
    fan_outs: list[float] = []
    missed = 0
    for index in range(changes):
        job_id = f"latency-{index:04d}"
        expected = subscribers.received + subscribers.count
        began = time.perf_counter()
        await create(stub, job_id)
        await subscribers.until_received(expected)
        arrivals = subscribers.arrivals[job_id]
        missed += subscribers.count - len(arrivals)
        deliveries += [arrived - began for arrived in arrivals]
        if arrivals:
            fan_outs.append(max(arrivals) - began)
        await asyncio.sleep(0.02)  # let both processes settle: one change at a time
    return deliveries, fan_outs, missed


async def _throughput(
    stub: job_pb2_grpc.JobServiceStub, subscribers: Subscribers, burst: int
) -> tuple[float, int]:
    job_ids = [f"burst-{index:04d}" for index in range(burst)]
    expected = subscribers.received + burst * subscribers.count
    began = time.perf_counter()
    creators = 4

    async def create_some(offset: int) -> None:
        for job_id in job_ids[offset::creators]:
            await create(stub, job_id)

    await asyncio.gather(*(create_some(offset) for offset in range(creators)))
    await subscribers.until_received(expected, within=120)
    arrivals = [t for job_id in job_ids for t in subscribers.arrivals[job_id]]
    missed = burst * subscribers.count - len(arrivals)
    if not arrivals:
        return 0.0, missed
    return len(arrivals) / (max(arrivals) - began), missed


async def _echo_stream_rate(
    channels: list[grpc.aio.Channel], streams: int, count: int, payload: bytes
) -> float:
    request = stream_request(count, payload)
    last = 0.0
    received = 0

    async def consume(channel: grpc.aio.Channel) -> None:
        nonlocal last, received
        async for raw in channel.unary_stream(STREAM)(request):
            last = time.perf_counter()
            # Decoded as the watch subscribers decode theirs: the client's work is equal.
            pb.WatchJobEventResponse.FromString(raw)
            received += 1

    began = time.perf_counter()
    await asyncio.gather(*(consume(channels[i % len(channels)]) for i in range(streams)))
    return received / (last - began)
