"""kill -9 while jobs with hostile ids are being created (and jobs an older version
stored with such ids are being recovered), then a restart: the server serves, the
hostile creates were refused (11100) and never stored, the stored hostile jobs failed
with a reason, and nothing was written outside the data dir."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.eventually import assert_eventually
from tests.processes import ServerProcess
from tests.security.stored_jobs import HOSTILE_DOMAINS, running_job, store_as_an_older_version
from tests.security.test_recovery_hostile_ids import failure_reasons

REQUEST_INVALID = 11100
ROUNDS = 12
# Ids that would name paths outside their directory (or no directory at all).
HOSTILE_CREATES = [
    ("x/y", "t", "alice"),
    ("..", "t", "alice"),
    ("ok-job", "../../escape", "alice"),
    ("ok-job", "t", "x/y"),
    ("ok-job", "t", ".."),
    ("ok-job", "t", "."),
    ("ok-job", "t", "nul\0id"),
    ("ok-job", "t", "new\nline"),
]


def create_request(job_id: str, task_id: str, domain: str) -> pb.CreateJobRequest:
    return pb.CreateJobRequest(
        job_id=job_id,
        initiator="alice",
        tasks=[
            pb.Task(
                alias="t",
                task_id=task_id,
                app_image="dagwire-sleep",
                task_input_config='{"sleep_seconds": 3}',
                parties=[pb.Party(domain_id="alice"), pb.Party(domain_id=domain)],
            )
        ],
    )


async def create_all(address: str, answers: dict[str, int], enough: asyncio.Event) -> None:
    """Hostile and sound creates side by side, until the server dies under them."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)

        async def create(name: str, request: pb.CreateJobRequest) -> None:
            response = await stub.CreateJob(request, timeout=10)
            answers[name] = response.status.code
            if len(answers) >= len(HOSTILE_CREATES) * 2:
                enough.set()

        calls = []
        for round_ in range(ROUNDS):
            for index, (job_id, task_id, domain) in enumerate(HOSTILE_CREATES):
                job = f"hostile-{round_}-{index}" if job_id == "ok-job" else job_id
                calls.append(
                    create(f"hostile/{round_}/{index}", create_request(job, task_id, domain))
                )
            calls.append(create(f"sound-{round_}", create_request(f"sound-{round_}", "t", "bob")))
        await asyncio.gather(*calls, return_exceptions=True)


def outside(workdir: Path) -> set[Path]:
    data = workdir / "data"
    return {p for p in workdir.rglob("*") if data not in p.parents and p != data}


async def test_kill_9_during_hostile_creates_then_a_restart_serves_and_contains_them(
    tmp_path: Path,
) -> None:
    stored = [running_job(job_id, domain) for job_id, domain in HOSTILE_DOMAINS.items()]
    await store_as_an_older_version(tmp_path / "data", stored)
    server = ServerProcess(tmp_path).start()
    before = outside(tmp_path)
    answers: dict[str, int] = {}
    enough = asyncio.Event()
    creating = asyncio.create_task(create_all(server.address, answers, enough))
    await asyncio.wait_for(enough.wait(), timeout=30)
    server.kill()
    await creating

    port = int(server.address.rsplit(":", 1)[1])
    restarted = ServerProcess(tmp_path, port=port).start()
    try:
        async with grpc.aio.insecure_channel(restarted.address) as channel:
            stub = job_pb2_grpc.JobServiceStub(channel)
            hostile_answers = {k: v for k, v in answers.items() if k.startswith("hostile/")}
            assert hostile_answers and set(hostile_answers.values()) == {REQUEST_INVALID}
            for round_ in range(ROUNDS):
                for index in range(len(HOSTILE_CREATES)):
                    query = pb.QueryJobRequest(job_id=f"hostile-{round_}-{index}")
                    assert (await stub.QueryJob(query)).status.code != 0, "never stored"
            for job_id, domain in HOSTILE_DOMAINS.items():
                answer = await assert_eventually(
                    lambda job_id=job_id: stub.QueryJob(pb.QueryJobRequest(job_id=job_id)),
                    lambda answer: answer.data.status.state == "Failed",
                    timeout=20,
                    what=f"{job_id} to fail",
                )
                reasons = failure_reasons(answer.data.status)
                assert repr(domain) in reasons, reasons
            for name, code in answers.items():
                if name.startswith("sound-") and code == 0:
                    answer = await stub.QueryJob(pb.QueryJobRequest(job_id=name))
                    assert answer.status.code == 0, answer.status.message
    finally:
        restarted.stop()
    assert outside(tmp_path) == before
    tasks = tmp_path / "data" / "tasks"
    attempt_dirs = (
        {p.relative_to(tasks) for p in tasks.glob("*/*/*/*")} if tasks.exists() else set()
    )
    assert all(len(p.parts) == 4 for p in attempt_dirs)
    assert not any(part in ("x", "..", ".") for p in attempt_dirs for part in p.parts)
