"""`python -m bench [name ...] [--quick] [--profile DIR]`: run the benchmarks, print the
table, write the JSON. With no names, all run, in the order below."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType

from bench import admission, createjob, dag, memory, queryjob, replicas, startup, ui, watch, workers
from bench.context import Context
from bench.core import Figure, machine, table, write_json
from bench.jobs import SeedCache
from bench.procs import Launcher

BENCHMARKS: dict[str, ModuleType] = {
    module.NAME: module
    for module in (
        createjob,
        queryjob,
        watch,
        dag,
        startup,
        memory,
        replicas,
        workers,
        admission,
        ui,
    )
}
RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: smaller loads and stores, results not comparable",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record each dagwire server with py-spy (collapsed stacks) into DIR",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="JSON results file (default: bench/results/latest.json for a full "
        "run, bench/results/partial.json otherwise)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (server logs)")
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target is missed"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    names = [name for name in BENCHMARKS if name in args.names] or list(BENCHMARKS)
    full = not args.quick and names == list(BENCHMARKS)
    output = args.output or RESULTS / ("latest.json" if full else "partial.json")
    verdicts = asyncio.run(_run(names, args.quick, args.profile, output, args.keep))
    # A missed target is a finding, not a failure of the run; an ERROR (a benchmark that
    # could not measure) is.
    failing = {"ERROR", "FAIL"} if args.strict else {"ERROR"}
    return 1 if failing & verdicts else 0


async def _run(
    names: list[str], quick: bool, profile: Path | None, output: Path, keep: bool
) -> set[str]:
    workdir = Path(tempfile.mkdtemp(prefix="dagwire-bench-"))
    seeds = SeedCache()
    ctx = Context(
        quick=quick,
        workdir=workdir,
        launcher=Launcher(workdir, profile),
        seeds=seeds,
        log=lambda line: print(line, flush=True),
    )
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    if load_before > (os.cpu_count() or 1) * 0.5:
        print(
            f"warning: load average {load_before:.1f} on {os.cpu_count()} cores before the run; "
            "other work on the machine will lower these figures",
            flush=True,
        )
    results: dict[str, dict[str, object]] = {}
    figures: list[Figure] = []
    try:
        for name in names:
            print(f"== {name}", flush=True)
            started = time.perf_counter()
            produced = await _guarded(name, BENCHMARKS[name].run, ctx)
            seconds = time.perf_counter() - started
            print(f"   ({seconds:.0f} s)", flush=True)
            figures += produced
            results[name] = {
                "seconds": round(seconds, 1),
                "figures": [figure.as_json() for figure in produced],
            }
    finally:
        if keep:
            print(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - began
    print()
    print(table(figures))
    summary = machine()
    print(
        f"\n{summary['cores']} cores ({summary['cpu']}), Python {summary['python']}; "
        f"total {total:.0f} s"
        + (
            f", of which seeding {seeds.seconds_spent:.0f} s ({seeds.jobs_inserted:,} jobs)"
            if seeds.jobs_inserted
            else ""
        )
    )
    write_json(
        output,
        {
            "code": _code_version(),
            "load_average": {
                "before": round(load_before, 2),
                "after": round(os.getloadavg()[0], 2),
            },
            "date": datetime.date.today().isoformat(),
            "quick": quick,
            "machine": summary,
            "seconds": round(total, 1),
            "seeding_seconds": round(seeds.seconds_spent, 1),
            "benchmarks": results,
        },
    )
    print(f"results: {output}")
    return {figure.verdict for figure in figures}


def _code_version() -> dict[str, object]:
    """The commit measured, and whether the server's files differed from it."""
    root = Path(__file__).parent.parent

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "server_modified": bool(git("status", "--porcelain", "--", "server")),
    }


async def _guarded(
    name: str, run: Callable[[Context], Awaitable[list[Figure]]], ctx: Context
) -> list[Figure]:
    """One benchmark's failure is reported as its row, not the end of the run."""
    try:
        return await run(ctx)
    except Exception as error:  # report any failure and keep going
        traceback.print_exc()
        return [Figure(name, float("nan"), "", error=f"{type(error).__name__}: {error}")]


if __name__ == "__main__":
    sys.exit(main())
