"""Wire messages become typed, frozen results that keep the proto as `raw`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from google.protobuf import json_format

from dagwire.client import (
    TERMINAL_STATES,
    EventType,
    Job,
    JobEvent,
    JobState,
    JobStatus,
    ScheduleConfig,
)
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2

# Kuscia's documented QueryJob answer (task_input_config shortened), plus dagwire's extras.
QUERY_DATA = {
    "job_id": "job-alice-bob-001",
    "initiator": "alice",
    "max_parallelism": 2,
    "custom_fields": {"project": "demo"},
    "tasks": [
        {
            "app_image": "secretflow-image",
            "parties": [
                {"domain_id": "alice", "role": "partner", "resources": {"cpu": "2"}},
                {"domain_id": "bob", "role": "partner"},
            ],
            "alias": "job-psi",
            "task_id": "job-psi",
            "dependencies": [""],
            "task_input_config": "{}",
            "priority": 100,
            "schedule_config": {"task_timeout_seconds": 60},
        },
        {
            "app_image": "secretflow-image",
            "parties": [{"domain_id": "alice", "role": "partner"}],
            "alias": "job-split",
            "task_id": "job-split",
            "dependencies": ["job-psi"],
            "task_input_config": "{}",
            "priority": 100,
        },
    ],
    "status": {
        "state": "Running",
        "err_msg": "",
        "create_time": "2024-01-17T07:13:39Z",
        "start_time": "2024-01-17T07:13:40Z",
        "end_time": "",
        "tasks": [
            {
                "task_id": "job-psi",
                "alias": "job-psi",
                "state": "Succeeded",
                "progress": 1.0,
                "parties": [
                    {
                        "domain_id": "alice",
                        "state": "Succeeded",
                        "endpoints": [{"port_name": "spu", "scope": "Cluster", "endpoint": "a:1"}],
                    }
                ],
            },
            {"task_id": "job-split", "alias": "job-split", "state": "Running", "progress": 0.5},
        ],
        "stage_status_list": [{"domain_id": "alice", "state": "JobCreateStageSucceeded"}],
        "approve_status_list": [{"domain_id": "bob", "state": "JobAccepted"}],
    },
}


@pytest.fixture
def query_data() -> job_pb2.QueryJobResponseData:
    return json_format.ParseDict(QUERY_DATA, job_pb2.QueryJobResponseData())


def test_job_carries_identity_and_custom_fields(query_data: job_pb2.QueryJobResponseData) -> None:
    job = Job._from_proto(query_data)
    assert (job.job_id, job.initiator, job.max_parallelism) == ("job-alice-bob-001", "alice", 2)
    assert job.custom_fields == {"project": "demo"}
    assert job.state == "Running"


def test_task_specs_come_from_task_configs(query_data: job_pb2.QueryJobResponseData) -> None:
    psi, split = Job._from_proto(query_data).tasks
    assert (psi.task_id, psi.alias, psi.app_image, psi.priority) == (
        "job-psi",
        "job-psi",
        "secretflow-image",
        100,
    )
    assert [p.domain_id for p in psi.parties] == ["alice", "bob"]
    assert psi.parties[0].cpu == "2"
    assert psi.schedule_config == ScheduleConfig(task_timeout_seconds=60)
    assert split.dependencies == ("job-psi",)


def test_kuscias_empty_dependency_placeholder_is_dropped(
    query_data: job_pb2.QueryJobResponseData,
) -> None:
    assert Job._from_proto(query_data).tasks[0].dependencies == ()


def test_task_status_has_state_progress_and_parties(
    query_data: job_pb2.QueryJobResponseData,
) -> None:
    status = Job._from_proto(query_data).status
    assert status.task("job-split").progress == pytest.approx(0.5)
    psi = status.task("job-psi")
    assert (psi.state, psi.progress) == ("Succeeded", 1.0)
    assert psi.parties[0].endpoints[0].endpoint == "a:1"


def test_times_are_parsed_and_empty_ones_are_none(
    query_data: job_pb2.QueryJobResponseData,
) -> None:
    status = Job._from_proto(query_data).status
    assert status.create_time == datetime(2024, 1, 17, 7, 13, 39, tzinfo=UTC)
    assert status.end_time is None


def test_stage_and_approve_lists_map_domains_to_states(
    query_data: job_pb2.QueryJobResponseData,
) -> None:
    status = Job._from_proto(query_data).status
    assert status.stage_status == {"alice": "JobCreateStageSucceeded"}
    assert status.approve_status == {"bob": "JobAccepted"}


def test_results_keep_the_proto_as_raw(query_data: job_pb2.QueryJobResponseData) -> None:
    job = Job._from_proto(query_data)
    assert job.raw is query_data
    assert job.tasks[0].raw is query_data.tasks[0]
    assert job.status.raw is not None and job.status.raw.job_id == "job-alice-bob-001"


def test_results_are_frozen(query_data: job_pb2.QueryJobResponseData) -> None:
    job = Job._from_proto(query_data)
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.job_id = "other"  # type: ignore[misc]


def test_raw_is_left_out_of_equality(query_data: job_pb2.QueryJobResponseData) -> None:
    copy = job_pb2.QueryJobResponseData()
    copy.CopyFrom(query_data)
    assert Job._from_proto(query_data) == Job._from_proto(copy)


def test_unknown_task_name_raises_key_error(query_data: job_pb2.QueryJobResponseData) -> None:
    with pytest.raises(KeyError):
        Job._from_proto(query_data).status.task("nope")


@pytest.mark.parametrize("state", list(JobState), ids=str)
def test_only_succeeded_failed_rejected_and_cancelled_are_terminal(state: JobState) -> None:
    expected = state in {"Succeeded", "Failed", "ApprovalReject", "Cancelled"}
    assert state.is_terminal is expected
    assert JobStatus(job_id="j", state=state).is_terminal is expected


def test_suspended_is_a_pause_not_an_end() -> None:
    assert "Suspended" not in TERMINAL_STATES


def test_watch_event_carries_type_job_status_and_resource_version() -> None:
    message = job_pb2.WatchJobEventResponse(
        type=job_pb2.MODIFIED,
        object=job_pb2.JobStatus(job_id="j", status=job_pb2.JobStatusDetail(state="Running")),
        resource_version=42,
    )
    event = JobEvent._from_proto(message)
    assert (event.type, event.job_id, event.resource_version) == (EventType.MODIFIED, "j", 42)
    assert event.status is not None and event.status.state == "Running"


def test_heartbeat_event_has_no_status() -> None:
    event = JobEvent._from_proto(
        job_pb2.WatchJobEventResponse(type=job_pb2.HEARTBEAT, resource_version=7)
    )
    assert (event.type, event.job_id, event.status) == (EventType.HEARTBEAT, "", None)
    assert event.type == "HEARTBEAT"
