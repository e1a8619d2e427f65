"""5. Start-up: `dagwire serve` until health reports SERVING, on an empty data dir and on
one holding 100k stored jobs.

Timed from spawning the command to the first SERVING answer of a Health/Check polled
every 5 ms on a port chosen up front; the median of a few tries is the figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import statistics
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.context import Context
from bench.core import Figure, Target
from bench.procs import free_port

NAME = "startup"
POLL = 0.005
GIVE_UP = 60.0


async def run(ctx: Context) -> list[Figure]:
    tries = ctx.pick(3, 1)
    stored = ctx.pick(100_000, 20_000)
    figures = []
    for label, count in (("empty data dir", 0), (f"{stored // 1000}k stored jobs", stored)):
        times = []
        for attempt in range(tries):
            data_dir = await ctx.seeds.data_dir(count, ctx.workdir / f"startup-{count}-{attempt}")
            times.append(await _time_to_serving(ctx, data_dir, f"startup-{count}-{attempt}"))
            shutil.rmtree(data_dir, ignore_errors=True)
        ctx.log(f"  {label}: " + ", ".join(f"{t:.2f} s" for t in times))
        figures.append(
            Figure(
                f"startup to SERVING, {label}",
                statistics.median(times),
                "s",
                target=Target("value", "<", 1.0, "< 1 s"),
                note=f"median of {tries}: " + ", ".join(f"{t:.2f}" for t in times),
            )
        )
    return figures


def _serve_command() -> list[str]:
    script = Path(sys.executable).parent / "dagwire"
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-c", "from dagwire.client.cli import main; main()", "serve"]


async def _time_to_serving(ctx: Context, data_dir: Path, name: str) -> float:
    address = f"127.0.0.1:{free_port()}"
    command = [
        *_serve_command(),
        "--listen",
        address,
        "--data-dir",
        str(data_dir),
        "--log-format",
        "json",
    ]
    log = (ctx.workdir / f"{name}.log").open("wb")
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=log
    )
    try:
        # Without short backoffs a refused connection would delay the next try by a second.
        options = [
            ("grpc.initial_reconnect_backoff_ms", 5),
            ("grpc.min_reconnect_backoff_ms", 5),
            ("grpc.max_reconnect_backoff_ms", 10),
        ]
        async with grpc.aio.insecure_channel(address, options=options) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.perf_counter() - began < GIVE_UP:
                if process.returncode is not None:
                    raise RuntimeError(f"dagwire serve exited with {process.returncode}")
                with contextlib.suppress(grpc.aio.AioRpcError):
                    response = await stub.Check(health_pb2.HealthCheckRequest(), timeout=0.25)
                    if response.status == health_pb2.HealthCheckResponse.SERVING:
                        return time.perf_counter() - began
                await asyncio.sleep(POLL)
        raise RuntimeError(f"not SERVING within {GIVE_UP:g} s")
    finally:
        log.close()
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
