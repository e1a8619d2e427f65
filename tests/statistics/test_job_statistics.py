"""Kuscia jobs' party processes are measured too; JobStatisticsService (dagwire.v1)
reads their figures, since Kuscia's own messages stay Kuscia's. A caller sees the jobs
its domain is a party of, as on JobService."""

from __future__ import annotations

import grpc
import pytest

from dagwire.client import AsyncDagwireClient
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as kuscia
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.v1 import job_statistics_request_response_pb2 as rr
from dagwire.v1 import job_statistics_service_pb2_grpc as rpc
from tests.api.conftest import job_request, sleeping
from tests.conftest import ServerThread
from tests.eventually import assert_eventually
from tests.security.sandboxing import ALICE, ALICE_TOKEN, CAROL, Metadata


async def _finished_job(channel: grpc.aio.Channel, job_id: str) -> None:
    jobs = job_pb2_grpc.JobServiceStub(channel)
    created = await jobs.CreateJob(job_request(job_id, sleeping("nap", 0.5)), metadata=ALICE)
    assert created.status.code == 0, created.status.message

    async def state() -> str:
        reply = await jobs.QueryJob(kuscia.QueryJobRequest(job_id=job_id), metadata=ALICE)
        return reply.data.status.state

    await assert_eventually(state, lambda s: s == "Succeeded", timeout=30)


async def _refusal(
    stub: rpc.JobStatisticsServiceStub, job_id: str, metadata: Metadata
) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetJobStatistics(rr.GetJobStatisticsRequest(job_id=job_id), metadata=metadata)
    return caught.value.code(), (caught.value.details() or "").replace(job_id, "<id>")


async def test_each_partys_process_of_a_kuscia_task_reports_its_figures(
    channel: grpc.aio.Channel,
) -> None:
    await _finished_job(channel, "stats-job")
    stub = rpc.JobStatisticsServiceStub(channel)

    reply = await stub.GetJobStatistics(
        rr.GetJobStatisticsRequest(job_id="stats-job", task_id="nap"), metadata=ALICE
    )

    assert [(e.step_name, e.domain_id, e.attempt) for e in reply.statistics] == [
        ("nap", "alice", 1),
        ("nap", "bob", 1),
    ]
    assert all(e.complete and e.exit_code == 0 for e in reply.statistics)
    assert all(e.wall_seconds >= 0.5 for e in reply.statistics)


async def test_a_domain_that_is_no_party_finds_no_such_job(channel: grpc.aio.Channel) -> None:
    await _finished_job(channel, "stats-job")
    stub = rpc.JobStatisticsServiceStub(channel)

    foreign = await _refusal(stub, "stats-job", CAROL)
    missing = await _refusal(stub, "no-such-job", CAROL)

    assert foreign == missing
    assert foreign[0] == grpc.StatusCode.NOT_FOUND


async def test_the_sdk_reads_a_jobs_statistics(
    channel: grpc.aio.Channel, dagwire_server: ServerThread
) -> None:
    await _finished_job(channel, "stats-job")

    async with AsyncDagwireClient(target=dagwire_server.address, token=ALICE_TOKEN) as client:
        found = await client.get_job_statistics("stats-job", with_samples=True)

    assert {entry.domain_id for entry in found} == {"alice", "bob"}
    assert all(entry.step_name == "nap" and entry.samples for entry in found)
