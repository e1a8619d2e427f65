"""Opening many watches on a big job the caller sees costs one decoding and one encoding
of it, not one each: every open's initial listing shares the job as stored at that
version. (Before: 300 opens by bob of his stored 10,000-task job took 72 s of server CPU,
each decoding it again, and alice's QueryJob of a one-task job waited up to 78 s.)"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.api import convert
from dagwire.server.runtime.watch import WatchEvent
from dagwire.server.store import rows
from tests.security.watch_tenants import BOB, chain, server_config

__all__ = ["server_config"]

OPENS = 100
BIG = "bobs-big-job"


@pytest.fixture
def heartbeat_interval() -> float:
    return 0.5


@pytest.fixture
def approval_domains() -> frozenset[str]:
    # bob's job waits for his approval: it stays stored, unchanged, while watches open.
    return frozenset({"bob"})


async def added_until_bookmark(stub: job_pb2_grpc.JobServiceStub) -> list[bytes]:
    """Open a watch as bob and read its initial listing up to the bookmark: the ADDED
    events, as received."""
    watch = stub.WatchJob(pb.WatchJobRequest(), metadata=BOB)
    added = []
    while (event := await watch.read()) is not grpc.aio.EOF:
        if event.type == pb.HEARTBEAT:
            break
        added.append(event.SerializeToString())
    watch.cancel()
    return added


def count_decodings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the jobs the store decodes from their rows, from now on (reader
    threads included)."""
    decoded: list[str] = []
    real = rows.job_from_json

    def counting(*args: Any, **kwargs: Any) -> Any:
        job = real(*args, **kwargs)
        decoded.append(job.job_id)
        return job

    monkeypatch.setattr(rows, "job_from_json", counting)
    return decoded


def count_encodings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the jobs whose watch events are converted to wire bytes, from now on."""
    encoded: list[str] = []
    real = convert.watch_event

    def counting(event: WatchEvent, *args: Any, **kwargs: Any) -> bytes:
        if event.job is not None:
            encoded.append(event.job.job_id)
        return real(event, *args, **kwargs)

    monkeypatch.setattr(convert, "watch_event", counting)
    return encoded


@pytest.mark.timeout(180)
async def test_watch_opens_of_a_visible_big_job_decode_and_encode_it_once(
    channel: grpc.aio.Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = job_pb2_grpc.JobServiceStub(channel)
    created = await stub.CreateJob(chain(BIG, 2_000, "bob", "carol"), metadata=BOB)
    assert created.status.code == 0, created.status.message
    decoded = count_decodings(monkeypatch)
    encoded = count_encodings(monkeypatch)

    first = await added_until_bookmark(stub)
    rest = await asyncio.gather(*(added_until_bookmark(stub) for _ in range(OPENS)))

    assert len(first) == 1, "bob's watch lists his one job"
    assert all(added == first for added in rest), "every open got the same bytes"
    assert decoded.count(BIG) <= 1, f"decoded {decoded.count(BIG)} times for {OPENS + 1} opens"
    assert encoded.count(BIG) <= 1, f"encoded {encoded.count(BIG)} times for {OPENS + 1} opens"
