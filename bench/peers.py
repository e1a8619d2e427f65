"""`make bench-peers`: dagwire against a peer on the same 1,000-task DAGs (wide, chain,
diamond), in-process and with a subprocess per task, in one run on one machine, with
dagwire/peer ratios. The peer is Prefect 3 (default thread task runner, its local API),
run by bench/peer_prefect.py in an environment of its own (`.venv-peers`, which the
Makefile builds from PyPI) against a Prefect server started first (as dagwire's server
is up before its runs); dagwire's runs are bench/dag.py's.

Both sides count what they durably recorded: for dagwire the tasks QueryJob reports
Succeeded (read back from the store), for Prefect the task runs its database holds as
Completed. A rate counts only recorded tasks.

    python -m bench.peers --peer-python .venv-peers/bin/python [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.context import Context
from bench.core import Figure, Target, table
from bench.dag import IMAGES_FILE, SHAPES, SUBPROCESS_IMAGE, Run, _run_batch
from bench.jobs import NOOP_IMAGE, SeedCache, dag_job
from bench.procs import Launcher, free_port, local_channel
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc

MODES = {"in-process": NOOP_IMAGE, "subprocess": SUBPROCESS_IMAGE}
# The lead the issue asks dagwire to keep over the peer, per shape.
LEAD = 5.0
PEER_TIMEOUT = 480.0
SERVER_START_TIMEOUT = 120.0


async def dagwire_runs(ctx: Context, size: int, cap: float) -> dict[str, Run]:
    images = ctx.scratch("peers") / "images.yaml"
    images.write_text(IMAGES_FILE)
    runs: dict[str, Run] = {}
    for mode, image in MODES.items():
        data_dir = ctx.workdir / f"peers-{mode}-data"
        args = ("--app-images", str(images))
        async with (
            ctx.launcher.dagwire(f"peers-{mode}", data_dir=data_dir, args=args) as server,
            local_channel(server.address) as channel,
        ):
            stub = job_pb2_grpc.JobServiceStub(channel)
            warmup = [dag_job("warmup", "wide", 2, image)]
            await _run_batch(stub, data_dir, "warmup", mode, warmup, cap)
            for shape in SHAPES:
                job = dag_job(f"{shape}-{mode}", shape, size, image)
                run = await _run_batch(stub, data_dir, f"{shape} {mode}", mode, [job], cap)
                runs[f"{shape} {mode}"] = run
                ctx.log(f"  dagwire {shape} {mode}: {run.rate:,.0f} tasks/s")
    return runs


async def prefect_runs(python: str, size: int) -> dict[str, dict[str, float]]:
    """bench/peer_prefect.py's results, run in the peer's environment against a Prefect
    server of its own (started and healthy before anything is timed, with a fresh
    database in a Prefect home of its own, none of the user's profile)."""
    home = Path(tempfile.mkdtemp(prefix="dagwire-peers-prefect-"))
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    log = (home / "server.log").open("wb")
    server = await asyncio.create_subprocess_exec(
        python,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=home,
    )
    try:
        await _healthy(f"{api}/health", server)
        script = Path(__file__).with_name("peer_prefect.py")
        process = await asyncio.create_subprocess_exec(
            python, str(script), str(size), stdout=asyncio.subprocess.PIPE, env=env, cwd=home
        )
        out, _ = await asyncio.wait_for(process.communicate(), PEER_TIMEOUT)
        if process.returncode != 0:
            raise RuntimeError(f"the Prefect runs failed (exit {process.returncode})")
        return json.loads(out.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]
    finally:
        if server.returncode is None:
            server.terminate()
            try:
                await asyncio.wait_for(server.wait(), 30)
            except TimeoutError:
                server.kill()
                await server.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


async def _healthy(url: str, server: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.returncode is not None:
            raise RuntimeError(f"the Prefect server exited ({server.returncode})")
        try:
            await asyncio.to_thread(urllib.request.urlopen, url, timeout=2)
            return
        except OSError:
            await asyncio.sleep(0.5)
    raise RuntimeError(f"the Prefect server did not answer {url} in {SERVER_START_TIMEOUT:g} s")


def figures(ours: dict[str, Run], theirs: dict[str, dict[str, float]], size: int) -> list[Figure]:
    version = theirs.get("version", "?")
    result = []
    for key, run in ours.items():
        peer = theirs[key]
        peer_rate = peer["recorded"] / peer["seconds"] if peer["seconds"] else 0.0
        result.append(
            Figure(
                f"peers {key} {size} tasks: dagwire / Prefect {version}",
                run.rate,
                "tasks/s",
                baseline=peer_rate,
                target=Target("ratio", ">=", LEAD, f">= {LEAD:g}x Prefect"),
                note=f"dagwire {run.succeeded}/{run.tasks} recorded Succeeded in "
                f"{run.seconds:.1f} s; Prefect {peer['recorded']:.0f}/{peer['tasks']:.0f} "
                f"recorded Completed in {peer['seconds']:.1f} s",
            )
        )
    return result


async def _main(python: str, quick: bool) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="dagwire-peers-"))
    ctx = Context(
        quick=quick,
        workdir=workdir,
        launcher=Launcher(workdir, None),
        seeds=SeedCache(),
        log=lambda line: print(line, flush=True),
    )
    size = ctx.pick(1_000, 100)
    began = time.perf_counter()
    try:
        print("== dagwire", flush=True)
        ours = await dagwire_runs(ctx, size, ctx.pick_seconds(120.0, 30.0))
        print("== Prefect", flush=True)
        theirs = await prefect_runs(python, size)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    produced = figures(ours, theirs, size)
    print()
    print(table(produced))
    print(f"\n{os.cpu_count()} cores; total {time.perf_counter() - began:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__)
    parser.add_argument("--peer-python", required=True, help="the Python of .venv-peers")
    parser.add_argument("--quick", action="store_true", help="100-task DAGs, a smoke run")
    args = parser.parse_args(argv)
    # Absolute (it runs from the Prefect home), not resolved: the venv's python is a
    # symlink that must stay the venv's.
    return asyncio.run(_main(os.path.abspath(args.peer_python), args.quick))


if __name__ == "__main__":
    sys.exit(main())
