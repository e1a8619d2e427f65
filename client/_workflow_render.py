"""How the CLI shows WorkflowService results: tables of pipelines, runs, cache entries,
artifacts and schedules, and a run's DAG with the status of every step, drawn level by
level (a step's level is one more than its deepest dependency's), for ``run get`` and the
live ``run watch``. Machine output reuses ``_render.proto_dict``: the wire messages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dagwire.v1 import enums_pb2
from dagwire.v1 import workflow_request_response_pb2 as wf

from ._models import EventType
from ._render import proto_dict
from ._workflow_models import (
    Artifact,
    CacheEntry,
    FileSystem,
    Pipeline,
    PipelineVersion,
    Run,
    RunEvent,
    RunStatus,
    Schedule,
    Step,
    StepLog,
    StepStatistics,
    StepStatus,
)

_STATUS_STYLES = {
    "succeeded": "green",
    "running": "cyan",
    "failed": "red",
    "terminating": "magenta",
    "terminated": "magenta",
    "skipped": "dim",
    "hold": "yellow",
    "active": "cyan",
    "stopped": "magenta",
    "deleted": "dim",
}

#: One glyph per step status, so the DAG reads at a glance.
STEP_GLYPHS = {
    StepStatus.PENDING: "○",
    StepStatus.RUNNING: "●",
    StepStatus.SUCCEEDED: "✔",
    StepStatus.FAILED: "✖",
    StepStatus.TERMINATED: "■",
    StepStatus.SKIPPED: "⊘",
    StepStatus.HOLD: "◐",
}


def _status(value: str) -> Text:
    value = value if value and value != "unspecified" else "unknown"
    return Text(value, style=_STATUS_STYLES.get(value, ""))


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def _duration(step: Step) -> str:
    """``1.2s``, ``3m04s``: how long the step ran (so far, when it still runs)."""
    if step.start_time is None:
        return ""
    end = step.end_time or (
        datetime.now(step.start_time.tzinfo) if step.status == "running" else None
    )
    if end is None:
        return ""
    seconds = max(0.0, (end - step.start_time).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s"


# --- the DAG ---------------------------------------------------------------------------------


def dag_levels(steps: Sequence[Step]) -> dict[str, int]:
    """Each ordinary step's level: 1 without dependencies, else one more than its deepest
    dependency's. Unknown dependencies count as satisfied; post steps are left out."""
    deps = {s.name: [d for d in s.deps if d != s.name] for s in steps if not s.post}
    levels: dict[str, int] = {}

    def level(name: str, path: frozenset[str]) -> int:
        if name not in levels:
            known = [d for d in deps[name] if d in deps and d not in path]  # a cycle: cut it
            levels[name] = 1 + max((level(d, path | {name}) for d in known), default=0)
        return levels[name]

    for name in deps:
        level(name, frozenset())
    return levels


def dag_order(run: Run) -> list[tuple[str, Step]]:
    """The steps as the DAG draws them: by level, in spec order within one, post steps
    last; each with its level label (``"1"``, ``"2"``, ..., ``"post"``)."""
    levels = dag_levels(run.steps)
    ordinary = sorted((s for s in run.steps if not s.post), key=lambda s: levels[s.name])
    ordered = [(str(levels[s.name]), s) for s in ordinary]
    return ordered + [("post", s) for s in run.steps if s.post]


def step_summary(step: Step) -> str:
    """``b running``, ``a succeeded cached``: the step's name and status."""
    text = f"{step.name} {step.status.value if step.status != 'unspecified' else 'unknown'}"
    return f"{text} cached" if step.cached else text


def run_line(run: Run, status: str | None = None) -> str:
    """``run-1 running  a succeeded  b running  c pending  d pending``: one line per change."""
    parts = [f"{run.run_id} {status or run.status.value}"]
    parts += [step_summary(step) for _, step in dag_order(run)]
    return "  ".join(parts)


