"""Every answer about a job fits the server's send limit. A job whose QueryJob answer
could outgrow it is refused at create (11100, naming the limit); the largest admissible
job is answered; long err_msgs are trimmed rather than making answers unsendable; and an
event that still cannot be sent (a job stored under a larger limit) ends the watch with
its own reason, EVENT_TOO_LARGE, never the slow-subscriber code a client resumes on.
(Before: a 5.5 MB CreateJob with 64 parties per task was accepted; its QueryJob answer
had 15.0 MB and every watch that could see it failed RESOURCE_EXHAUSTED, for good.)"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from dagwire.client import AsyncDagwireClient, RPCError
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.api.answer_size import answer_bound
from dagwire.server.api.job_service import MAX_REASON_CHARS
from dagwire.server.api.watch_errors import EVENT_TOO_LARGE
from dagwire.server.config import ServerConfig
from tests.conftest import ServerThread, assert_eventually
from tests.security.watch_tenants import OPS, server_config, stream_error_info

__all__ = ["server_config"]

Stub = job_pb2_grpc.JobServiceStub
KIB = 1024


def wide_job(job_id: str, tasks: int, parties: int = 64) -> pb.CreateJobRequest:
    return pb.CreateJobRequest(
        job_id=job_id,
        initiator="domain-00",
        tasks=[
            pb.Task(
                alias=f"task-{i:05d}",
                app_image="dagwire-noop",
                parties=[pb.Party(domain_id=f"domain-{p:02d}") for p in range(parties)],
            )
            for i in range(tasks)
        ],
    )


@pytest.fixture
def approval_domains() -> frozenset[str]:
    return frozenset({"domain-00"})  # the wide jobs wait, stored, for an approval


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> Stub:
    return job_pb2_grpc.JobServiceStub(channel)


async def test_the_5_mb_job_of_64_parties_per_task_is_refused_naming_the_limit(
    stub: Stub,
) -> None:
    request = wide_job("huge", 6_400)
    assert request.ByteSize() > 5_400_000  # within every per-field input limit
    answer = await stub.CreateJob(request, metadata=OPS)
    assert answer.status.code == 11100
    assert "sends at most 8388608 bytes per message" in answer.status.message
    queried = await stub.QueryJob(pb.QueryJobRequest(job_id="huge"), metadata=OPS)
    assert queried.status.code != 0, "nothing was stored"


class TestUnderASmallLimit:
    @pytest.fixture
    def server_overrides(self) -> dict[str, Any]:
        return {"max_message_bytes": 256 * KIB}

    async def test_the_largest_admissible_job_is_queried_and_watched(self, stub: Stub) -> None:
        limit = 256 * KIB
        tasks = max(n for n in range(1, 100) if answer_bound(wide_job("w", n)) <= limit)
        refused = await stub.CreateJob(wide_job("one-more", tasks + 1), metadata=OPS)
        assert refused.status.code == 11100
        created = await stub.CreateJob(wide_job("largest", tasks), metadata=OPS)
        assert created.status.code == 0, created.status.message

        queried = await stub.QueryJob(pb.QueryJobRequest(job_id="largest"), metadata=OPS)
        assert queried.status.code == 0 and queried.ByteSize() <= limit
        assert len(queried.data.status.tasks) == tasks
        watch = stub.WatchJob(pb.WatchJobRequest(job_ids=["largest"]), metadata=OPS)
        added = await watch.read()
        watch.cancel()
        assert added.type == pb.ADDED and len(added.object.status.tasks) == tasks

    async def test_a_batch_status_over_the_limit_asks_for_fewer_jobs(self, stub: Stub) -> None:
        tasks = max(n for n in range(1, 100) if answer_bound(wide_job("w", n)) <= 256 * KIB)
        ids = [f"batch-{i}" for i in range(5)]
        for job_id in ids:
            assert (await stub.CreateJob(wide_job(job_id, tasks), metadata=OPS)).status.code == 0
        many = pb.BatchQueryJobStatusRequest(job_ids=ids)
        refused = await stub.BatchQueryJobStatus(many, metadata=OPS)
        assert refused.status.code == 11203
        assert "ask for fewer jobs" in refused.status.message
        one = pb.BatchQueryJobStatusRequest(job_ids=ids[:1])
        assert (await stub.BatchQueryJobStatus(one, metadata=OPS)).status.code == 0

    async def test_the_longest_reason_lands_in_err_msgs_within_the_answer_bound(
        self, stub: Stub
    ) -> None:
        # A reason of 100 KiB used to need trimming here; reasons are bounded now
        # (MAX_REASON_CHARS), so the longest one a caller may give is carried whole.
        tasks = [
            pb.Task(
                alias=alias,
                app_image="dagwire-sleep",
                parties=[pb.Party(domain_id=d) for d in ("alice", "bob")],
                task_input_config=json.dumps({"sleep_seconds": 60}),
            )
            for alias in ("a", "b")
        ]
        job = pb.CreateJobRequest(job_id="wordy", initiator="alice", max_parallelism=2, tasks=tasks)
        assert (await stub.CreateJob(job, metadata=OPS)).status.code == 0
        await assert_eventually(
            lambda: stub.QueryJob(pb.QueryJobRequest(job_id="wordy"), metadata=OPS),
            lambda answer: answer.data.status.state == "Running",
        )
        watch = stub.WatchJob(pb.WatchJobRequest(job_ids=["wordy"]), metadata=OPS)
        assert (await watch.read()).type == pb.ADDED
        # The reason lands in the job's and each running task's err_msg: the longest a
        # caller may give (MAX_REASON_CHARS), longer than each err_msg's bound.
        reason = "r" * MAX_REASON_CHARS
        stopped = await stub.StopJob(pb.StopJobRequest(job_id="wordy", reason=reason), metadata=OPS)
        assert stopped.status.code == 0

        queried = await stub.QueryJob(pb.QueryJobRequest(job_id="wordy"), metadata=OPS)
        assert queried.status.code == 0
        assert queried.data.status.state == "Failed"
        assert reason in queried.data.status.err_msg
        assert all(
            0 < len(task.err_msg) <= MAX_REASON_CHARS + 200 for task in queried.data.status.tasks
        )
        while (event := await watch.read()).object.status.state != "Failed":
            pass
        watch.cancel()
        assert event.ByteSize() <= 256 * KIB


async def test_an_event_over_the_limit_ends_the_watch_with_event_too_large(
    server_config: ServerConfig,
) -> None:
    # Stored under the default limit, then served under a limit the job outgrows.
    big = ServerThread(server_config)
    big.start()
    try:
        async with grpc.aio.insecure_channel(big.address) as channel:
            created = await Stub(channel).CreateJob(wide_job("stored", 60), metadata=OPS)
            assert created.status.code == 0, created.status.message
    finally:
        big.stop()
    small = ServerThread(dataclasses.replace(server_config, max_message_bytes=64 * KIB))
    small.start()
    try:
        async with grpc.aio.insecure_channel(small.address) as channel:
            stub = Stub(channel)
            watch = stub.WatchJob(pb.WatchJobRequest(), metadata=OPS)
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                await watch.read()
            assert ended.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            info = stream_error_info(ended.value)
            assert info.reason == EVENT_TOO_LARGE
            assert info.metadata["job_id"] == "stored"
            assert "resume_from" not in (ended.value.details() or "")

            queried = await stub.QueryJob(pb.QueryJobRequest(job_id="stored"), metadata=OPS)
            assert queried.status.code == 11202
            assert "sends per message" in queried.status.message

        async with AsyncDagwireClient(target=small.address, token="tok-ops") as client:
            with pytest.raises(RPCError) as raised:  # at once: no reconnection loop
                async for _ in client.watch_jobs():
                    pass
            assert raised.value.reason == EVENT_TOO_LARGE
    finally:
        small.stop()


def test_the_error_is_documented() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "EVENT_TOO_LARGE" in readme and "SUBSCRIBER_TOO_SLOW" in readme
