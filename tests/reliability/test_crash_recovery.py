"""kill -9 the server while a DAG runs, start it again on the same store: the job
finishes, no task that had finished runs twice, and a watcher that resumes across the
restart gets every event once, in order."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.engine.model import ChangeType
from dagwire.server.store.sql import SqlJobStore
from tests.eventually import assert_eventually
from tests.processes import ServerProcess

TERMINAL = {"Succeeded", "Failed", "Cancelled", "ApprovalReject"}
JOB_ID = "crash-dag"


def images_file(workdir: Path, record: Path) -> Path:
    """`record` appends one line per process start, then sleeps task_input_config seconds."""
    path = workdir / "images.yaml"
    script = (
        'echo "$TASK_ID $DAGWIRE_DOMAIN_ID $DAGWIRE_ATTEMPT" >> "$RECORD"; '
        'sleep "$DAGWIRE_TASK_INPUT_CONFIG"'
    )
    path.write_text(
        f"images:\n  record:\n    command: [/bin/sh, -c, '{script}']\n"
        f"    env: {{RECORD: '{record}'}}\n"
    )
    return path


def dag() -> pb.CreateJobRequest:
    def task(alias: str, seconds: float, *deps: str) -> pb.Task:
        return pb.Task(
            alias=alias,
            task_id=alias,
            app_image="record",
            parties=[pb.Party(domain_id="alice"), pb.Party(domain_id="bob")],
            dependencies=list(deps),
            task_input_config=str(seconds),
        )

    return pb.CreateJobRequest(
        job_id=JOB_ID,
        initiator="alice",
        max_parallelism=2,
        tasks=[
            task("prepare", 0.2),
            task("train", 1.5, "prepare"),
            task("side", 0.3, "prepare"),
            task("evaluate", 0.2, "train", "side"),
            task("report", 0.2, "evaluate"),
        ],
    )


async def _watch(
    address: str,
    resume_from: int,
    sink: list[pb.WatchJobEventResponse],
    listed: asyncio.Event | None = None,
) -> None:
    """Follow the job until it is terminal or the stream breaks; `listed` is set once the
    initial listing is over (its bookmark arrived)."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)
        request = pb.WatchJobRequest(job_ids=[JOB_ID], resume_from=resume_from)
        async for event in stub.WatchJob(request):
            if event.type == pb.HEARTBEAT:
                if listed is not None:
                    listed.set()
                continue
            sink.append(event)
            if event.object.status.state in TERMINAL:
                return


async def _query(address: str) -> pb.QueryJobResponse:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)
        return await stub.QueryJob(pb.QueryJobRequest(job_id=JOB_ID))


async def _wait_until(
    address: str, accept: Callable[[pb.QueryJobResponse], bool], timeout: float = 30
) -> pb.QueryJobResponse:
    return await assert_eventually(lambda: _query(address), accept, timeout=timeout)


async def _stored_events(database: Path) -> list[tuple[int, str, str]]:
    store = SqlJobStore(f"sqlite+aiosqlite:///{database}")
    await store.open()
    try:
        changes = await store.changes_after(0, 100_000)
    finally:
        await store.close()
    names = {ChangeType.ADDED: pb.ADDED, ChangeType.MODIFIED: pb.MODIFIED}
    return [
        (c.resource_version, pb.EventType.Name(names[c.type]), c.job.state.value)
        for c in changes
        if c.job.job_id == JOB_ID
    ]


def _started(record: Path, task_id: str) -> set[str]:
    """The parties whose process for `task_id` has started (written its record line)."""
    if not record.exists():
        return set()
    lines = (line.split() for line in record.read_text().splitlines())
    return {fields[1] for fields in lines if len(fields) >= 2 and fields[0] == task_id}


async def run_crash_scenario(workdir: Path) -> None:
    record = workdir / "record.log"
    args = ("--app-images", str(images_file(workdir, record)), "--heartbeat-interval", "0.5")
    server = ServerProcess(workdir, *args).start()
    events: list[pb.WatchJobEventResponse] = []
    # The job is created once the watch has listed the empty store, so that the stream
    # carries its whole event log (a later listing would start from the job's state then).
    listed = asyncio.Event()
    watcher = asyncio.create_task(_watch(server.address, 0, events, listed))
    await asyncio.wait_for(listed.wait(), timeout=10)
    async with grpc.aio.insecure_channel(server.address) as channel:
        created = await job_pb2_grpc.JobServiceStub(channel).CreateJob(dag())
        assert created.status.code == 0, created.status.message

    # kill -9 while `train` runs on both parties: `prepare` has finished, `train` finishes
    # while we are down. The task reads Running once its first party starts, so wait for
    # both parties' own start records: a party not yet launched would have no exit record.
    await _wait_until(server.address, lambda r: r.data.status.tasks[1].state == "Running")
    await assert_eventually(
        lambda: _started(record, "train"),
        lambda parties: parties == {"alice", "bob"},
        what="train started on both parties",
    )
    server.kill()
    with pytest.raises(grpc.aio.AioRpcError):
        await watcher
    # `train` finishes on both parties while no server runs: wait for their exit records.
    await assert_eventually(
        lambda: sorted(workdir.glob(f"**/tasks/{JOB_ID}/train/*/*/exit_status")),
        lambda records: len(records) == 2,
        what="train's two exit records",
    )

    restarted = ServerProcess(workdir, *args, port=int(server.address.rsplit(":", 1)[1])).start()
    try:
        resume_from = events[-1].resource_version
        await asyncio.wait_for(_watch(restarted.address, resume_from, events), timeout=30)
        final = await _query(restarted.address)
    finally:
        assert restarted.stop() == 0

    assert final.data.status.state == "Succeeded", final.data.status.err_msg
    runs = Counter(tuple(line.split()[:2]) for line in record.read_text().splitlines())
    assert set(runs.values()) == {1}, f"a task party ran more than once: {runs}"
    assert len(runs) == 10, f"every task ran once per party: {sorted(runs)}"

    seen = [(e.resource_version, pb.EventType.Name(e.type), e.object.status.state) for e in events]
    stored = await _stored_events(restarted.database)
    assert [rv for rv, _, _ in seen] == [rv for rv, _, _ in stored], "every event once, in order"
    assert [kind for _, kind, _ in seen] == [kind for _, kind, _ in stored]


async def test_a_job_survives_kill_9_and_no_finished_task_runs_twice(tmp_path: Path) -> None:
    await run_crash_scenario(tmp_path)


@pytest.mark.soak
@pytest.mark.parametrize("round_", range(20))
async def test_crash_recovery_soak(tmp_path: Path, round_: int) -> None:
    await run_crash_scenario(tmp_path)
