"""The stored JSON: assembled from memoised pieces, it must say exactly what the plain
encoding says, and read back to the same job."""

from __future__ import annotations

import json
from dataclasses import replace

from dagwire.server.engine import reducer as r
from dagwire.server.engine.model import JobKind
from dagwire.server.store.codec import job_from_dict, job_to_dict, job_to_json
from tests.engine.factories import at, spec, task


def test_the_assembled_json_is_the_plain_encoding() -> None:
    job = r.create_job(spec(task("a"), task("b", "a")), at(0), frozenset()).job
    changed = r.apply(job, r.ProcessExited("a", 1, "alice", 0), at(1)).job
    for value in (job, changed):
        assert json.loads(job_to_json(value)) == job_to_dict(value)


def test_a_run_with_events_round_trips_through_the_assembled_json() -> None:
    job_spec = replace(spec(task("a"), task("b", "a")), kind=JobKind.RUN)
    job = r.create_job(job_spec, at(0), frozenset()).job
    job = r.apply(job, r.ProcessExited("a", 1, "alice", 1, "boom"), at(1)).job
    back = job_from_dict(json.loads(job_to_json(job)), version=0, resource_version=0)
    assert back == job


def test_an_unchanged_task_is_encoded_once() -> None:
    job = r.create_job(spec(task("a"), task("b", "a")), at(0), frozenset()).job
    first = job_to_json(job)
    after = r.apply(job, r.ProcessStarted("a", 1, "alice"), at(1)).job
    assert after.task("b") is job.task("b")  # the engine keeps unchanged tasks
    assert job_to_json(after) != first
    assert json.loads(job_to_json(after))["tasks"][1] == json.loads(first)["tasks"][1]
