"""A Kuscia job names its queue in its custom field PF_JOB_QUEUE_NAME: its tasks wait
for the queue with the reason on the party and the task, each task's parties as one
(two parties of one core each need two), and the queue must be granted to every party
domain of the job: one that is not answers as a missing queue."""

from __future__ import annotations

import asyncio

from dagwire.client import AsyncDagwireClient, Grant, Resources
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.api.conftest import create_ok, query, sleeping, wait_for_state
from tests.api.conftest import stub as stub
from tests.conftest import ServerThread, assert_eventually


def queued_job(job_id: str, queue: str) -> pb.CreateJobRequest:
    return pb.CreateJobRequest(
        job_id=job_id,
        initiator="alice",
        max_parallelism=1,
        tasks=[sleeping("train", 0.5)],
        custom_fields={"PF_JOB_QUEUE_NAME": queue},
    )


async def test_kuscia_jobs_wait_for_their_queue_and_need_it_granted_to_every_party(
    dagwire_server: ServerThread, stub: job_pb2_grpc.JobServiceStub
) -> None:
    async with AsyncDagwireClient(target=dagwire_server.address, timeout=10) as ops:
        await ops.create_queue("kq", Resources(cpu="2"))
        await ops.grant_queue("kq", [Grant("domain", "alice"), Grant("domain", "bob")])
        await ops.create_queue("alice-only", Resources(cpu="2"))
        await ops.grant_queue("alice-only", [Grant("domain", "alice")])

        ids = [f"kq-{i}" for i in range(3)]
        await asyncio.gather(*(create_ok(stub, queued_job(i, "kq")) for i in ids))

        async def waiting() -> list[str]:
            found = []
            for job_id in ids:
                for t in (await query(stub, job_id)).data.status.tasks:
                    found += [t.err_msg, *(p.err_msg for p in t.parties)]
            return found

        seen = await assert_eventually(
            waiting, lambda found: any(m.startswith("queued in kq") for m in found), timeout=30
        )
        assert "queued in kq: needs cpu 2, 2 of 2 in use" in seen
        assert (await ops.get_queue("kq")).running <= 2
        for job_id in ids:
            await wait_for_state(stub, job_id, "Succeeded", timeout=60)

        await create_ok(stub, queued_job("half-granted", "alice-only"))
        failed = await wait_for_state(stub, "half-granted", "Failed", timeout=30)
        bob = next(p for p in failed.data.status.tasks[0].parties if p.domain_id == "bob")
        assert bob.err_msg == "queue 'alice-only' not found"
