"""How `job watch` renders jobs: one line per job, tasks with state and progress."""

from __future__ import annotations

from dagwire.client import EventType, JobEvent, JobStatus, TaskStatus
from dagwire.client._render import WatchView, proto_dict, status_line
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2


def _status(state: str, *tasks: tuple[str, str, float], job_id: str = "job-x") -> JobStatus:
    return JobStatus(
        job_id=job_id,
        state=state,
        tasks=tuple(TaskStatus(task_id=n, alias=n, state=s, progress=p) for n, s, p in tasks),
    )


def test_status_line_shows_job_state_then_each_task_with_its_progress() -> None:
    status = _status("Running", ("job-psi", "Succeeded", 1.0), ("job-split", "Running", 0.5))
    assert status_line(status) == "job-x Running  job-psi Succeeded 100%  job-split Running 50%"


def test_status_line_leaves_out_progress_a_task_has_not_reported() -> None:
    assert status_line(_status("Pending", ("a", "Pending", 0.0))) == "job-x Pending  a Pending"


def test_status_line_names_a_task_by_id_when_it_has_no_alias() -> None:
    status = JobStatus(job_id="j", state="Running", tasks=(TaskStatus(task_id="t1", state=""),))
    assert status_line(status) == "j Running  t1 Unknown"


def test_status_line_gives_each_failure_its_reason_on_the_same_line() -> None:
    status = JobStatus(
        job_id="j",
        state="Failed",
        err_msg="task a failed",
        tasks=(
            TaskStatus(task_id="a", state="Failed", err_msg="exit code 2:\nboom"),
            TaskStatus(task_id="b", state="Succeeded", progress=1.0),
        ),
    )
    assert (
        status_line(status)
        == "j Failed (task a failed)  a Failed (exit code 2: boom)  b Succeeded 100%"
    )


def test_view_reports_a_line_only_when_it_changed() -> None:
    view = WatchView(["job-x"])
    assert view.update(_status("Running", ("a", "Running", 0.5))) is not None
    assert view.update(_status("Running", ("a", "Running", 0.5))) is None
    assert view.update(_status("Running", ("a", "Running", 0.75))) is not None


def test_view_is_done_once_every_named_job_is_terminal() -> None:
    view = WatchView(["job-x", "job-y"])
    view.update(_status("Succeeded", job_id="job-x"))
    assert not view.done and view.pending == ["job-y"]
    view.update(_status("Failed", job_id="job-y"))
    assert view.done


def test_view_counts_a_suspended_job_as_unfinished() -> None:
    view = WatchView(["job-x"])
    view.update(_status("Suspended"))
    assert not view.done


def test_view_treats_a_deleted_job_as_finished() -> None:
    view = WatchView(["job-x"])
    line = view.apply(JobEvent(EventType.DELETED, "job-x", _status("Running")))
    assert line == "job-x Deleted"
    assert view.done


def test_view_without_job_ids_is_never_done() -> None:
    view = WatchView()
    view.update(_status("Succeeded"))
    assert not view.done


def test_changes_stop_right_after_the_last_named_job_ends() -> None:
    view = WatchView(["job-x"])

    def events() -> list[JobEvent]:
        return [
            JobEvent(EventType.MODIFIED, "job-x", _status("Running")),
            JobEvent(EventType.MODIFIED, "job-x", _status("Succeeded")),
        ]

    consumed: list[JobEvent] = []

    def feed() -> object:
        for event in events():
            consumed.append(event)
            yield event
        raise AssertionError("read past the terminal event")

    lines = [line for line, _ in view.changes([], feed())]  # type: ignore[arg-type]
    assert lines == ["job-x Running", "job-x Succeeded"]


def test_proto_dict_keeps_field_number_order_when_only_later_fields_are_set() -> None:
    detail = job_pb2.JobStatusDetail(
        end_time="2026-01-01T00:00:00Z",
        tasks=[job_pb2.TaskStatus(progress=0.5, task_id="t")],
    )
    data = proto_dict(detail)
    assert list(data) == [f.name for f in job_pb2.JobStatusDetail.DESCRIPTOR.fields]
    assert list(data["tasks"][0]) == [f.name for f in job_pb2.TaskStatus.DESCRIPTOR.fields]
