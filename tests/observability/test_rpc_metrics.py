"""/metrics counts every call by method and code (the in-band Kuscia code for
JobService) and times it, over gRPC and over the HTTP gateway alike."""

from __future__ import annotations

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.api.conftest import create_ok, seed_request, wait_for_state
from tests.observability.conftest import Scraper, rpc_labels

Stub = job_pb2_grpc.JobServiceStub


async def test_a_grpc_call_is_counted_with_its_in_band_code(stub: Stub, metrics: Scraper) -> None:
    labels = rpc_labels("QueryJob", "11202")
    before = await metrics.value("dagwire_rpc_handled_total", **labels)
    await stub.QueryJob(pb.QueryJobRequest(job_id="missing"))
    assert await metrics.value("dagwire_rpc_handled_total", **labels) == before + 1


async def test_a_successful_call_is_counted_with_code_0(stub: Stub, metrics: Scraper) -> None:
    await create_ok(stub, seed_request())
    assert await metrics.value("dagwire_rpc_handled_total", **rpc_labels("CreateJob", "0")) == 1


async def test_a_call_is_timed(stub: Stub, metrics: Scraper) -> None:
    await stub.QueryJob(pb.QueryJobRequest(job_id="missing"))
    await stub.QueryJob(pb.QueryJobRequest(job_id="missing"))
    labels = rpc_labels("QueryJob", "11202")
    assert await metrics.value("dagwire_rpc_duration_seconds_count", **labels) == 2
    assert await metrics.value("dagwire_rpc_duration_seconds_sum", **labels) > 0


async def test_a_stream_aborted_with_a_status_is_counted_by_its_name(
    stub: Stub, metrics: Scraper
) -> None:
    with pytest.raises(grpc.aio.AioRpcError):
        async for _ in stub.WatchJob(pb.WatchJobRequest(timeout_seconds=-1)):
            pass
    labels = rpc_labels("WatchJob", "INVALID_ARGUMENT")
    assert await metrics.value("dagwire_rpc_handled_total", **labels) == 1


async def test_a_stream_that_ends_is_counted_ok(stub: Stub, metrics: Scraper) -> None:
    async for _ in stub.WatchJob(pb.WatchJobRequest(timeout_seconds=1)):
        pass
    assert await metrics.value("dagwire_rpc_handled_total", **rpc_labels("WatchJob", "OK")) == 1


async def test_a_gateway_call_is_counted_with_transport_http(metrics: Scraper) -> None:
    async with metrics.session.post("/api/v1/job/query", json={"job_id": "missing"}) as response:
        assert response.status == 200
    labels = rpc_labels("QueryJob", "11202", transport="http")
    assert await metrics.value("dagwire_rpc_handled_total", **labels) == 1


async def test_the_counters_move_through_a_job_lifecycle(stub: Stub, metrics: Scraper) -> None:
    await create_ok(stub, seed_request())
    await wait_for_state(stub, "job-alice-bob-001", "Succeeded")
    await stub.DeleteJob(pb.DeleteJobRequest(job_id="job-alice-bob-001"))
    assert await metrics.value("dagwire_rpc_handled_total", **rpc_labels("DeleteJob", "0")) == 1
    assert await metrics.value("dagwire_rpc_handled_total", **rpc_labels("QueryJob", "0")) >= 1
    assert await metrics.value("dagwire_bus_events_published_total") >= 3
