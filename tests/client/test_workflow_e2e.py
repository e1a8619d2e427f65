"""The sync SDK against a real server (the `dagwire_server` fixture): pipelines with
versions, runs of the diamond, parameters, disabled steps, stop, retry, delete, watch,
logs, cache, artifacts and schedules, and the errors the contract promises."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dagwire.client import (
    AlreadyExistsError,
    ArtifactType,
    DagwireClient,
    EventType,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    Run,
    RunStatus,
    ScheduleStatus,
    StepStatus,
)
from tests.eventually import assert_eventually_sync

DIAMOND = """\
name: diamond
entry_points:
  a: {command: "echo a"}
  b: {command: "echo b", deps: a}
  c: {command: "echo c", deps: a}
  d: {command: "echo d", deps: "b,c"}
"""


def spec(name: str, body: str = DIAMOND) -> str:
    """The diamond (or `body`) under another pipeline name."""
    return body.replace("name: diamond", f"name: {name}", 1)


@pytest.fixture
def client(dagwire_server: Any) -> Iterator[DagwireClient]:
    with DagwireClient(target=dagwire_server.address, timeout=10) as client:
        yield client


def statuses(run: Run) -> dict[str, str]:
    return {step.name: step.status.value for step in run.steps}


# --- pipelines -------------------------------------------------------------------------------


def test_a_4_step_diamond_pipeline_runs_to_success(client: DagwireClient) -> None:
    pipeline = client.create_pipeline(DIAMOND, description="the diamond")
    assert (pipeline.name, pipeline.latest_version_id) == ("diamond", "1")
    assert pipeline.version is not None and pipeline.version.pipeline_yaml == DIAMOND

    handle = client.create_run(pipeline_id=pipeline.pipeline_id)
    assert handle.run is not None and handle.run.run_id == handle.run_id
    run = handle.result(timeout=30)

    assert run.status is RunStatus.SUCCEEDED
    assert statuses(run) == dict.fromkeys("abcd", "succeeded")
    assert {s.name: s.deps for s in run.steps} == {
        "a": (),
        "b": ("a",),
        "c": ("a",),
        "d": ("b", "c"),
    }
    assert (run.pipeline_id, run.pipeline_version_id) == (pipeline.pipeline_id, "1")
    assert run.end_time is not None and run.create_time is not None


def test_a_pipeline_is_created_from_a_file_path(client: DagwireClient, tmp_path: Path) -> None:
    path = tmp_path / "diamond.yaml"
    path.write_text(DIAMOND)
    created = client.create_pipeline(path)
    fetched = client.get_pipeline(created.pipeline_id)
    assert [v.pipeline_yaml for v in fetched.versions] == [DIAMOND]


def test_update_adds_versions_listed_newest_first(client: DagwireClient) -> None:
    created = client.create_pipeline(DIAMOND)
    v2 = spec("diamond", DIAMOND.replace("echo d", "echo d2"))
    updated = client.update_pipeline(created.pipeline_id, v2, description="second")
    assert updated.latest_version_id == "2"
    assert updated.version is not None and updated.version.pipeline_version_id == "2"

    fetched = client.get_pipeline(created.pipeline_id)
    assert [v.pipeline_version_id for v in fetched.versions] == ["2", "1"]
    assert fetched.description == "second"
    assert client.get_pipeline_version(created.pipeline_id, "1").pipeline_yaml == DIAMOND
    assert client.get_pipeline_version(created.pipeline_id, "2").pipeline_yaml == v2


def test_a_run_of_a_pipeline_uses_the_version_asked_for(client: DagwireClient) -> None:
    created = client.create_pipeline(DIAMOND)
    client.update_pipeline(created.pipeline_id, DIAMOND.replace("echo d", "echo d2"))
    latest = client.create_run(pipeline_id=created.pipeline_id).result(timeout=30)
    first = client.create_run(pipeline_id=created.pipeline_id, pipeline_version_id="1").result(
        timeout=30
    )
    assert (latest.pipeline_version_id, latest.step("d").command) == ("2", "echo d2")
    assert (first.pipeline_version_id, first.step("d").command) == ("1", "echo d")


def test_versions_are_deleted_but_never_the_last(client: DagwireClient) -> None:
    created = client.create_pipeline(DIAMOND)
    client.update_pipeline(created.pipeline_id, DIAMOND)
    client.delete_pipeline_version(created.pipeline_id, "1")
    assert [v.pipeline_version_id for v in client.get_pipeline(created.pipeline_id).versions] == [
        "2"
    ]
    with pytest.raises(NotFoundError):
        client.get_pipeline_version(created.pipeline_id, "1")
    with pytest.raises(FailedPreconditionError):
        client.delete_pipeline_version(created.pipeline_id, "2")


def test_a_deleted_pipeline_is_gone(client: DagwireClient) -> None:
    created = client.create_pipeline(DIAMOND)
    client.delete_pipeline(created.pipeline_id)
    with pytest.raises(NotFoundError) as caught:
        client.get_pipeline(created.pipeline_id)
    assert caught.value.resource_name == created.pipeline_id


def test_a_second_pipeline_with_the_same_name_already_exists(client: DagwireClient) -> None:
    client.create_pipeline(DIAMOND)
    with pytest.raises(AlreadyExistsError):
        client.create_pipeline(DIAMOND)


def test_a_retried_create_with_the_same_request_id_returns_the_first_pipeline(
    client: DagwireClient,
) -> None:
    first = client.create_pipeline(DIAMOND, request_id="create-diamond-1")
    again = client.create_pipeline(DIAMOND, request_id="create-diamond-1")
    assert again.pipeline_id == first.pipeline_id


def test_pipelines_are_listed_by_page_and_filtered_by_name(client: DagwireClient) -> None:
    names = ["p-one", "p-two", "p-three"]
    for name in names:
        client.create_pipeline(spec(name))
    first = client.list_pipelines(page_size=2)
    assert len(first) == 2 and first.next_page_token
    rest = client.list_pipelines(page_size=2, page_token=first.next_page_token)
    assert [p.name for p in [*first, *rest]] == names  # oldest first
    assert rest.is_last
    assert [p.name for p in client.iter_pipelines(page_size=1)] == names
    assert [p.name for p in client.list_pipelines(name="p-two")] == ["p-two"]


def test_a_bad_spec_is_rejected_with_the_exact_paths_and_nothing_is_stored(
    client: DagwireClient,
) -> None:
    bad = spec("bad", DIAMOND.replace('deps: "b,c"', 'deps: "b,x"'))
    with pytest.raises(InvalidArgumentError) as caught:
        client.create_pipeline(bad)
    assert [v.field for v in caught.value.field_violations] == ["entry_points.d.deps"]
    assert list(client.iter_pipelines()) == []


def test_yaml_that_does_not_parse_names_the_field(client: DagwireClient) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        client.create_pipeline("name: [unclosed")
    assert [v.field for v in caught.value.field_violations] == ["pipeline_yaml"]


def test_unknown_pipeline_run_and_version_are_not_found(client: DagwireClient) -> None:
    with pytest.raises(NotFoundError):
        client.get_pipeline("ppl-00000000")
    with pytest.raises(NotFoundError):
        client.get_run("run-00000000")
    with pytest.raises(NotFoundError):
        client.create_run(pipeline_id="ppl-00000000")


# --- runs ------------------------------------------------------------------------------------


GREET = """\
name: greet
entry_points:
  hello:
    command: "echo hello {{who}}"
    parameters: {who: world}
