"""WorkflowService requests are built from plain Python arguments, without a server: specs
from text or files, exactly one run source, parameters, enums by name, list filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from dagwire.client import (
    ArtifactType,
    BaseDagwireClient,
    ConcurrencyPolicy,
    FailureStrategy,
    LogPosition,
    RunStatus,
    ScheduleStatus,
)
from dagwire.client._workflow_calls import filter_expression, read_spec
from dagwire.v1 import enums_pb2

DIAMOND = """\
name: diamond
entry_points:
  a: {command: "echo a"}
  b: {command: "echo b", deps: a}
  c: {command: "echo c", deps: a}
  d: {command: "echo d", deps: "b,c"}
"""

calls = BaseDagwireClient


def test_a_string_spec_is_the_yaml_text_itself() -> None:
    call = calls._create_pipeline_call(DIAMOND, "first", "alice", "req-1")
    assert call.method == "CreatePipeline" and call.service == "workflow"
    assert call.request.pipeline_yaml == DIAMOND
    assert (call.request.description, call.request.username, call.request.request_id) == (
        "first",
        "alice",
        "req-1",
    )


def test_a_path_spec_is_read_from_the_file(tmp_path: Path) -> None:
    spec = tmp_path / "diamond.yaml"
    spec.write_text(DIAMOND)
    assert calls._create_pipeline_call(spec, "", "", "").request.pipeline_yaml == DIAMOND


def test_a_string_that_names_a_file_is_still_taken_as_text(tmp_path: Path) -> None:
    spec = tmp_path / "diamond.yaml"
    spec.write_text(DIAMOND)
    assert read_spec(str(spec)) == str(spec)


def test_a_spec_of_another_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        read_spec(b"name: x")  # type: ignore[arg-type]


def test_update_pipeline_sends_the_new_spec_for_the_pipeline() -> None:
    request = calls._update_pipeline_call("ppl-1", DIAMOND, "v2", "bob").request
    assert (request.pipeline_id, request.pipeline_yaml, request.description) == (
        "ppl-1",
        DIAMOND,
        "v2",
    )


def test_version_calls_name_the_pipeline_and_the_version() -> None:
    get = calls._get_pipeline_version_call("ppl-1", "2")
    delete = calls._delete_pipeline_version_call("ppl-1", "2")
    assert (get.method, delete.method) == ("GetPipelineVersion", "DeletePipelineVersion")
    for call in (get, delete):
        assert (call.request.pipeline_id, call.request.pipeline_version_id) == ("ppl-1", "2")


def test_run_from_raw_yaml_carries_parameters_disabled_steps_and_strategy() -> None:
    request = calls._create_run_call(
        DIAMOND,
        name="nightly",
        parameters={"epochs": 3, "train.lr": 0.1},
        disabled=["d"],
        failure_strategy="continue",
        request_id="req-7",
    ).request
    assert request.run_yaml == DIAMOND
    assert dict(request.parameters) == {"epochs": "3", "train.lr": "0.1"}
    assert list(request.disabled) == ["d"]
    assert request.failure_strategy == enums_pb2.FAILURE_STRATEGY_CONTINUE
    assert (request.name, request.request_id) == ("nightly", "req-7")


def test_run_from_a_pipeline_version_sends_no_yaml() -> None:
    request = calls._create_run_call(None, pipeline_id="ppl-1", pipeline_version_id="2").request
    assert (request.run_yaml, request.pipeline_id, request.pipeline_version_id) == (
        "",
        "ppl-1",
        "2",
    )


def test_run_from_a_source_run() -> None:
    request = calls._create_run_call(None, source_run_id="run-1").request
    assert request.source_run_id == "run-1"


def test_a_lone_disabled_step_name_is_not_split_into_characters() -> None:
    assert list(calls._create_run_call(DIAMOND, disabled="d").request.disabled) == ["d"]


def test_failure_strategy_accepts_the_enum_and_leaves_the_default_unset() -> None:
    given = calls._create_run_call(DIAMOND, failure_strategy=FailureStrategy.FAIL_FAST).request
    default = calls._create_run_call(DIAMOND).request
    assert given.failure_strategy == enums_pb2.FAILURE_STRATEGY_FAIL_FAST
    assert default.failure_strategy == enums_pb2.FAILURE_STRATEGY_UNSPECIFIED


@pytest.mark.parametrize(
    "sources",
    [
        pytest.param({}, id="none"),
        pytest.param({"run_yaml": DIAMOND, "pipeline_id": "ppl-1"}, id="yaml-and-pipeline"),
        pytest.param({"pipeline_id": "ppl-1", "source_run_id": "run-1"}, id="pipeline-and-run"),
    ],
)
def test_a_run_needs_exactly_one_source(sources: dict[str, str]) -> None:
    run_yaml = sources.pop("run_yaml", None)
    with pytest.raises(ValueError, match="exactly one"):
        calls._create_run_call(run_yaml, **sources)


def test_a_version_without_its_pipeline_is_rejected() -> None:
    with pytest.raises(ValueError, match="pipeline_id"):
        calls._create_run_call(None, source_run_id="run-1", pipeline_version_id="2")


def test_an_unknown_failure_strategy_names_the_choices() -> None:
    with pytest.raises(ValueError, match="fail_fast, continue"):
        calls._create_run_call(DIAMOND, failure_strategy="retry")


def test_stop_retry_and_delete_name_the_run() -> None:
    stop = calls._stop_run_call("run-1", True)
    assert (stop.method, stop.request.run_id, stop.request.force) == ("StopRun", "run-1", True)
    assert calls._retry_run_call("run-1").request.run_id == "run-1"
    delete = calls._delete_run_call("run-1", True)
    assert (delete.request.run_id, delete.request.check_cache) == ("run-1", True)


def test_list_runs_joins_the_given_filters_with_and() -> None:
    request = calls._list_runs_call(
        username="alice",
        status=RunStatus.FAILED,
        pipeline_id="ppl-1",
        name=None,
        schedule_id="",
        filter="",
        page_size=10,
        page_token="tok",
    ).request
    assert request.filter == "username=alice AND status=failed AND pipeline_id=ppl-1"
    assert (request.page_size, request.page_token) == (10, "tok")


def test_list_runs_takes_a_status_by_name_in_any_case() -> None:
    request = calls._list_runs_call(
        username=None,
        status="Succeeded",
        pipeline_id=None,
        name=None,
        schedule_id=None,
        filter="",
        page_size=0,
        page_token="",
    ).request
    assert request.filter == "status=succeeded"


def test_an_unknown_run_status_is_rejected_before_any_call() -> None:
    with pytest.raises(ValueError, match="succeeded"):
        calls._list_runs_call(
            username=None,
            status="done",
            pipeline_id=None,
            name=None,
            schedule_id=None,
            filter="",
            page_size=0,
            page_token="",
        )


def test_a_raw_filter_comes_first_and_is_kept() -> None:
    assert filter_expression("name=x", username="bob") == "name=x AND username=bob"
    assert filter_expression("  ", username=None) == ""


def test_a_value_with_spaces_or_quotes_is_quoted_as_the_grammar_reads_it() -> None:
    assert filter_expression(name='night "v2" run') == r'name="night \"v2\" run"'


def test_artifact_filters_include_type_and_path_prefix() -> None:
    request = calls._list_artifacts_call(
        run_id="run-1",
        step_name="train",
        type="OUTPUT",
        path="/data/",
        username=None,
        name=None,
        filter="",
        page_size=0,
        page_token="",
    ).request
    assert request.filter == "run_id=run-1 AND step_name=train AND type=output AND path=/data/"


def test_cache_and_schedule_filters() -> None:
    cache = calls._list_cache_entries_call(
        username=None,
        run_id="run-1",
        step_name="a",
        pipeline_id=None,
        filter="",
        page_size=5,
        page_token="",
    ).request
    assert (cache.filter, cache.page_size) == ("run_id=run-1 AND step_name=a", 5)
    schedules = calls._list_schedules_call(
        username=None,
        pipeline_id="ppl-1",
        pipeline_version_id=None,
        name=None,
        status=ScheduleStatus.ACTIVE,
        filter="",
        page_size=0,
        page_token="",
    ).request
    assert schedules.filter == "pipeline_id=ppl-1 AND status=active"


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        pytest.param(None, enums_pb2.LOG_POSITION_UNSPECIFIED, id="default"),
        pytest.param("begin", enums_pb2.LOG_POSITION_BEGIN, id="begin"),
        pytest.param(LogPosition.END, enums_pb2.LOG_POSITION_END, id="end-enum"),
        pytest.param("LOG_POSITION_BEGIN", enums_pb2.LOG_POSITION_BEGIN, id="proto-name"),
    ],
)
def test_log_position(position: LogPosition | str | None, expected: int) -> None:
    request = calls._get_run_log_call("run-1", "b", 50, 2, position).request
    assert (request.run_id, request.step_name, request.page_size, request.page_no) == (
        "run-1",
        "b",
        50,
        2,
    )
    assert request.position == expected


def test_schedule_request_carries_times_limits_and_policy() -> None:
    start = datetime(2030, 1, 1, 2, 0, tzinfo=UTC)
    end = datetime(2030, 1, 2, 4, 0, tzinfo=timezone(timedelta(hours=2)))
    request = calls._create_schedule_call(
        "nightly",
        "ppl-1",
        "0 2 * * *",
        pipeline_version_id="3",
        start_time=start,
        end_time=end,
        concurrency=2,
        concurrency_policy=ConcurrencyPolicy.REPLACE,
        expire_interval=3600,
        catchup=True,
        parameters={"epochs": 1},
    ).request
    assert (request.name, request.pipeline_id, request.crontab) == ("nightly", "ppl-1", "0 2 * * *")
    assert request.start_time.ToDatetime(tzinfo=UTC) == start
    assert request.end_time.ToDatetime(tzinfo=UTC) == datetime(2030, 1, 2, 2, 0, tzinfo=UTC)
    assert (request.concurrency, request.expire_interval, request.catchup) == (2, 3600, True)
    assert request.concurrency_policy == enums_pb2.CONCURRENCY_POLICY_REPLACE
    assert dict(request.parameters) == {"epochs": "1"}


def test_schedule_times_left_out_stay_unset_and_naive_times_are_utc() -> None:
    unset = calls._create_schedule_call("s", "ppl-1", "* * * * *").request
    assert not unset.HasField("start_time") and not unset.HasField("end_time")
    naive = calls._create_schedule_call(
        "s", "ppl-1", "* * * * *", start_time=datetime(2030, 1, 1, 2, 0)
    ).request
    assert naive.start_time.ToDatetime(tzinfo=UTC) == datetime(2030, 1, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("enum", "text", "member"),
    [
        pytest.param(RunStatus, "RUN_STATUS_TERMINATED", RunStatus.TERMINATED, id="run-proto"),
        pytest.param(FailureStrategy, "fail-fast", FailureStrategy.FAIL_FAST, id="dash"),
        pytest.param(ArtifactType, " Input ", ArtifactType.INPUT, id="spaces-case"),
        pytest.param(ConcurrencyPolicy, "skip", ConcurrencyPolicy.SKIP, id="policy"),
    ],
)
def test_enum_names_parse_leniently(enum: type, text: str, member: object) -> None:
    assert enum.parse(text) is member  # type: ignore[attr-defined]
