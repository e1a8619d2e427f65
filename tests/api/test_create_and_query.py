"""CreateJob, QueryJob and BatchQueryJobStatus over a real channel."""

from __future__ import annotations

import re

import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.api.conftest import (
    create_ok,
    job_request,
    query,
    seed_request,
    sleeping,
    task,
    wait_for_state,
)

Stub = job_pb2_grpc.JobServiceStub


async def test_kuscia_seed_job_runs_to_succeeded(stub: Stub) -> None:
    response = await stub.CreateJob(seed_request())
    assert (response.status.code, response.status.message) == (0, "success")
    assert response.data.job_id == "job-alice-bob-001"
    done = await wait_for_state(stub, "job-alice-bob-001", "Succeeded")
    status = done.data.status
    assert [t.task_id for t in status.tasks] == ["job-psi", "job-split"]
    assert all(t.state == "Succeeded" and t.progress == 1.0 for t in status.tasks)
    assert status.create_time and status.start_time and status.end_time


async def test_query_returns_tasks_as_submitted_and_per_party_status(stub: Stub) -> None:
    await create_ok(stub, seed_request("seed-query"))
    data = (await wait_for_state(stub, "seed-query", "Succeeded")).data
    assert (data.job_id, data.initiator, data.max_parallelism) == ("seed-query", "alice", 2)
    psi, split = data.tasks
    assert isinstance(psi, pb.TaskConfig)
    assert (psi.task_id, psi.alias, psi.app_image, psi.priority) == (
        "job-psi",
        "job-psi",
        "secretflow-image",
        100,
    )
    assert list(split.dependencies) == ["job-psi"]
    # Kuscia's documented body names no role.
    assert [(p.domain_id, p.role) for p in psi.parties] == [("alice", ""), ("bob", "")]
    assert psi.task_input_config.startswith('{"sf_datasource_config"')
    for task_status in data.status.tasks:
        assert [(p.domain_id, p.state) for p in task_status.parties] == [
            ("alice", "Succeeded"),
            ("bob", "Succeeded"),
        ]
    assert [(s.domain_id, s.state) for s in data.status.stage_status_list] == [
        ("alice", "JobCreateStageSucceeded"),
        ("bob", "JobCreateStageSucceeded"),
    ]


async def test_batch_query_returns_every_requested_job_in_order(stub: Stub) -> None:
    await create_ok(stub, job_request("batch-a", sleeping("t", 0)))
    await create_ok(stub, job_request("batch-b", sleeping("t", 0)))
    response = await stub.BatchQueryJobStatus(
        pb.BatchQueryJobStatusRequest(job_ids=["batch-b", "batch-a"])
    )
    assert response.status.code == 0
    assert [job.job_id for job in response.data.jobs] == ["batch-b", "batch-a"]
    assert all(job.status.state for job in response.data.jobs)


async def test_batch_query_naming_a_missing_job_returns_11203(stub: Stub) -> None:
    await create_ok(stub, job_request("batch-c", sleeping("t", 0)))
    response = await stub.BatchQueryJobStatus(
        pb.BatchQueryJobStatusRequest(job_ids=["batch-c", "nope"])
    )
    assert response.status.code == 11203 and "'nope' does not exist" in response.status.message


async def test_query_of_an_unknown_job_returns_11202(stub: Stub) -> None:
    response = await query(stub, "ghost")
    assert response.status.code == 11202
    assert response.status.message == "job 'ghost' does not exist"


INVALID = [
    pytest.param(
        job_request("cyclic", task("a", "b"), task("b", "a")), "cycle through 'a', 'b'", id="cycle"
    ),
    pytest.param(
        job_request("unknown-dep", task("a", "ghost")),
        "depends on 'ghost'",
        id="unknown-dependency",
    ),
    pytest.param(job_request("Bad_ID", task("a")), "job_id 'Bad_ID' is invalid", id="bad-job-id"),
    pytest.param(
        job_request("no-parties", task("a", parties=())),
        "parties must not be empty",
        id="empty-parties",
    ),
    pytest.param(job_request("no-tasks"), "tasks must not be empty", id="no-tasks"),
    pytest.param(
        job_request("bad-image", task("a", image="no-such-image")),
        "'no-such-image' is not in the app-image registry",
        id="unknown-image",
    ),
    pytest.param(
        pb.CreateJobRequest(job_id="no-initiator", tasks=[task("a")]),
        "initiator is required",
        id="no-initiator",
    ),
]


@pytest.mark.parametrize(("request_", "message"), INVALID)
async def test_invalid_job_is_refused_with_11100_and_nothing_is_stored(
    stub: Stub, request_: pb.CreateJobRequest, message: str
) -> None:
    response = await stub.CreateJob(request_)
    assert response.status.code == 11100
    assert message in response.status.message
    assert (await query(stub, request_.job_id or "x")).status.code == 11202


async def test_duplicate_job_id_is_refused_with_11201_and_the_first_job_is_untouched(
    stub: Stub,
) -> None:
    await create_ok(stub, job_request("dup", sleeping("first", 0)))
    response = await stub.CreateJob(job_request("dup", sleeping("second", 0)))
    assert response.status.code == 11201
    assert "already exists" in response.status.message
    assert [t.alias for t in (await query(stub, "dup")).data.tasks] == ["first"]


async def test_error_status_has_empty_details_as_kuscia_sends(stub: Stub) -> None:
    response = await query(stub, "ghost")
    assert response.status.code == 11202
    assert list(response.status.details) == []


async def test_error_status_carries_a_machine_readable_reason_when_asked(stub: Stub) -> None:
    from google.rpc.error_details_pb2 import ErrorInfo

    response = await stub.QueryJob(
        pb.QueryJobRequest(job_id="ghost"), metadata=(("dagwire-error-info", "1"),)
    )
    info = ErrorInfo()
    assert response.status.details[0].Unpack(info)
    assert (info.reason, info.domain) == ("JOB_NOT_FOUND", "dagwire.io")


async def test_max_parallelism_of_zero_means_one(stub: Stub) -> None:
    await create_ok(stub, job_request("par-zero", sleeping("a", 0), max_parallelism=0))
    assert (await query(stub, "par-zero")).data.max_parallelism == 1


async def test_a_task_without_id_gets_a_unique_one_and_empty_dependencies_are_ignored(
    stub: Stub,
) -> None:
    # Kuscia's controller generates "<job>-<12 hex>" (kusciajob/handler/scheduler.go
    # generateTaskID): two jobs' tasks of the same alias never share an id.
    await create_ok(stub, job_request("defaults", sleeping("root", 0, "")))
    await create_ok(stub, job_request("defaults-2", sleeping("root", 0)))
    first = (await query(stub, "defaults")).data.tasks[0]
    second = (await query(stub, "defaults-2")).data.tasks[0]
    assert re.fullmatch(r"defaults-[0-9a-f]{12}", first.task_id)
    assert first.task_id != second.task_id
    assert list(first.dependencies) == []
