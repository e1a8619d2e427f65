"""How the CLI shows jobs: machine output (JSON / YAML of the wire messages), rich tables,
and the watch view (a live table on a terminal, one line per change otherwise)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import yaml
from google.protobuf import json_format
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2

from ._models import EventType, Job, JobEvent, JobStatus, TaskStatus

_STATE_STYLES = {
    "Succeeded": "green",
    "Running": "cyan",
    "Failed": "red",
    "ApprovalReject": "red",
    "Cancelled": "magenta",
    "Suspended": "yellow",
    "AwaitingApproval": "yellow",
    "Deleted": "dim",
}


def proto_dict(message: Any) -> dict[str, Any]:
    """A wire message as Kuscia's JSON shape: snake_case names, every field present, in
    the wire's order (field numbers), as the message itself would print them."""
    if message is None:
        return {}
    result: dict[str, Any] = json_format.MessageToDict(
        message,
        always_print_fields_with_no_presence=True,
        preserving_proto_field_name=True,
        unquote_int64_if_possible=True,
    )
    return _in_wire_order(message, result)


def _in_wire_order(message: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (``message`` as MessageToDict made it, which puts the fields left at their
    defaults last) with every message's fields in field-number order."""
    ordered: dict[str, Any] = {}
    for field in sorted(message.DESCRIPTOR.fields, key=lambda f: f.number):
        if field.name not in data:
            continue
        value = data[field.name]
        kind = field.message_type
        if kind is not None and not kind.GetOptions().map_entry:
            inner = getattr(message, field.name)
            if isinstance(value, list):
                value = [
                    _in_wire_order(m, v) if isinstance(v, dict) else v
                    for m, v in zip(inner, value, strict=True)
                ]
            elif isinstance(value, dict):
                value = _in_wire_order(inner, value)
        ordered[field.name] = value
    for name, value in data.items():  # none in these messages; kept all the same
        ordered.setdefault(name, value)
    return ordered


def dump(data: Any, output: str) -> str:
    """``data`` as JSON or YAML text (without a trailing newline)."""
    if output == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")
    return json.dumps(data, indent=2, ensure_ascii=False)


def _state(state: str) -> Text:
    return Text(state or "Unknown", style=_STATE_STYLES.get(state, ""))


def _percent(task: TaskStatus) -> str:
    return f"{round(task.progress * 100)}%" if task.progress > 0 else ""


def _why(err_msg: str) -> str:
    return f"({' '.join(err_msg.split())})" if err_msg else ""


def task_summary(task: TaskStatus) -> str:
    """``job-split Running 50%``: the task's name, state and progress when it reported any,
    and why it failed when it did (``job-psi Failed (exit code 2)``)."""
    parts = (task.name, task.state or "Unknown", _percent(task), _why(task.err_msg))
    return " ".join(p for p in parts if p)


def status_line(status: JobStatus, state: str | None = None) -> str:
    """``job-x Running  job-psi Succeeded 100%  job-split Running 50%``; a failure's reason
    follows its state in parentheses, on one line."""
    job = " ".join(
        p for p in (status.job_id, state or status.state or "Unknown", _why(status.err_msg)) if p
    )
    return "  ".join([job, *(task_summary(task) for task in status.tasks)])


def job_view(job: Job) -> RenderableType:
    """A job's header and a table of its tasks (spec joined with status)."""
    status = job.status
    header = Text.assemble(
        (job.job_id, "bold"),
        "  ",
        _state(status.state),
        f"  initiator {job.initiator}  max_parallelism {job.max_parallelism}",
    )
    times = "  ".join(
        f"{name} {value.isoformat()}"
        for name, value in (
            ("created", status.create_time),
            ("started", status.start_time),
            ("ended", status.end_time),
        )
        if value is not None
    )
    table = Table("TASK", "IMAGE", "DEPENDS ON", "PARTIES", "STATE", "PROGRESS", "MESSAGE")
    observed = {t.task_id: t for t in status.tasks}
    for spec in job.tasks:
        task = observed.get(spec.task_id)
        table.add_row(
            spec.alias or spec.task_id,
            spec.app_image,
            ", ".join(spec.dependencies),
            ", ".join(p.domain_id for p in spec.parties),
            _state(task.state if task else ""),
            _percent(task) if task else "",
            task.err_msg if task else "",
        )
    parts: list[RenderableType] = [header]
    if times:
        parts.append(Text(times, style="dim"))
    if status.err_msg:
        parts.append(Text(status.err_msg, style="red"))
    parts.append(table)
    return Group(*parts)


def statuses_table(statuses: Iterable[JobStatus]) -> Table:
    """One row per job: its state and a summary of its tasks."""
    table = Table("JOB", "STATE", "TASKS", "MESSAGE")
    for status in statuses:
        tasks = "  ".join(task_summary(t) for t in status.tasks)
        table.add_row(status.job_id, _state(status.state), tasks, status.err_msg)
    return table


class WatchView:
    """The latest status of every watched job, fed with watch events.

    With ``job_ids`` it is ``done`` once each of them is terminal or deleted; without, it
    follows every job and is never done.
    """

    def __init__(self, job_ids: Iterable[str] = ()) -> None:
        self.job_ids = tuple(dict.fromkeys(job_ids))
        self._statuses: dict[str, JobStatus] = {}
        self._deleted: set[str] = set()
        self._lines: dict[str, str] = {}

    def update(self, status: JobStatus, deleted: bool = False) -> str | None:
        """Records a status; returns its one-line rendering when it differs from the last."""
        self._statuses[status.job_id] = status
        if deleted:
            self._deleted.add(status.job_id)
        line = status_line(status, "Deleted" if deleted else None)
        if self._lines.get(status.job_id) == line:
            return None
        self._lines[status.job_id] = line
        return line

    def apply(self, event: JobEvent) -> str | None:
        """Records a watch event; returns the changed line, if any."""
        if event.status is None or event.type is EventType.ERROR:
            return None
        return self.update(event.status, deleted=event.type is EventType.DELETED)

    def changes(
        self, initial: Iterable[JobStatus], events: Iterable[JobEvent]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Feeds the initial statuses, then the events, until ``done``; yields each change
        as its line and as a record (the watch event as JSON; ADDED for an initial status).
        """
        for status in initial:
            line = self.update(status)
            if line is not None:
                raw = job_pb2.WatchJobEventResponse(type=job_pb2.ADDED, object=status.raw)
                yield line, proto_dict(raw)
        if self.done:
            return
        for event in events:
            line = self.apply(event)
            if line is not None:
                yield line, proto_dict(event.raw)
            if self.done:
                return

    def _finished(self, job_id: str) -> bool:
        status = self._statuses.get(job_id)
        return job_id in self._deleted or (status is not None and status.is_terminal)

    @property
    def done(self) -> bool:
        return bool(self.job_ids) and all(self._finished(j) for j in self.job_ids)

    @property
    def pending(self) -> list[str]:
        """The watched jobs not finished yet."""
        return [j for j in self.job_ids if not self._finished(j)]

    def table(self) -> Table:
        """Every job and its tasks, one row per task, for a live display."""
        table = Table("JOB", "TASK", "STATE", "PROGRESS", "MESSAGE")
        order = self.job_ids or tuple(self._statuses)
        for job_id in order:
            status = self._statuses.get(job_id)
            if status is None:
                table.add_row(job_id, "", _state(""), "", "")
                continue
            job_state = "Deleted" if job_id in self._deleted else status.state
            table.add_row(Text(job_id, style="bold"), "", _state(job_state), "", status.err_msg)
            for task in status.tasks:
                table.add_row("", task.name, _state(task.state), _percent(task), task.err_msg)
        return table