"""


def test_parameters_override_the_spec_defaults(client: DagwireClient) -> None:
    run = client.create_run(GREET, parameters={"who": "dagwire"}).result(timeout=30)
    assert run.status is RunStatus.SUCCEEDED
    assert run.step("hello").parameters["who"] == "dagwire"
    assert run.parameters == {"who": "dagwire"}
    assert client.get_run_log(run.run_id, "hello")[0].log_content == "hello dagwire\n"


def test_an_unknown_parameter_is_invalid(client: DagwireClient) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        client.create_run(GREET, parameters={"nobody": "x"})
    assert caught.value.field_violations


def test_disabled_steps_are_skipped_and_reported_as_such(client: DagwireClient) -> None:
    run = client.create_run(DIAMOND, disabled=["d"]).result(timeout=30)
    assert run.status is RunStatus.SUCCEEDED
    assert run.step("d").status is StepStatus.SKIPPED
    assert run.disabled == ("d",)


def test_a_run_is_created_again_from_a_source_run(client: DagwireClient) -> None:
    source = client.create_run(GREET, parameters={"who": "again"}).result(timeout=30)
    rerun = client.create_run(source_run_id=source.run_id).result(timeout=30)
    assert rerun.run_id != source.run_id
    assert rerun.step("hello").parameters["who"] == "again"


FAILING = """\
name: failing
entry_points:
  a: {command: "echo a"}
  slow: {command: "sleep 1; echo slow", deps: a}
  bad: {command: "echo bad; exit 3", deps: a}
  after: {command: "echo after", deps: bad}
