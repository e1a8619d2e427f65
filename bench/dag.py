"""4. DAG throughput: 1,000-task no-op DAGs, wide / chain / diamond, from CreateJob to
Succeeded, run once with the in-process no-op image (the engine's overhead) and once
with a subprocess per task (`true` through the local executor: the executor's overhead).

Every run is watched from the moment before CreateJob (resuming from the latest
resource_version, so the stream has no gap) and checked afterwards: each task was seen
Running and Succeeded on the stream, QueryJob reports every task Succeeded, and every
event the store logged for the jobs reached the watcher. The dropped-events target is
held over at least 5,000 tasks: besides the shape runs, 50 chains of 100 no-op tasks
run at once, about one event per task, all on one stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from bench.context import Context
from bench.core import Figure, Target
from bench.jobs import NOOP_IMAGE, dag_job, latest_resource_version, stored_event_versions
from bench.procs import local_channel
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc

NAME = "dag"
SHAPES = ("wide", "chain", "diamond")
SUBPROCESS_IMAGE = "bench-true"
IMAGES_FILE = f'images:\n  {SUBPROCESS_IMAGE}:\n    command: ["true"]\n'
TERMINAL = {"Succeeded", "Failed", "Cancelled", "ApprovalReject"}
DROPPED_AT = 5_000
FLOORS = {"in-process": 300.0, "subprocess": 100.0}


@dataclass
class Run:
    """One batch of jobs run together and watched on one stream."""

    label: str
    executor: str
    tasks: int
    seconds: float = 0.0
    succeeded: int = 0
    capped: bool = False
    final_states: set[str] = field(default_factory=set)
    events: int = 0
    dropped: int = 0
    unseen_states: int = 0
    stream_error: str = ""

    @property
    def rate(self) -> float:
        return self.succeeded / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        return (
            f"  {self.label:26} {self.rate:7.0f} tasks/s ({self.succeeded}/{self.tasks} in "
            f"{self.seconds:.1f} s, {self.events} events, {self.dropped} dropped"
            f"{', CAPPED' if self.capped else ''})"
        )


@dataclass
class _Progress:
    """What the stream showed of one job."""

    running: set[str] = field(default_factory=set)
    succeeded: set[str] = field(default_factory=set)
    done: int = 0
    final_state: str = ""


async def run(ctx: Context) -> list[Figure]:
    size = ctx.pick(1_000, 100)
    chains, chain_length = ctx.pick(50, 10), 100
    cap = ctx.pick_seconds(40.0, 20.0)
    images = ctx.scratch("dag") / "images.yaml"
    images.write_text(IMAGES_FILE)
    runs: list[Run] = []
    stress: Run | None = None
    for executor, image in (("in-process", NOOP_IMAGE), ("subprocess", SUBPROCESS_IMAGE)):
        data_dir = ctx.workdir / f"dag-{executor}-data"
        args = ("--app-images", str(images))
        async with (
            ctx.launcher.dagwire(f"dag-{executor}", data_dir=data_dir, args=args) as server,
            local_channel(server.address) as channel,
        ):
            stub = job_pb2_grpc.JobServiceStub(channel)
            # A first job, so that later watches resume from a resource_version > 0.
            await _run_batch(
                stub, data_dir, "warmup", executor, [dag_job("warmup", "wide", 2, image)], cap
            )
            for shape in SHAPES:
                job = dag_job(f"{shape}-{executor}", shape, size, image)
                result = await _run_batch(
                    stub, data_dir, f"{shape} {executor}", executor, [job], cap
                )
                runs.append(result)
                ctx.log(result.describe())
            if executor == "in-process":
                jobs = [
                    dag_job(f"chains-{i:03d}", "chain", chain_length, image) for i in range(chains)
                ]
                stress = await _run_batch(
                    stub,
                    data_dir,
                    f"{chains} x {chain_length}-chain {executor}",
                    executor,
                    jobs,
                    cap * 2,
                )
                ctx.log(stress.describe())
    assert stress is not None
    return _figures(runs, stress, size, cap)


def _figures(runs: list[Run], stress: Run, size: int, cap: float) -> list[Figure]:
    figures = []
    inprocess = {r.label.split()[0]: r.rate for r in runs if r.executor == "in-process"}
    for r in runs:
        shape = r.label.split()[0]
        floor = FLOORS[r.executor]
        figures.append(
            Figure(
                f"dag {shape} {size} tasks, {r.executor}",
                r.rate,
                "tasks/s",
                # The subprocess rows compare with the in-process run of the same shape:
                # the ratio is the share of the time the engine alone would need.
                baseline=inprocess.get(shape) if r.executor == "subprocess" else None,
                target=Target("value", ">=", floor, f">= {floor:.0f} tasks/s"),
                note=_notes(r, cap),
                extra={"seconds": r.seconds, "events": r.events, "succeeded": r.succeeded},
            )
        )
    everything = [*runs, stress]
    tasks = sum(r.succeeded for r in everything)
    dropped = sum(r.dropped + r.unseen_states + bool(r.stream_error) for r in everything)
    note = (
        f"{tasks:,} tasks, {sum(r.events for r in everything):,} events over the runs above "
        f"and {stress.label} ({stress.rate:.0f} tasks/s)"
    )
    if stress_notes := _notes(stress, cap * 2):
        note += f"; {stress_notes}"
    enough = tasks >= DROPPED_AT
    figures.append(
        Figure(
            "dag dropped watch events",
            float(dropped),
            "",
            # With too few tasks (a quick run) the figure is reported, not judged.
            target=Target("value", "==", 0, f"0 at >= {DROPPED_AT:,} tasks")
            if enough or dropped
            else None,
            note=note if enough else f"{note}; fewer than {DROPPED_AT:,} tasks ran",
        )
    )
    return figures


def _notes(r: Run, cap: float) -> str:
    notes = []
    if r.capped:
        notes.append(f"stopped at the {cap:g} s cap with {r.succeeded}/{r.tasks} tasks done")
    elif r.final_states != {"Succeeded"}:
        notes.append(f"jobs ended {', '.join(sorted(r.final_states))}")
    if r.unseen_states:
        notes.append(f"{r.unseen_states} task states never seen on the watch stream")
    if r.stream_error:
        notes.append(f"watch stream failed: {r.stream_error}")
    return "; ".join(notes)


async def _run_batch(
    stub: job_pb2_grpc.JobServiceStub,
    data_dir: Path,
    label: str,
    executor: str,
    requests: list[pb.CreateJobRequest],
    cap: float,
) -> Run:
    result = Run(label, executor, sum(len(r.tasks) for r in requests))
    job_ids = [request.job_id for request in requests]
    progress = {job_id: _Progress() for job_id in job_ids}
    received: set[int] = set()
    watch = stub.WatchJob(
        pb.WatchJobRequest(job_ids=job_ids, resume_from=latest_resource_version(data_dir))
    )
    finished = asyncio.Event()
    ended_at = 0.0
    unfinished = len(job_ids)

    async def consume() -> None:
        nonlocal ended_at, unfinished
        try:
            async for event in watch:
                if event.type == pb.HEARTBEAT:
                    continue
                result.events += 1
                received.add(event.resource_version)
                status = event.object.status
                seen = progress[event.object.job_id]
                for task in status.tasks:
                    if task.state == "Running":
                        seen.running.add(task.task_id)
                    elif task.state == "Succeeded":
                        seen.succeeded.add(task.task_id)
                seen.done = sum(task.state == "Succeeded" for task in status.tasks)
                if status.state in TERMINAL and not seen.final_state:
                    seen.final_state = status.state
                    unfinished -= 1
                    if unfinished == 0:
                        ended_at = time.perf_counter()
                        finished.set()
                        return
        except grpc.aio.AioRpcError as error:
            result.stream_error = f"{error.code().name}: {error.details()}"
            finished.set()

    consumer = asyncio.create_task(consume())
    began = time.perf_counter()
    try:
        for response in await asyncio.gather(*(stub.CreateJob(r) for r in requests)):
            if response.status.code != 0:
                raise RuntimeError(f"CreateJob: {response.status.message}")
        try:
            await asyncio.wait_for(finished.wait(), cap)
        except TimeoutError:
            result.capped = True
            ended_at = time.perf_counter()
            result.succeeded = sum(p.done for p in progress.values())
            await asyncio.gather(
                *(
                    stub.StopJob(pb.StopJobRequest(job_id=job_id, reason="benchmark cap"))
                    for job_id, p in progress.items()
                    if not p.final_state
                )
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), 60)
    finally:
        watch.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
    result.seconds = ended_at - began
    result.final_states = {p.final_state for p in progress.values()}
    if not result.capped:
        result.succeeded = 0
        for job_id, seen in progress.items():
            stored = await stub.QueryJob(pb.QueryJobRequest(job_id=job_id))
            tasks = {t.task_id for t in stored.data.status.tasks}
            result.succeeded += sum(t.state == "Succeeded" for t in stored.data.status.tasks)
            result.unseen_states += len(tasks - seen.running) + len(tasks - seen.succeeded)
    for job_id in job_ids:
        result.dropped += len(stored_event_versions(data_dir, job_id) - received)
    return result