def dag_table(run: Run) -> Table:
    """The run's DAG: one row per step, grouped by level, with status, dependencies, attempt,
    duration and message."""
    table = Table("LEVEL", "STEP", "STATUS", "AFTER", "ATTEMPT", "TIME", "MESSAGE")
    previous = ""
    for label, step in dag_order(run):
        glyph = STEP_GLYPHS.get(step.status, "?")
        name = Text.assemble((glyph, _STATUS_STYLES.get(step.status.value, "")), " ", step.name)
        message = step.message or (f"cached from {step.cache_run_id}" if step.cached else "")
        table.add_row(
            label if label != previous else "",
            name,
            _status(step.status.value),
            ", ".join(step.deps),
            str(step.attempt) if step.attempt else "",
            _duration(step),
            message,
        )
        previous = label
    return table


def _progress(run: Run) -> str:
    done = sum(1 for step in run.steps if step.status.is_finished)
    return f"{done}/{len(run.steps)} steps done" if run.steps else ""


def run_view(run: Run, status: str | None = None) -> RenderableType:
    """A run's header (id, name, status, progress, source, times, message) and its DAG."""
    header = Text.assemble(
        (run.run_id, "bold"),
        "  ",
        run.name,
        "  ",
        _status(status or run.status.value),
        f"  {_progress(run)}" if run.steps else "",
    )
    facts = [
        ("pipeline", f"{run.pipeline_id}@{run.pipeline_version_id}" if run.pipeline_id else ""),
        ("source", run.source if not run.pipeline_id else ""),
        ("retried from", run.retried_from),
        ("schedule", run.schedule_id),
        ("owner", run.username),
        ("created", _when(run.create_time)),
        ("ended", _when(run.end_time)),
    ]
    parts: list[RenderableType] = [header]
    line = "  ".join(f"{name} {value}" for name, value in facts if value)
    if line:
        parts.append(Text(line, style="dim"))
    if run.run_msg:
        parts.append(Text(run.run_msg, style="red"))
    if run.steps:
        parts.append(dag_table(run))
    return Group(*parts)