"""


def test_continue_lets_independent_branches_finish(client: DagwireClient) -> None:
    run = client.create_run(FAILING, failure_strategy="continue").result(timeout=30)
    assert run.status is RunStatus.FAILED
    assert statuses(run) == {
        "a": "succeeded",
        "slow": "succeeded",
        "bad": "failed",
        "after": "skipped",
    }
    assert run.run_msg


def test_fail_fast_stops_the_siblings(client: DagwireClient) -> None:
    run = client.create_run(FAILING, failure_strategy="fail_fast").result(timeout=30)
    assert run.status is RunStatus.FAILED
    assert run.step("slow").status in (StepStatus.TERMINATED, StepStatus.SKIPPED)


def test_retry_makes_a_new_run_that_reuses_succeeded_steps(
    client: DagwireClient, tmp_path: Path
) -> None:
    marker = tmp_path / "second-time"
    flaky = f"""\
name: flaky
entry_points:
  a: {{command: "echo a"}}
  b: {{command: "test -f {marker} || (touch {marker}; exit 3)", deps: a}}
"""
    failed = client.create_run(flaky).result(timeout=30)
    assert failed.status is RunStatus.FAILED

    retry = client.retry_run(failed.run_id)
    assert retry.run_id != failed.run_id
    assert retry.run is not None and retry.run.retried_from == failed.run_id
    run = retry.result(timeout=30)
    assert run.status is RunStatus.SUCCEEDED
    assert run.step("a").cache_run_id == failed.run_id  # reused, not run again
    assert run.step("b").cache_run_id == ""


def test_a_succeeded_run_cannot_be_retried(client: DagwireClient) -> None:
    run = client.create_run(DIAMOND).result(timeout=30)
    with pytest.raises(FailedPreconditionError):
        client.retry_run(run.run_id)


SLOW = """\
name: slow
entry_points:
  a: {command: "sleep 30"}
