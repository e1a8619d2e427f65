"""Watch events are assembled from per-task encodings kept between a job's changes;
whatever the path, the bytes are the one message the plain conversion describes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.server.api import convert
from dagwire.server.api.convert import WATCH_EVENT_TYPES, job_status, watch_event
from dagwire.server.api.job_service import EncodedEvents
from dagwire.server.engine.model import Job
from dagwire.server.engine.reducer import create_job
from dagwire.server.runtime.watch import WatchEvent, WatchEventType
from tests.engine.factories import at, spec, task


def big_job(tasks: int = 300) -> Job:
    # 300 tasks: a status of some 25 KB, so lengths take three bytes.
    chain = [task("t0")] + [task(f"t{i}", f"t{i - 1}") for i in range(1, tasks)]
    return create_job(spec(*chain, max_parallelism=tasks), at(0), frozenset()).job


def plain(event: WatchEvent) -> pb.WatchJobEventResponse:
    return pb.WatchJobEventResponse(
        type=WATCH_EVENT_TYPES[event.type],  # type: ignore[arg-type]
        object=job_status(event.job) if event.job is not None else None,
        resource_version=event.resource_version,
    )


def decoded(event: WatchEvent) -> pb.WatchJobEventResponse:
    return pb.WatchJobEventResponse.FromString(watch_event(event))


def test_an_added_event_is_the_plain_message() -> None:
    event = WatchEvent(WatchEventType.ADDED, big_job(), 7)
    assert decoded(event) == plain(event)


def test_a_change_of_one_task_reuses_the_others_and_is_still_the_plain_message() -> None:
    job = big_job()
    decoded(WatchEvent(WatchEventType.MODIFIED, job, 7))
    tasks = list(job.tasks)
    tasks[150] = replace(tasks[150], err_msg="changed")
    changed = replace(job, tasks=tuple(tasks), err_msg="job changed")
    event = WatchEvent(WatchEventType.MODIFIED, changed, 8)
    assert decoded(event) == plain(event)
    assert decoded(event).object.status.tasks[150].err_msg == "changed"


def test_an_older_version_of_the_job_encodes_as_itself() -> None:
    # A replay may encode an earlier change after a later one.
    job = big_job()
    later = replace(job, tasks=(replace(job.tasks[0], err_msg="later"), *job.tasks[1:]))
    decoded(WatchEvent(WatchEventType.MODIFIED, later, 9))
    event = WatchEvent(WatchEventType.MODIFIED, job, 8)
    assert decoded(event) == plain(event)


def test_a_heartbeat_has_no_object() -> None:
    event = WatchEvent(WatchEventType.HEARTBEAT, None, 12)
    assert decoded(event) == plain(event)
    assert not decoded(event).HasField("object")


def test_shared_encodings_hold_at_most_their_byte_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    encoded: list[int] = []
    real = convert.watch_event

    def counting(event: WatchEvent) -> bytes:
        encoded.append(event.resource_version)
        return real(event)

    monkeypatch.setattr(convert, "watch_event", counting)
    job = big_job()
    size = len(real(WatchEvent(WatchEventType.ADDED, job, 1)))
    shared = EncodedEvents(max_bytes=2 * size + size // 2)  # room for two
    for version in (1, 2, 1, 3, 1, 2):
        shared.encode(WatchEvent(WatchEventType.ADDED, job, version))
    # 1 and 2 kept; 1 reused; 3 evicts 2 (least recently used); 1 reused; 2 again.
    assert encoded == [1, 2, 3, 2]
    huge = EncodedEvents(max_bytes=size - 1)  # one event is larger than the bound
    for _ in range(2):
        huge.encode(WatchEvent(WatchEventType.ADDED, job, 1))
    assert encoded == [1, 2, 3, 2, 1, 1], "an event beyond the bound is not kept"
