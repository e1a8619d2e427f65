"""CreateJob throughput of one server on PostgreSQL with `--workers 1` and with one
worker per core (dagwire.server.workers), held for approval and run to Succeeded, under
createjob's load (32 clients over their own connections, 10 s, 2-task no-op jobs).

Besides the rates it measures where a job's time goes: the CPU of the server's
processes (all workers) and of the database sessions serving them, and the time
sessions waited for locks, the serial section (replicas.py samples it). From those the
projected throughput at 8 and 16 cores: N cores / CPU per job, capped by 1 / serial
time per job (Amdahl; the client's share of the machine left out).

Needs PostgreSQL at DAGWIRE_BENCH_PG, as replicas.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg

from bench.context import Context, LoadResult
from bench.core import Figure, percentile
from bench.createjob import _create_load
from bench.replicas import ADMIN_DSN, _database, _lock_waits, _settle

NAME = "workers"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


async def run(ctx: Context) -> list[Figure]:
    seconds = ctx.pick_seconds(10.0, 2.0)
    try:
        admin = await asyncpg.connect(ADMIN_DSN, timeout=3)
        await admin.close()
    except Exception as error:
        return [
            Figure(
                "workers: createjob (skipped)",
                float("nan"),
                "jobs/s",
                note=f"PostgreSQL is not reachable at {ADMIN_DSN}: {error}",
            )
        ]
    cores = os.cpu_count() or 1
    figures: list[Figure] = []
    for held in (True, False):
        kind = "held" if held else "run"
        measured: dict[int, _Measured] = {}
        for workers in sorted({1, cores}):
            measured[workers] = await _measure(ctx, seconds, workers, held)
            m = measured[workers]
            ctx.log(
                f"  --workers {workers}, {kind}: {m.load.rate:,.0f} jobs/s ({m.load.errors} "
                f"errors, p99 {percentile(m.load.latencies, 99) * 1000:.1f} ms; per job: "
                f"{m.server_ms:.2f} ms server CPU, {m.database_ms:.2f} ms database CPU, "
                f"{m.wait_ms:.3f} ms lock wait)"
            )
        one, many = measured[1], measured[cores]
        for workers, m in sorted(measured.items()):
            figures.append(
                Figure(
                    f"workers: createjob {kind}, --workers {workers} on PostgreSQL",
                    m.load.rate,
                    "jobs/s",
                    note=f"per job {m.server_ms:.2f} ms server CPU, {m.database_ms:.2f} ms "
                    f"database CPU, {m.wait_ms:.3f} ms lock wait",
                    extra={
                        "p99_ms": percentile(m.load.latencies, 99) * 1000,
                        "server_cpu_ms_per_job": m.server_ms,
                        "database_cpu_ms_per_job": m.database_ms,
                        "lock_wait_ms_per_job": m.wait_ms,
                    },
                )
            )
        figures.append(
            Figure(
                f"workers: createjob {kind}, --workers {cores} vs 1",
                many.load.rate / one.load.rate if one.load.rate else float("nan"),
                "x",
                note=f"on {cores} cores shared with PostgreSQL and the 32 clients",
            )
        )
        cpu_ms = many.server_ms + many.database_ms
        for target in (8, 16):
            ceiling = 1000 / many.wait_ms if many.wait_ms > 0 else float("inf")
            figures.append(
                Figure(
                    f"workers: createjob {kind}, projected at {target} cores",
                    min(target * 1000 / cpu_ms, ceiling) if cpu_ms else float("nan"),
                    "jobs/s",
                    note=f"{target} cores / {cpu_ms:.2f} ms CPU per job (server + database), "
                    f"capped by 1 / {many.wait_ms:.3f} ms serial time per job",
                )
            )
    return figures


class _Measured:
    def __init__(
        self, load: LoadResult, server_ms: float, database_ms: float, wait_ms: float
    ) -> None:
        self.load = load
        self.server_ms = server_ms
        self.database_ms = database_ms
        self.wait_ms = wait_ms


async def _measure(ctx: Context, seconds: float, workers: int, held: bool) -> _Measured:
    extra = ("--approval-domains", "bob") if held else ()
    async with (
        _database() as url,
        ctx.launcher.dagwire(
            f"workers-{workers}-{'held' if held else 'run'}",
            args=("--database-url", url, "--workers", str(workers), *extra),
        ) as server,
    ):
        database = url.rsplit("/", 1)[1]
        server_before = _tree_cpu(server.pid)
        sessions_before = await _sessions_cpu(database)
        async with _lock_waits(url) as waits:
            load = await _create_load(server.address, seconds)
        server_after = _tree_cpu(server.pid)
        sessions_after = await _sessions_cpu(database)
        await _settle(url, load.calls, held=held)
    jobs = max(load.completed, 1)
    database_cpu = sum(
        after - sessions_before.get(pid, 0.0) for pid, after in sessions_after.items()
    )
    return _Measured(
        load,
        (server_after - server_before) / jobs * 1000,
        database_cpu / jobs * 1000,
        waits.mean() * seconds / jobs * 1000,
    )


def _cpu(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / _CLOCK_TICKS


def _tree_cpu(pid: int) -> float:
    """CPU seconds of `pid` and of every live process under it (the workers)."""
    total = _cpu(pid)
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        total += sum(_tree_cpu(int(kid)) for kid in kids)
    return total


async def _sessions_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving `database` (same machine)."""
    conn = await asyncpg.connect(ADMIN_DSN, timeout=3)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await conn.close()
    return {row["pid"]: _cpu(row["pid"]) for row in rows}