"""


def test_stop_terminates_a_running_run_and_a_second_stop_is_refused(
    client: DagwireClient,
) -> None:
    handle = client.create_run(SLOW)
    assert_eventually_sync(
        handle.describe, lambda r: r.steps[0].status is StepStatus.RUNNING, timeout=20
    )
    handle.stop(force=True)
    run = handle.result(timeout=20)
    assert run.status is RunStatus.TERMINATED
    assert run.step("a").status is StepStatus.TERMINATED
    with pytest.raises(FailedPreconditionError):
        handle.stop()


def test_a_running_run_cannot_be_deleted_a_finished_one_can(client: DagwireClient) -> None:
    handle = client.create_run(SLOW)
    with pytest.raises(FailedPreconditionError):
        handle.delete()
    handle.stop(force=True)
    handle.result(timeout=20)
    handle.delete()
    with pytest.raises(NotFoundError):
        handle.describe()


def test_runs_are_listed_newest_first_with_filters_and_pages(client: DagwireClient) -> None:
    ok = client.create_run(DIAMOND).result(timeout=30)
    bad = client.create_run(FAILING).result(timeout=30)
    greet = client.create_run(GREET).result(timeout=30)
    assert [r.run_id for r in client.iter_runs(page_size=1)] == [
        greet.run_id,
        bad.run_id,
        ok.run_id,
    ]
    assert [r.run_id for r in client.list_runs(status="failed")] == [bad.run_id]
    assert [r.run_id for r in client.list_runs(name="greet")] == [greet.run_id]
    assert [r.run_id for r in client.list_runs(status=RunStatus.SUCCEEDED, name="diamond")] == [
        ok.run_id
    ]
    assert all(not r.steps for r in client.list_runs())  # lists leave the steps out


def test_runs_of_a_pipeline_are_found_by_pipeline_id(client: DagwireClient) -> None:
    pipeline = client.create_pipeline(DIAMOND)
    mine = client.create_run(pipeline_id=pipeline.pipeline_id).result(timeout=30)
    client.create_run(GREET).result(timeout=30)
    assert [r.run_id for r in client.list_runs(pipeline_id=pipeline.pipeline_id)] == [mine.run_id]


def test_watch_runs_streams_the_run_until_it_succeeds(client: DagwireClient) -> None:
    # Its first step takes a second, so the watch lists the run before it is over.
    handle = client.create_run(spec("watched", DIAMOND.replace('"echo a"', '"sleep 1; echo a"')))
    seen: list[tuple[EventType, RunStatus]] = []
    events = client.watch_runs([handle.run_id], timeout_seconds=30)
    for event in events:
        assert event.run is not None and event.run_id == handle.run_id
        seen.append((event.type, event.run.status))
        if event.run.is_finished:
            break
    events.close()
    assert seen[0][0] is EventType.ADDED
    assert seen[-1] == (EventType.MODIFIED, RunStatus.SUCCEEDED)


def test_watch_events_carry_the_steps_and_end_time(client: DagwireClient) -> None:
    handle = client.create_run(DIAMOND)
    events = client.watch_runs([handle.run_id], timeout_seconds=30)
    last = None
    for event in events:
        last = event.run
        if last is not None and last.is_finished:
            break
    events.close()
    assert last is not None
    assert statuses(last) == dict.fromkeys("abcd", "succeeded")
    assert last.end_time == handle.describe().end_time


def test_a_watch_resumed_from_a_version_gets_only_later_changes(client: DagwireClient) -> None:
    first = client.create_run(DIAMOND).result(timeout=30)
    events = client.watch_runs(include_heartbeats=False, timeout_seconds=5)
    listed = next(events)
    events.close()
    assert (listed.type, listed.run_id) == (EventType.ADDED, first.run_id)
    second = client.create_run(GREET)
    resumed = client.watch_runs(resume_from=listed.resource_version, timeout_seconds=30)
    ids = set()
    for event in resumed:
        ids.add(event.run_id)
        if event.run is not None and event.run_id == second.run_id and event.run.is_finished:
            break
    resumed.close()
    assert second.run_id in ids and first.run_id not in ids


# --- logs, cache, artifacts --------------------------------------------------------------------


LINES = """\
name: lines
entry_points:
  count: {command: "for i in 1 2 3 4 5; do echo line$i; done"}