class RunWatchView:
    """The latest state of one watched run, fed with watch events; ``done`` once it finished
    or was deleted. ``fetch`` re-reads the run when an event carries it without its steps."""

    def __init__(self, run_id: str, fetch: Callable[[str], Run] | None = None) -> None:
        self.run_id = run_id
        self.run: Run | None = None
        self.deleted = False
        self._fetch = fetch
        self._line = ""

    @property
    def status(self) -> str:
        """The run's status as shown: ``deleted`` after a DELETED event."""
        if self.deleted:
            return "deleted"
        return self.run.status.value if self.run is not None else "unknown"

    @property
    def done(self) -> bool:
        return self.deleted or (self.run is not None and self.run.is_finished)

    @property
    def succeeded(self) -> bool:
        return not self.deleted and self.run is not None and self.run.status is RunStatus.SUCCEEDED

    def update(self, run: Run, deleted: bool = False) -> str | None:
        """Records the run; returns its one-line rendering when it differs from the last."""
        if not run.steps and self.run is not None and self.run.steps and not deleted:
            run = self._fetch(run.run_id) if self._fetch is not None else run
        self.run, self.deleted = run, self.deleted or deleted
        line = run_line(run, self.status)
        if line == self._line:
            return None
        self._line = line
        return line

    def changes(
        self, initial: Run, events: Iterable[RunEvent]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Feeds the initial run, then the events, until ``done``; yields each change as its
        line and as a record (the watch event as JSON; ADDED for the initial run)."""
        line = self.update(initial)
        if line is not None:
            yield line, self._record(enums_pb2.EVENT_TYPE_ADDED, 0)
        if self.done:
            return
        for event in events:
            if event.run is None or event.run_id != self.run_id:
                continue
            line = self.update(event.run, deleted=event.type is EventType.DELETED)
            if line is not None:
                assert event.raw is not None
                yield line, self._record(event.raw.type, event.resource_version)
            if self.done:
                return

    def _record(self, kind: Any, resource_version: int) -> dict[str, Any]:
        assert self.run is not None
        message = wf.WatchRunsResponse(
            type=kind, run=self.run.raw, resource_version=resource_version
        )
        return proto_dict(message)

    def renderable(self) -> RenderableType:
        if self.run is None:
            return Text(f"{self.run_id}  waiting for the server", style="dim")
        return run_view(self.run, self.status)


# --- pipelines, runs, cache, artifacts, schedules, logs --------------------------------------


def pipelines_table(pipelines: Iterable[Pipeline]) -> Table:
    table = Table("PIPELINE", "NAME", "LATEST VERSION", "OWNER", "UPDATED", "DESCRIPTION")
    for p in pipelines:
        table.add_row(
            p.pipeline_id,
            p.name,
            p.latest_version_id,
            p.username,
            _when(p.update_time),
            p.description,
        )
    return table


def versions_table(versions: Iterable[PipelineVersion]) -> Table:
    table = Table("VERSION", "OWNER", "CREATED", "DESCRIPTION")
    for v in versions:
        table.add_row(v.pipeline_version_id, v.username, _when(v.create_time), v.description)
    return table


def pipeline_view(pipeline: Pipeline) -> RenderableType:
    """A pipeline's header and its versions."""
    header = Text.assemble(
        (pipeline.pipeline_id, "bold"),
        f"  {pipeline.name}  latest version {pipeline.latest_version_id}",
        f"  owner {pipeline.username}" if pipeline.username else "",
    )
    parts: list[RenderableType] = [header]
    if pipeline.description:
        parts.append(Text(pipeline.description, style="dim"))
    parts.append(versions_table(pipeline.versions))
    return Group(*parts)


def version_view(version: PipelineVersion) -> RenderableType:
    """A version's header, then its YAML exactly as submitted."""
    header = Text.assemble(
        (f"{version.pipeline_id}@{version.pipeline_version_id}", "bold"),
        f"  owner {version.username}" if version.username else "",
        f"  created {_when(version.create_time)}" if version.create_time else "",
        f"  {version.description}" if version.description else "",
    )
    return Group(header, Text(version.pipeline_yaml.rstrip("\n")))


def runs_table(runs: Iterable[Run]) -> Table:
    table = Table("RUN", "NAME", "STATUS", "PIPELINE", "OWNER", "CREATED", "MESSAGE")
    for run in runs:
        pipeline = f"{run.pipeline_id}@{run.pipeline_version_id}" if run.pipeline_id else ""
        table.add_row(
            run.run_id,
            run.name,
            _status(run.status.value),
            pipeline,
            run.username,
            _when(run.create_time),
            run.run_msg,
        )
    return table


def statistics_table(entries: Iterable[StepStatistics]) -> Table:
    """One row per finished attempt: CPU seconds, peak memory, wall seconds, exit."""
    table = Table("STEP", "ATTEMPT", "PARTY", "CPU S", "PEAK MEM", "WALL S", "EXIT", "SAMPLES")
    for entry in entries:
        table.add_row(
            entry.step_name,
            str(entry.attempt),
            entry.domain_id,
            f"{entry.cpu_seconds:.3f}",
            _bytes(entry.peak_memory_bytes),
            f"{entry.wall_seconds:.3f}",
            str(entry.exit_code) + ("" if entry.complete else " (killed)"),
            str(len(entry.samples)),
        )
    return table


def _bytes(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    size = count / 1024
    for unit in ("KiB", "MiB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def cache_table(entries: Iterable[CacheEntry]) -> Table:
    table = Table("CACHE", "RUN", "STEP", "FIRST FP", "SECOND FP", "CREATED", "EXPIRES")
    for entry in entries:
        expires = _when(entry.expire_time) or ("never" if entry.expired_time < 0 else "")
        table.add_row(
            entry.cache_id,
            entry.run_id,
            entry.step_name,
            entry.first_fp[:12],
            entry.second_fp[:12],
            _when(entry.create_time),
            expires,
        )
    return table


def cache_view(entry: CacheEntry) -> RenderableType:
    """Every field of one cache entry, a line each."""
    table = Table.grid(padding=(0, 2))
    expires = _when(entry.expire_time) or "never"
    for name, value in (
        ("cache", entry.cache_id),
        ("run", entry.run_id),
        ("step", entry.step_name),
        ("pipeline", entry.pipeline_id),
        ("owner", entry.username),
        ("first fingerprint", entry.first_fp),
        ("second fingerprint", entry.second_fp),
        ("created", _when(entry.create_time)),
        ("valid for", "ever" if entry.expired_time < 0 else f"{entry.expired_time} s"),
        ("expires", expires),
    ):
        table.add_row(Text(name, style="bold"), value)
    return table


def file_systems_table(found: Iterable[FileSystem]) -> Table:
    table = Table("NAME", "URL", "OWNER", "CREATED")
    for fs in found:
        table.add_row(fs.name, fs.url, fs.username, _when(fs.create_time))
    return table


def file_system_view(fs: FileSystem) -> RenderableType:
    """Every field of one file system, a line each; its properties (secrets masked)."""
    table = Table.grid(padding=(0, 2))
    rows = [("name", fs.name), ("url", fs.url), ("owner", fs.username)]
    rows += [("created", _when(fs.create_time))]
    rows += [(f"property {key}", value) for key, value in sorted(fs.properties.items())]
    for name, value in rows:
        table.add_row(Text(name, style="bold"), value)
    return table


def artifacts_table(artifacts: Iterable[Artifact]) -> Table:
    table = Table("RUN", "STEP", "NAME", "TYPE", "PATH", "CREATED")
    for a in artifacts:
        table.add_row(a.run_id, a.step_name, a.name, a.type.value, a.path, _when(a.create_time))
    return table


def schedules_table(schedules: Iterable[Schedule]) -> Table:
    table = Table("SCHEDULE", "NAME", "STATUS", "CRONTAB", "PIPELINE", "POLICY", "NEXT RUN")
    for s in schedules:
        table.add_row(
            s.schedule_id,
            s.name,
            _status(s.status.value),
            s.crontab,
            f"{s.pipeline_id}@{s.pipeline_version_id}",
            f"{s.concurrency_policy.value} x{s.concurrency}",
            _when(s.next_run_time),
        )
    return table


def schedule_view(schedule: Schedule) -> RenderableType:
    """A schedule's settings, then its recent runs."""
    header = Text.assemble(
        (schedule.schedule_id, "bold"),
        f"  {schedule.name}  ",
        _status(schedule.status.value),
        f"  {schedule.crontab}  {schedule.pipeline_id}@{schedule.pipeline_version_id}",
    )
    facts = [
        ("concurrency", f"{schedule.concurrency} ({schedule.concurrency_policy.value})"),
        ("catchup", "yes" if schedule.catchup else "no"),
        ("start", _when(schedule.start_time)),
        ("end", _when(schedule.end_time)),
        ("next run", _when(schedule.next_run_time)),
    ]
    parts: list[RenderableType] = [
        header,
        Text("  ".join(f"{n} {v}" for n, v in facts if v), style="dim"),
    ]
    if schedule.message:
        parts.append(Text(schedule.message, style="red"))
    parts.append(runs_table(schedule.runs))
    return Group(*parts)


def log_text(logs: Sequence[StepLog], headers: bool = True) -> str:
    """The pages as plain text: with ``headers``, a ``==> step (attempt, page) <==`` line
    before each and a hint when more pages exist or the log was truncated."""
    chunks: list[str] = []
    for log in logs:
        if headers:
            chunks.append(f"==> {log.step_name} (attempt {log.attempt}, page {log.page_no}) <==\n")
        chunks.append(log.log_content)
        if log.log_content and not log.log_content.endswith("\n"):
            chunks.append("\n")
        if headers and log.has_next_page:
            chunks.append(f"... more: --page {log.page_no + 1}\n")
        if headers and log.truncated:
            chunks.append("... the log is longer than the server reads; older lines are left out\n")
    return "".join(chunks)
