"""How `run get` and `run watch` draw a run's DAG: steps by level with their status, from a
real Run captured mid-flight (a succeeded, b running, c failed, d skipped, notify the post
step pending). No server needed."""

from __future__ import annotations

import io
from pathlib import Path

from google.protobuf import json_format
from rich.console import Console

from dagwire.client import EventType, Run, RunEvent, RunStatus, Step, StepStatus
from dagwire.client._workflow_models import StepLog
from dagwire.client._workflow_render import (
    RunWatchView,
    dag_levels,
    dag_order,
    log_text,
    run_line,
    run_view,
)
from dagwire.v1 import enums_pb2, message_pb2
from dagwire.v1 import workflow_request_response_pb2 as wf

CAPTURED_RUN = Path(__file__).parents[1] / "client" / "data" / "run_mixed_running.json"


def captured() -> message_pb2.Run:
    return json_format.Parse(CAPTURED_RUN.read_text(), message_pb2.Run())


def render(renderable: object, width: int = 120) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def finished(msg: message_pb2.Run) -> message_pb2.Run:
    done = message_pb2.Run()
    done.CopyFrom(msg)
    done.status = enums_pb2.RUN_STATUS_FAILED
    for step in done.steps:
        if step.status in (enums_pb2.STEP_STATUS_RUNNING, enums_pb2.STEP_STATUS_PENDING):
            step.status = enums_pb2.STEP_STATUS_SUCCEEDED
    return done


def test_levels_follow_the_deepest_dependency() -> None:
    run = Run._from_proto(captured())
    assert dag_levels(run.steps) == {"a": 1, "b": 2, "c": 2, "d": 3}


def test_the_post_step_is_drawn_last_on_a_level_of_its_own() -> None:
    order = [(label, step.name) for label, step in dag_order(Run._from_proto(captured()))]
    assert order == [("1", "a"), ("2", "b"), ("2", "c"), ("3", "d"), ("post", "notify")]


def test_levels_ignore_unknown_dependencies_and_cut_cycles() -> None:
    steps = [
        Step(name="x", status=StepStatus.PENDING, deps=("ghost",)),
        Step(name="y", status=StepStatus.PENDING, deps=("z",)),
        Step(name="z", status=StepStatus.PENDING, deps=("y",)),
    ]
    levels = dag_levels(steps)
    assert levels["x"] == 1 and set(levels) == {"x", "y", "z"}


def test_a_run_line_lists_every_step_with_its_status_in_dag_order() -> None:
    assert run_line(Run._from_proto(captured())) == (
        "run-995f57d4 running  a succeeded  b running  c failed  d skipped  notify pending"
    )


def test_a_step_served_from_cache_says_so() -> None:
    msg = captured()
    msg.steps[0].cache_run_id = "run-00000001"
    assert run_line(Run._from_proto(msg)).startswith("run-995f57d4 running  a succeeded cached  b")


def test_the_dag_table_draws_each_level_once_with_glyphs_and_dependencies() -> None:
    text = render(run_view(Run._from_proto(captured())))
    lines = text.splitlines()
    assert lines[0].split() == ["run-995f57d4", "mixed", "running", "3/5", "steps", "done"]
    rows = [line for line in lines if line.startswith("│")]
    cells = [[c.strip() for c in row.strip("│").split("│")] for row in rows]
    assert [(c[0], c[1], c[2], c[3]) for c in cells] == [
        ("1", "✔ a", "succeeded", ""),
        ("2", "● b", "running", "a"),
        ("", "✖ c", "failed", "a"),
        ("3", "⊘ d", "skipped", "b, c"),
        ("post", "○ notify", "pending", ""),
    ]
    assert "party local failed: exit code 3" in text
    assert "upstream task c failed" in text


def test_the_header_names_where_the_run_came_from_and_why_it_failed() -> None:
    msg = finished(captured())
    msg.run_msg = "step c failed"
    msg.retried_from = "run-00000001"
    text = render(run_view(Run._from_proto(msg)))
    assert "failed" in text.splitlines()[0]
    assert "retried from run-00000001" in text
    assert "step c failed" in text


def test_watch_view_yields_a_line_per_change_until_the_run_finishes() -> None:
    view = RunWatchView("run-995f57d4")
    running = captured()
    done = finished(running)
    events = [
        RunEvent._from_proto(
            wf.WatchRunsResponse(
                type=enums_pb2.EVENT_TYPE_MODIFIED, run=running, resource_version=7
            )
        ),
        RunEvent._from_proto(
            wf.WatchRunsResponse(type=enums_pb2.EVENT_TYPE_MODIFIED, run=done, resource_version=8)
        ),
    ]

    def feed() -> object:
        yield from events
        raise AssertionError("read past the final event")

    changes = list(view.changes(Run._from_proto(running), feed()))  # type: ignore[arg-type]
    assert [line.split("  ")[0] for line, _ in changes] == [
        "run-995f57d4 running",
        "run-995f57d4 failed",
    ]
    assert changes[0][1]["type"] == "EVENT_TYPE_ADDED"
    assert (changes[1][1]["type"], changes[1][1]["resource_version"]) == ("EVENT_TYPE_MODIFIED", 8)
    assert changes[1][1]["run"]["status"] == "RUN_STATUS_FAILED"
    assert view.done and not view.succeeded


def test_watch_view_rereads_a_run_an_event_carries_without_steps() -> None:
    full = captured()
    fetched: list[str] = []

    def fetch(run_id: str) -> Run:
        fetched.append(run_id)
        return Run._from_proto(finished(full))

    view = RunWatchView("run-995f57d4", fetch=fetch)
    view.update(Run._from_proto(full))
    bare = message_pb2.Run(run_id="run-995f57d4", status=enums_pb2.RUN_STATUS_FAILED)
    line = view.update(Run._from_proto(bare))
    assert fetched == ["run-995f57d4"]
    assert line is not None and "c failed  d skipped  notify succeeded" in line


def test_a_deleted_run_ends_the_watch_as_not_succeeded() -> None:
    view = RunWatchView("run-995f57d4")
    event = RunEvent._from_proto(
        wf.WatchRunsResponse(type=enums_pb2.EVENT_TYPE_DELETED, run=captured(), resource_version=9)
    )
    lines = [line for line, _ in view.changes(Run._from_proto(captured()), [event])]
    assert lines[-1].startswith("run-995f57d4 deleted")
    assert view.done and not view.succeeded and view.status == "deleted"
    assert event.type is EventType.DELETED


def test_a_succeeded_run_is_done_and_succeeded() -> None:
    msg = finished(captured())
    msg.status = enums_pb2.RUN_STATUS_SUCCEEDED
    view = RunWatchView("run-995f57d4")
    assert len(list(view.changes(Run._from_proto(msg), []))) == 1
    assert view.done and view.succeeded and view.run is not None
    assert view.run.status is RunStatus.SUCCEEDED


def test_log_text_puts_a_header_before_each_step_and_hints_at_more() -> None:
    logs = [
        StepLog(run_id="r", step_name="a", log_content="a\n", attempt=1, page_no=1),
        StepLog(
            run_id="r",
            step_name="b",
            log_content="b1",
            attempt=2,
            page_no=1,
            has_next_page=True,
            truncated=True,
        ),
    ]
    assert log_text(logs).splitlines() == [
        "==> a (attempt 1, page 1) <==",
        "a",
        "==> b (attempt 2, page 1) <==",
        "b1",
        "... more: --page 2",
        "... the log is longer than the server reads; older lines are left out",
    ]
    assert log_text(logs[:1], headers=False) == "a\n"