"""


def test_logs_are_paged_from_either_end(client: DagwireClient) -> None:
    handle = client.create_run(LINES)
    handle.result(timeout=30)
    first = handle.logs("count", page_size=2, page_no=1, position="begin")[0]
    assert (first.log_content, first.has_next_page, first.page_no) == ("line1\nline2\n", True, 1)
    last = handle.logs("count", page_size=2, page_no=1, position="end")[0]
    assert last.log_content == "line4\nline5\n"
    third = handle.logs("count", page_size=2, page_no=3, position="begin")[0]
    assert (third.log_content, third.has_next_page) == ("line5\n", False)


def test_logs_of_every_step_come_in_spec_order(client: DagwireClient) -> None:
    run = client.create_run(DIAMOND).result(timeout=30)
    logs = client.get_run_log(run.run_id)
    assert [(log.step_name, log.log_content) for log in logs] == [
        ("a", "a\n"),
        ("b", "b\n"),
        ("c", "c\n"),
        ("d", "d\n"),
    ]


def test_logs_of_an_unknown_step_are_not_found(client: DagwireClient) -> None:
    run = client.create_run(DIAMOND).result(timeout=30)
    with pytest.raises(NotFoundError):
        client.get_run_log(run.run_id, "zz")


CACHED = """\
name: cached
cache: {enable: true}
entry_points:
  make:
    command: "echo data > {{out}}"
    artifacts: {output: [out]}
  use:
    deps: make
    command: "cat {{data}}"
    artifacts: {input: {data: "{{make.out}}"}}
