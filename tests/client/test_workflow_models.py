"""WorkflowService messages become typed, frozen results that keep the proto as `raw`.
The run is a real one captured from the server mid-flight (tests/client/data)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.protobuf import json_format

from dagwire.client import (
    Artifact,
    ArtifactType,
    CacheEntry,
    ConcurrencyPolicy,
    EventType,
    FailureStrategy,
    Page,
    Pipeline,
    Run,
    RunEvent,
    RunStatus,
    Schedule,
    ScheduleStatus,
    StepLog,
    StepStatus,
)
from dagwire.client._workflow_calls import _next_token
from dagwire.client._workflow_models import RunStatus as ModelRunStatus
from dagwire.v1 import enums_pb2, message_pb2
from dagwire.v1 import workflow_request_response_pb2 as wf

CAPTURED_RUN = Path(__file__).parent / "data" / "run_mixed_running.json"


def captured_run() -> message_pb2.Run:
    """A diamond with a post step, captured while b ran: a succeeded, c failed (continue),
    d skipped, notify (post) pending."""
    return json_format.Parse(CAPTURED_RUN.read_text(), message_pb2.Run())


def test_captured_run_converts_with_its_steps_in_spec_order() -> None:
    run = Run._from_proto(captured_run())
    assert (run.run_id, run.name, run.status) == ("run-995f57d4", "mixed", RunStatus.RUNNING)
    assert [(s.name, s.status) for s in run.steps] == [
        ("a", StepStatus.SUCCEEDED),
        ("b", StepStatus.RUNNING),
        ("c", StepStatus.FAILED),
        ("d", StepStatus.SKIPPED),
        ("notify", StepStatus.PENDING),
    ]
    assert run.step("d").deps == ("b", "c")
    assert run.step("notify").post
    assert run.failure_strategy is FailureStrategy.CONTINUE
    assert not run.is_finished


def test_step_fields_and_times() -> None:
    run = Run._from_proto(captured_run())
    c = run.step("c")
    assert (c.command, c.job_id, c.attempt) == ("echo c; exit 3", "run-995f57d4-c", 1)
    assert c.message == "party local failed: exit code 3"
    assert c.start_time == datetime(2026, 11, 23, 15, 4, 36, 3428, tzinfo=UTC)
    assert run.step("b").end_time is None
    assert run.end_time is None and run.create_time is not None
    assert not c.cached


def test_unknown_step_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        Run._from_proto(captured_run()).step("zz")


def test_results_are_frozen_and_keep_the_proto_out_of_equality() -> None:
    msg = captured_run()
    run = Run._from_proto(msg)
    assert run.raw is msg
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.status = RunStatus.FAILED  # type: ignore[misc]
    assert run == Run._from_proto(message_pb2.Run.FromString(msg.SerializeToString()))
    assert "raw" not in repr(run)


@pytest.mark.parametrize(
    ("status", "finished"),
    [
        pytest.param(RunStatus.INITIATING, False, id="initiating"),
        pytest.param(RunStatus.PENDING, False, id="pending"),
        pytest.param(RunStatus.RUNNING, False, id="running"),
        pytest.param(RunStatus.TERMINATING, False, id="terminating"),
        pytest.param(RunStatus.SUCCEEDED, True, id="succeeded"),
        pytest.param(RunStatus.FAILED, True, id="failed"),
        pytest.param(RunStatus.TERMINATED, True, id="terminated"),
    ],
)
def test_a_run_is_finished_once_succeeded_failed_or_terminated(
    status: RunStatus, finished: bool
) -> None:
    assert status.is_finished is finished


def test_every_proto_run_status_has_a_member() -> None:
    for number in enums_pb2.RunStatus.values():
        assert ModelRunStatus._from_proto(number)._to_proto() == number


def test_a_status_newer_than_the_sdk_reads_as_unspecified() -> None:
    run = Run._from_proto(message_pb2.Run(run_id="r", status=99))  # type: ignore[arg-type]
    assert run.status is RunStatus.UNSPECIFIED


def test_pipeline_with_versions() -> None:
    response = wf.GetPipelineResponse(
        pipeline=message_pb2.Pipeline(
            pipeline_id="ppl-1", name="diamond", latest_version_id="2", username="alice"
        ),
        pipeline_versions=[
            message_pb2.PipelineVersion(pipeline_version_id="2", pipeline_id="ppl-1"),
            message_pb2.PipelineVersion(pipeline_version_id="1", pipeline_id="ppl-1"),
        ],
    )
    pipeline = Pipeline._from_proto(response.pipeline, response.pipeline_versions)
    assert [v.pipeline_version_id for v in pipeline.versions] == ["2", "1"]
    assert pipeline.version is not None and pipeline.version.pipeline_version_id == "2"
    assert pipeline.get_version("1").pipeline_id == "ppl-1"
    assert pipeline.create_time is None
    with pytest.raises(KeyError):
        pipeline.get_version("3")


def test_cache_entry_artifact_schedule_and_log_page() -> None:
    entry = CacheEntry._from_proto(
        message_pb2.CacheEntry(cache_id="cch-1", run_id="run-1", step_name="a", expired_time=-1)
    )
    assert (entry.cache_id, entry.expired_time, entry.expire_time) == ("cch-1", -1, None)
    artifact = Artifact._from_proto(
        message_pb2.Artifact(run_id="run-1", name="model", type=enums_pb2.ARTIFACT_TYPE_OUTPUT)
    )
    assert artifact.type is ArtifactType.OUTPUT
    schedule = Schedule._from_proto(
        message_pb2.Schedule(
            schedule_id="sch-1",
            status=enums_pb2.SCHEDULE_STATUS_ACTIVE,
            concurrency_policy=enums_pb2.CONCURRENCY_POLICY_SKIP,
            parameters={"epochs": "2"},
        ),
        [message_pb2.Run(run_id="run-2", status=enums_pb2.RUN_STATUS_SUCCEEDED)],
    )
    assert schedule.status is ScheduleStatus.ACTIVE
    assert schedule.concurrency_policy is ConcurrencyPolicy.SKIP
    assert schedule.parameters == {"epochs": "2"}
    assert [r.run_id for r in schedule.runs] == ["run-2"]
    log = StepLog._from_proto(
        message_pb2.StepLog(step_name="a", log_content="a\n", page_no=1, has_next_page=True)
    )
    assert (log.log_content, log.has_next_page, log.truncated) == ("a\n", True, False)


def test_watch_events() -> None:
    modified = RunEvent._from_proto(
        wf.WatchRunsResponse(
            type=enums_pb2.EVENT_TYPE_MODIFIED, run=captured_run(), resource_version=42
        )
    )
    assert (modified.type, modified.run_id, modified.resource_version) == (
        EventType.MODIFIED,
        "run-995f57d4",
        42,
    )
    beat = RunEvent._from_proto(
        wf.WatchRunsResponse(type=enums_pb2.EVENT_TYPE_HEARTBEAT, resource_version=43)
    )
    assert (beat.type, beat.run, beat.run_id) == (EventType.HEARTBEAT, None, "")


def test_enum_values_are_the_names_list_filters_use() -> None:
    assert RunStatus.SUCCEEDED == "succeeded"
    assert json.dumps({"status": RunStatus.FAILED}) == '{"status": "failed"}'


def test_a_page_iterates_its_items_and_knows_when_it_is_the_last() -> None:
    page: Page[int] = Page((1, 2), "next")
    assert list(page) == [1, 2] and len(page) == 2 and not page.is_last
    assert Page((), "").is_last


def test_a_page_token_handed_out_twice_stops_the_iteration() -> None:
    seen: set[str] = set()
    assert _next_token(Page((1,), "t1"), seen) == "t1"
    assert _next_token(Page((2,), ""), seen) is None
    with pytest.raises(Exception, match="twice"):
        _next_token(Page((3,), "t1"), seen)
