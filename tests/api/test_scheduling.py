"""Scheduling seen from outside: max_parallelism, priority, timeouts, tolerable tasks.

The `record` image appends "start|end <task> <ns>" lines to a shared file, so the
tests read what really ran when, not what the server says about it."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.api.conftest import create_ok, job_request, query, sleeping, task, wait_for_state

Stub = job_pb2_grpc.JobServiceStub


@pytest.fixture
def record_file(tmp_path: Path) -> Path:
    return tmp_path / "record.log"


@pytest.fixture
def app_images_file(tmp_path: Path, record_file: Path) -> Path:
    script = (
        'echo "start $TASK_ID $(date +%s%N)" >> "$RECORD"; sleep 0.3; '
        'echo "end $TASK_ID $(date +%s%N)" >> "$RECORD"'
    )
    path = tmp_path / "images.yaml"
    path.write_text(
        "images:\n"
        "  record:\n"
        f"    command: [/bin/sh, -c, '{script}']\n"
        f"    env: {{RECORD: '{record_file}'}}\n"
    )
    return path


def intervals(record_file: Path) -> dict[str, tuple[int, int]]:
    spans: dict[str, list[int]] = {}
    for line in record_file.read_text().splitlines():
        _, task_id, ns = line.split()
        spans.setdefault(task_id, []).append(int(ns))
    return {task_id: (times[0], times[1]) for task_id, times in spans.items()}


def recording(alias: str, priority: int = 0) -> object:
    return task(alias, image="record", parties=("alice",), priority=priority, task_id=alias)


async def test_max_parallelism_one_never_runs_two_tasks_at_once(
    stub: Stub, record_file: Path
) -> None:
    request = job_request("serial", *(recording(f"t{i}") for i in range(4)), max_parallelism=1)  # type: ignore[arg-type]
    await create_ok(stub, request)
    await wait_for_state(stub, "serial", "Succeeded")
    spans = sorted(intervals(record_file).values())
    assert len(spans) == 4
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert end <= next_start


async def test_max_parallelism_two_runs_two_at_a_time(stub: Stub, record_file: Path) -> None:
    request = job_request("pairs", *(recording(f"t{i}") for i in range(2)), max_parallelism=2)  # type: ignore[arg-type]
    await create_ok(stub, request)
    await wait_for_state(stub, "pairs", "Succeeded")
    (s0, e0), (s1, e1) = intervals(record_file).values()
    assert s1 < e0 and s0 < e1


async def test_higher_priority_ready_task_runs_first(stub: Stub, record_file: Path) -> None:
    tasks = [recording("low", 1), recording("high", 9), recording("mid", 5)]
    await create_ok(stub, job_request("prio", *tasks, max_parallelism=1))  # type: ignore[arg-type]
    await wait_for_state(stub, "prio", "Succeeded")
    order = sorted(intervals(record_file).items(), key=lambda item: item[1][0])
    assert [task_id for task_id, _ in order] == ["high", "mid", "low"]


async def test_task_timeout_seconds_bounds_scheduling_not_running_time(stub: Stub) -> None:
    # Kuscia: "when the task is not scheduled within it, the task fails" (kusciajob_cn.md
    # ScheduleConfig); it is the KusciaTask's LifecycleSeconds, not a run-time limit.
    slow = sleeping("slow", 2, schedule_config={"task_timeout_seconds": 1})
    await create_ok(stub, job_request("timeout", slow))
    done = await wait_for_state(stub, "timeout", "Succeeded", timeout=15)
    assert done.data.status.tasks[0].state == "Succeeded"


async def test_query_shows_schedule_config_as_set_with_kuscias_defaults(stub: Stub) -> None:
    # job_service.go buildScheduleConfigForKusciaTask: a field <= 0 becomes 300 / 30 / 30.
    given = sleeping("given", 0, schedule_config={"task_timeout_seconds": 60})
    await create_ok(stub, job_request("schedule-shown", given, sleeping("none", 0)))
    first, second = (await query(stub, "schedule-shown")).data.tasks
    shown = first.schedule_config
    assert (
        shown.task_timeout_seconds,
        shown.resource_reserved_seconds,
        shown.resource_reallocation_interval_seconds,
    ) == (60, 30, 30)
    assert not second.HasField("schedule_config")


async def test_a_tolerable_failure_lets_dependents_run_and_the_job_succeed(stub: Stub) -> None:
    flaky = task("flaky", image="dagwire-fail", config={"exit_code": 3}, tolerable=True)
    await create_ok(stub, job_request("tolerant", flaky, sleeping("after", 0, "flaky")))
    done = await wait_for_state(stub, "tolerant", "Succeeded")
    assert [t.state for t in done.data.status.tasks] == ["Failed", "Succeeded"]


async def test_a_failing_task_fails_the_job_and_skips_its_dependents(stub: Stub) -> None:
    broken = task("broken", image="dagwire-fail", config={"exit_code": 4}, task_id="broken")
    await create_ok(stub, job_request("broken-job", broken, sleeping("after", 0, "broken")))
    done = await wait_for_state(stub, "broken-job", "Failed")
    status = done.data.status
    assert "task broken failed" in status.err_msg and "exit code 4" in status.err_msg
    assert [t.state for t in status.tasks] == ["Failed", "Pending"]


async def test_progress_reported_by_the_app_reaches_the_task_status(stub: Stub) -> None:
    steps = task(
        "steps",
        image="dagwire-progress",
        config={"steps": 4, "interval_seconds": 0.3},
        parties=("alice",),
    )
    await create_ok(stub, job_request("progress", steps))
    from tests.api.conftest import query
    from tests.conftest import assert_eventually

    midway = await assert_eventually(
        lambda: query(stub, "progress"),
        lambda r: 0 < r.data.status.tasks[0].progress < 1,
    )
    assert midway.data.status.tasks[0].state == "Running"
    done = await wait_for_state(stub, "progress", "Succeeded")
    assert done.data.status.tasks[0].progress == 1.0
