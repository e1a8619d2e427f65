"""Admission across kill -9: on a capacity of one core, a job of three independent
one-party tasks runs one at a time; the server dies while one runs and two wait. Started
again, the running party still holds the capacity (recovered parties count), the waiting
ones wait again instead of being taken for lost and relaunched, every task runs exactly
once, and never two at once (the intervals the processes record)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import grpc

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.eventually import assert_eventually
from tests.processes import ServerProcess

JOB_ID = "queued-across-crash"


def images_file(workdir: Path, record: Path) -> Path:
    path = workdir / "images.yaml"
    script = (
        'echo "start $TASK_ID $(date +%s.%N)" >> "$RECORD"; '
        'sleep "$DAGWIRE_TASK_INPUT_CONFIG"; '
        'echo "end $TASK_ID $(date +%s.%N)" >> "$RECORD"'
    )
    path.write_text(
        f"images:\n  record:\n    command: [/bin/sh, -c, '{script}']\n"
        f"    env: {{RECORD: '{record}'}}\n"
    )
    return path


def job() -> pb.CreateJobRequest:
    return pb.CreateJobRequest(
        job_id=JOB_ID,
        initiator="alice",
        max_parallelism=3,
        tasks=[
            pb.Task(
                alias=alias,
                task_id=alias,
                app_image="record",
                parties=[pb.Party(domain_id="alice")],
                task_input_config="1.5",
            )
            for alias in ("a", "b", "c")
        ],
    )


def query(address: str) -> pb.QueryJobResponse:
    with grpc.insecure_channel(address) as channel:
        return job_pb2_grpc.JobServiceStub(channel).QueryJob(
            pb.QueryJobRequest(job_id=JOB_ID), timeout=10
        )


def queued(response: pb.QueryJobResponse) -> list[str]:
    return [
        t.err_msg for t in response.data.status.tasks if t.err_msg.startswith("queued in default")
    ]


async def test_waiting_parties_wait_again_after_a_crash_and_run_once(tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    args = ("--app-images", str(images_file(tmp_path, record)), "--capacity-cpu", "1")
    server = ServerProcess(tmp_path, *args).start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            created = job_pb2_grpc.JobServiceStub(channel).CreateJob(job(), timeout=10)
        assert created.status.code == 0, created.status
        await assert_eventually(
            lambda: query(server.address), lambda r: len(queued(r)) == 2, timeout=30
        )
    finally:
        server.kill()

    again = ServerProcess(tmp_path, *args, port=int(server.address.rsplit(":", 1)[1])).start()
    try:
        done = await assert_eventually(
            lambda: query(again.address),
            lambda r: r.data.status.state in ("Succeeded", "Failed"),
            timeout=60,
        )
    finally:
        again.stop()
    assert done.data.status.state == "Succeeded", done.data.status
    assert all("relaunched" not in t.err_msg for t in done.data.status.tasks)
    lines = [line.split() for line in record.read_text().splitlines()]
    assert Counter(task for kind, task, _ in lines if kind == "start") == {"a": 1, "b": 1, "c": 1}
    edges = sorted((float(at), 1 if kind == "start" else -1) for kind, _, at in lines)
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    assert peak == 1
