"""The create-time bound of a job's answers holds in the largest state the job can
reach, and is close to it (a loose bound would refuse jobs that fit)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.server.api.answer_size import answer_bound, check_answer_size
from dagwire.server.api.convert import TRIMMED, job_spec_from_proto, query_data, watch_event
from dagwire.server.api.status import success
from dagwire.server.engine.errors import InvalidRequest
from dagwire.server.engine.model import (
    ApprovalState,
    Job,
    JobState,
    PartyState,
    Stage,
    TaskState,
)
from dagwire.server.engine.reducer import create_job
from dagwire.server.runtime.watch import WatchEvent, WatchEventType

LONG = "x" * 5_000  # every err_msg far longer than what an answer carries of it
NOW = datetime(2026, 12, 4, 15, 43, 49, tzinfo=UTC)


def request(tasks: int, parties: int, name: str = "d") -> pb.CreateJobRequest:
    return pb.CreateJobRequest(
        job_id="big",
        initiator=f"{name}0",
        tasks=[
            pb.Task(
                alias=f"task-{i}",
                app_image="dagwire-noop",
                parties=[pb.Party(domain_id=f"{name}{p}", role="partner") for p in range(parties)],
                dependencies=[f"task-{i - 1}"] if i else [],
            )
            for i in range(tasks)
        ],
    )


def largest_state(req: pb.CreateJobRequest) -> Job:
    """The job in the state whose answer is the largest: the longest state names, every
    time set, every err_msg long."""
    spec = job_spec_from_proto(req)
    job = create_job(spec, NOW, frozenset(spec.domains)).job
    tasks = tuple(
        replace(
            task,
            state=TaskState.SUCCEEDED,
            err_msg=LONG,
            start_time=NOW,
            end_time=NOW,
            progress=0.5,
            parties=tuple(
                replace(p, state=PartyState.SUCCEEDED, err_msg=LONG) for p in task.parties
            ),
        )
        for task in job.tasks
    )
    return replace(
        job,
        tasks=tasks,
        state=JobState.AWAITING_APPROVAL,
        stage=Stage.RESTART,
        err_msg=LONG,
        start_time=NOW,
        end_time=NOW,
        approvals={domain: ApprovalState.AWAITING for domain in spec.domains},
    )


@pytest.mark.parametrize(
    ("tasks", "parties", "name"),
    [
        pytest.param(200, 64, "d", id="64-parties-per-task"),
        pytest.param(2_000, 1, "d", id="many-one-party-tasks"),
        pytest.param(50, 3, "a" * 60, id="long-domain-ids"),
    ],
)
def test_the_bound_covers_the_largest_answer_and_is_tight(
    tasks: int, parties: int, name: str
) -> None:
    req = request(tasks, parties, name)
    job = largest_state(req)
    largest = pb.QueryJobResponse(status=success(), data=query_data(job, TRIMMED)).ByteSize()
    bound = answer_bound(req)
    assert largest <= bound <= largest * 1.10
    event = watch_event(WatchEvent(WatchEventType.MODIFIED, job, 2**40), TRIMMED)
    assert len(event) <= bound, "a watch event carries less than QueryJob's answer"


def test_a_job_over_the_bound_is_refused_naming_the_limit() -> None:
    req = request(200, 64)
    with pytest.raises(InvalidRequest, match=r"sends at most 100000 bytes per message"):
        check_answer_size(req, 100_000)
    check_answer_size(req, answer_bound(req))  # exactly at the limit: accepted