"""


def test_a_second_run_with_the_same_inputs_hits_the_cache_for_every_step(
    client: DagwireClient,
) -> None:
    first = client.create_run(CACHED).result(timeout=30)
    assert first.status is RunStatus.SUCCEEDED
    second = client.create_run(CACHED).result(timeout=30)
    assert second.status is RunStatus.SUCCEEDED
    assert {s.name: s.cache_run_id for s in second.steps} == {
        "make": first.run_id,
        "use": first.run_id,
    }
    assert first.run_id in second.run_cached_ids


def test_cache_entries_are_listed_fetched_and_dropped(client: DagwireClient) -> None:
    run = client.create_run(CACHED).result(timeout=30)
    entries = list(client.iter_cache_entries(run_id=run.run_id))
    assert sorted(e.step_name for e in entries) == ["make", "use"]
    make = next(e for e in entries if e.step_name == "make")
    assert client.get_cache_entry(make.cache_id) == make
    assert [e.cache_id for e in client.list_cache_entries(step_name="make")] == [make.cache_id]
    client.delete_cache_entry(make.cache_id)
    with pytest.raises(NotFoundError):
        client.get_cache_entry(make.cache_id)
    again = client.create_run(CACHED).result(timeout=30)
    assert again.step("make").cache_run_id == ""  # the entry is gone: make ran again


def test_artifacts_are_listed_by_run_type_and_path(client: DagwireClient) -> None:
    run = client.create_run(CACHED).result(timeout=30)
    everything = list(client.iter_artifacts(run_id=run.run_id))
    assert {(a.step_name, a.name, a.type) for a in everything} == {
        ("make", "out", ArtifactType.OUTPUT),
        ("use", "data", ArtifactType.INPUT),
    }
    outputs = client.list_artifacts(run_id=run.run_id, type="output")
    assert [(a.step_name, a.name) for a in outputs] == [("make", "out")]
    produced = outputs.items[0]
    by_path = client.list_artifacts(path=produced.path)
    assert {a.run_id for a in by_path} == {run.run_id}
    assert client.get_run_log(run.run_id, "use")[0].log_content == "data\n"


# --- schedules ---------------------------------------------------------------------------------


def test_a_schedule_fires_runs_until_it_is_stopped(client: DagwireClient) -> None:
    pipeline = client.create_pipeline(GREET.replace("name: greet", "name: ticks"))
    created = client.create_schedule(
        "every-second",
        pipeline.pipeline_id,
        "* * * * * *",
        concurrency=5,
        concurrency_policy="skip",
        parameters={"who": "cron"},
    )
    assert (created.status, created.crontab) == (ScheduleStatus.ACTIVE, "* * * * * *")
    assert created.pipeline_version_id == "1"

    fired = assert_eventually_sync(
        lambda: client.get_schedule(created.schedule_id),
        lambda s: len(s.runs) >= 2,
        timeout=20,
        what="the schedule to fire twice",
    )
    assert all(r.schedule_id == created.schedule_id for r in fired.runs)
    assert [r.run_id for r in client.list_runs(schedule_id=created.schedule_id)]

    stopped = client.stop_schedule(created.schedule_id)
    assert stopped.status is ScheduleStatus.STOPPED
    with pytest.raises(FailedPreconditionError):
        client.stop_schedule(created.schedule_id)
    count = len(client.get_schedule(created.schedule_id).runs)
    # Kept: nothing happening is the behaviour; 1.5 s spans a tick of the every-second cron.
    time.sleep(1.5)
    assert len(client.get_schedule(created.schedule_id).runs) == count


def test_schedules_are_listed_filtered_and_deleted(client: DagwireClient) -> None:
    pipeline = client.create_pipeline(DIAMOND)
    later = datetime.now(UTC) + timedelta(days=1)
    one = client.create_schedule("one", pipeline.pipeline_id, "0 2 * * *", start_time=later)
    two = client.create_schedule("two", pipeline.pipeline_id, "0 3 * * *", start_time=later)
    assert [s.schedule_id for s in client.iter_schedules(page_size=1)] == [
        one.schedule_id,
        two.schedule_id,
    ]
    assert [s.name for s in client.list_schedules(name="two")] == ["two"]
    assert one.next_run_time is not None and one.next_run_time >= later
    client.stop_schedule(one.schedule_id)
    assert [s.name for s in client.list_schedules(status="active")] == ["two"]
    client.delete_schedule(two.schedule_id)
    with pytest.raises(NotFoundError):
        client.get_schedule(two.schedule_id)


def test_a_bad_crontab_is_invalid(client: DagwireClient) -> None:
    pipeline = client.create_pipeline(DIAMOND)
    with pytest.raises(InvalidArgumentError) as caught:
        client.create_schedule("bad", pipeline.pipeline_id, "every tuesday")
    assert [v.field for v in caught.value.field_violations] == ["crontab"]


def test_an_active_schedule_keeps_its_pipeline(client: DagwireClient) -> None:
    pipeline = client.create_pipeline(DIAMOND)
    later = datetime.now(UTC) + timedelta(days=1)
    client.create_schedule("hold", pipeline.pipeline_id, "0 2 * * *", start_time=later)
    with pytest.raises(FailedPreconditionError):
        client.delete_pipeline(pipeline.pipeline_id)


def test_a_version_an_active_schedule_runs_cannot_be_deleted(client: DagwireClient) -> None:
    pipeline = client.create_pipeline(DIAMOND)
    client.update_pipeline(pipeline.pipeline_id, DIAMOND)
    later = datetime.now(UTC) + timedelta(days=1)
    client.create_schedule(
        "hold", pipeline.pipeline_id, "0 2 * * *", pipeline_version_id="1", start_time=later
    )
    with pytest.raises(FailedPreconditionError):
        client.delete_pipeline_version(pipeline.pipeline_id, "1")


# --- error details -----------------------------------------------------------------------------


def test_not_found_carries_error_info_and_the_resource(client: DagwireClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_run("run-00000000")
    error = caught.value
    assert (error.reason, error.resource_type, error.resource_name) == (
        "NOT_FOUND",
        "run",
        "run-00000000",
    )


def test_failed_precondition_carries_error_info_and_the_resource(client: DagwireClient) -> None:
    run = client.create_run(DIAMOND).result(timeout=30)
    with pytest.raises(FailedPreconditionError) as caught:
        client.stop_run(run.run_id)
    error = caught.value
    assert error.reason
    assert (error.resource_type, error.resource_name) == ("run", run.run_id)
    assert "run" in error.details and "job" not in error.details


def test_delete_run_checks_the_cache_by_default(client: DagwireClient) -> None:
    # As PaddleFlow's SDK: client/paddleflow/run/run_api.py delete_run(checkcache=True).
    first = client.create_run(CACHED)
    first.result(timeout=30)
    client.create_run(CACHED).result(timeout=30)  # reuses first's outputs

    with pytest.raises(FailedPreconditionError, match="runs reused its cached outputs"):
        client.delete_run(first.run_id)
    first.delete(check_cache=False)
    with pytest.raises(NotFoundError):
        first.describe()
