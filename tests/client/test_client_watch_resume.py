"""watch_jobs survives dropped streams: it resumes after the last resource_version it saw,
so the caller misses nothing and gets nothing twice. Driven by a scripted JobService."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import grpc
import pytest

from dagwire.client import (
    AsyncDagwireClient,
    DagwireClient,
    EventType,
    JobEvent,
    JobNotFoundError,
    RPCError,
    WatchExpiredError,
)
from dagwire.client._errors import error_from_status
from tests.client.scripted import Script, ScriptedJobService, added, heartbeat, modified


@pytest.fixture
def client(scripted_server: ScriptedJobService) -> Iterator[DagwireClient]:
    with DagwireClient(target=scripted_server.address, timeout=5) as client:
        yield client


def _take(events: Iterator[JobEvent], n: int) -> list[tuple[str, str, int]]:
    taken = [(e.type.value, e.job_id, e.resource_version) for e in itertools.islice(events, n)]
    events.close()  # type: ignore[attr-defined]
    return taken


def test_dropped_stream_resumes_after_the_last_event_seen(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.scripts = [
        Script([added("a", 3), modified("a", 5)], abort=grpc.StatusCode.UNAVAILABLE),
        Script([modified("a", 6)]),
    ]
    events = _take(client.watch_jobs(), 3)
    assert events == [("ADDED", "a", 3), ("MODIFIED", "a", 5), ("MODIFIED", "a", 6)]
    assert [r.resume_from for r in scripted_server.requests] == [0, 5]


def test_subscriber_cut_off_for_falling_behind_resumes_too(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.scripts = [
        Script([added("a", 3), modified("a", 4)], abort=grpc.StatusCode.RESOURCE_EXHAUSTED),
        Script([modified("a", 5)]),
    ]
    assert _take(client.watch_jobs(), 3)[-1] == ("MODIFIED", "a", 5)
    assert scripted_server.requests[1].resume_from == 4


def test_events_replayed_after_a_resume_are_not_delivered_twice(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.scripts = [
        Script([added("a", 3), modified("a", 5)], abort=grpc.StatusCode.UNAVAILABLE),
        Script([modified("a", 4), modified("a", 5), modified("a", 6)]),
    ]
    events = _take(client.watch_jobs(), 3)
    assert [rv for _, _, rv in events] == [3, 5, 6]


def test_heartbeats_are_hidden_but_move_the_resume_point(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.scripts = [
        Script([added("a", 3), heartbeat(9)], abort=grpc.StatusCode.UNAVAILABLE),
        Script([modified("a", 10)]),
    ]
    assert _take(client.watch_jobs(), 2) == [("ADDED", "a", 3), ("MODIFIED", "a", 10)]
    assert scripted_server.requests[1].resume_from == 9


def test_heartbeats_are_delivered_when_asked_for(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.scripts = [Script([added("a", 3), heartbeat(9)])]
    events = _take(client.watch_jobs(include_heartbeats=True), 2)
    assert events == [("ADDED", "a", 3), ("HEARTBEAT", "", 9)]


def test_drop_during_the_initial_listing_relists_without_repeating_jobs(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    # The listing carries each job's own version (a:7, b:2), so it cannot be resumed
    # half-way: the client lists again and skips what it already delivered.
    scripted_server.scripts = [
        Script([added("a", 7)], abort=grpc.StatusCode.UNAVAILABLE),
        Script([added("a", 7), added("b", 2), modified("a", 8)]),
    ]
    events = _take(client.watch_jobs(), 3)
    assert events == [("ADDED", "a", 7), ("ADDED", "b", 2), ("MODIFIED", "a", 8)]
    assert [r.resume_from for r in scripted_server.requests] == [0, 0]


def test_resume_point_older_than_the_server_keeps_raises_watch_expired(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.scripts = [
        Script([added("a", 3), modified("a", 4)], abort=grpc.StatusCode.UNAVAILABLE),
        Script([], abort=grpc.StatusCode.OUT_OF_RANGE),
    ]
    events = client.watch_jobs()
    assert [e.resource_version for e in itertools.islice(events, 2)] == [3, 4]
    with pytest.raises(WatchExpiredError):
        next(events)


def test_explicit_resume_from_is_sent_and_skips_the_listing(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.scripts = [Script([modified("a", 12)], abort=grpc.StatusCode.UNAVAILABLE)]
    scripted_server.scripts.append(Script([modified("a", 13)]))
    assert _take(client.watch_jobs(resume_from=11), 2) == [
        ("MODIFIED", "a", 12),
        ("MODIFIED", "a", 13),
    ]
    assert [r.resume_from for r in scripted_server.requests] == [11, 12]


def test_stream_ending_without_a_timeout_is_reconnected(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.scripts = [
        Script([added("a", 3), modified("a", 4)]),
        Script([modified("a", 5)]),
    ]
    assert _take(client.watch_jobs(), 3)[-1] == ("MODIFIED", "a", 5)
    assert scripted_server.requests[1].resume_from == 4


def test_stream_ending_after_its_timeout_ends_the_watch(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.scripts = [Script([added("a", 3)])]
    events = list(client.watch_jobs(timeout_seconds=5))
    assert [e.type for e in events] == [EventType.ADDED]
    assert [r.timeout_seconds for r in scripted_server.requests] == [5]


def test_other_stream_failures_raise_rpc_error_with_the_status(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.scripts = [Script([], abort=grpc.StatusCode.INVALID_ARGUMENT)]
    with pytest.raises(RPCError) as caught:
        next(client.watch_jobs())
    assert caught.value.status is grpc.StatusCode.INVALID_ARGUMENT
    assert len(scripted_server.requests) == 1


def test_job_ids_are_sent_and_other_jobs_are_filtered_out(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.scripts = [Script([added("b", 1), added("a", 2), modified("b", 3)])]
    scripted_server.scripts.append(Script([modified("a", 4)]))
    assert _take(client.watch_jobs(job_ids=["a"]), 2) == [
        ("ADDED", "a", 2),
        ("MODIFIED", "a", 4),
    ]
    assert list(scripted_server.requests[0].job_ids) == ["a"]


def test_a_lone_job_id_string_is_not_split_into_characters(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.scripts = [Script([added("ab", 1)], abort=grpc.StatusCode.INVALID_ARGUMENT)]
    assert next(client.watch_jobs(job_ids="ab")).job_id == "ab"
    assert list(scripted_server.requests[0].job_ids) == ["ab"]


def test_a_server_that_stays_away_makes_the_watch_give_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("dagwire.client._base.RECONNECT_ATTEMPTS", 2)
    with DagwireClient(target="127.0.0.1:1") as client, pytest.raises(RPCError) as caught:
        next(client.watch_jobs())
    assert caught.value.status is grpc.StatusCode.UNAVAILABLE


def test_in_band_error_status_raises_the_precise_exception(
    scripted_server: ScriptedJobService, client: DagwireClient
) -> None:
    scripted_server.query_status.code = 11202
    scripted_server.query_status.message = "job 'x' not found"
    with pytest.raises(JobNotFoundError, match="job 'x' not found"):
        client.get_job("x")
    assert type(error_from_status(scripted_server.query_status)) is JobNotFoundError


async def test_async_watch_resumes_after_a_dropped_stream(
    scripted_server: ScriptedJobService,
) -> None:
    scripted_server.scripts = [
        Script([added("a", 3), modified("a", 5)], abort=grpc.StatusCode.UNAVAILABLE),
        Script([modified("a", 5), modified("a", 6), heartbeat(6)]),
    ]
    async with AsyncDagwireClient(target=scripted_server.address, timeout=5) as client:
        events = client.watch_jobs()
        got = [(await anext(events)).resource_version for _ in range(3)]
        await events.aclose()
    assert got == [3, 5, 6]
    assert [r.resume_from for r in scripted_server.requests] == [0, 5]


async def test_async_watch_raises_watch_expired_on_out_of_range(
    scripted_server: ScriptedJobService,
) -> None:
    scripted_server.scripts = [Script([], abort=grpc.StatusCode.OUT_OF_RANGE)]
    async with AsyncDagwireClient(target=scripted_server.address) as client:
        with pytest.raises(WatchExpiredError):
            await anext(client.watch_jobs(resume_from=3))
