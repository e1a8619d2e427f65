"""What every benchmark gets from the runner, and the closed-loop load helper they share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.jobs import SeedCache
from bench.procs import Launcher


@dataclass
class Context:
    quick: bool
    workdir: Path
    launcher: Launcher
    seeds: SeedCache
    log: Callable[[str], None] = print

    def scratch(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pick(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def pick_seconds(self, full: float, quick: float) -> float:
        return quick if self.quick else full


@dataclass
class LoadResult:
    calls: int
    errors: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    # Every call that completed, warm-up included: what the server did in all.
    completed: int = 0

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0


async def closed_loop(
    workers: int,
    seconds: float,
    call: Callable[[int, int], Awaitable[bool]],
    *,
    warmup: float = 0.5,
) -> LoadResult:
    """`workers` callers, each issuing call(worker, sequence) back to back for `seconds`
    after a warm-up; counts the calls that completed (True = success) in the window."""
    loop = asyncio.get_running_loop()
    start = loop.time() + warmup
    end = start + seconds
    result = LoadResult(calls=0, errors=0, seconds=seconds)

    async def worker(index: int) -> None:
        sequence = 0
        while (now := loop.time()) < end:
            began = time.perf_counter()
            ok = await call(index, sequence)
            sequence += 1
            result.completed += 1
            if now >= start:
                result.latencies.append(time.perf_counter() - began)
                if ok:
                    result.calls += 1
                else:
                    result.errors += 1

    await asyncio.gather(*(worker(i) for i in range(workers)))
    # Calls that began before the end finish after it: the window is as long as they took.
    result.seconds = loop.time() - start
    return result
