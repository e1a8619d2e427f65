"""The event log as history: rebuilding the job each event records (a delta is applied
to the job's previous state), and compaction, which keeps what remains rebuildable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, false, func, select, update
from sqlalchemy.engine import Connection

from dagwire.server.engine.model import ChangeType, Job, JobChange
from dagwire.server.store.codec import job_after_delta, job_from_json, job_to_json
from dagwire.server.store.schema import events, set_compacted_through

# The columns `replay` reads of an event.
EVENT_COLUMNS = (
    events.c.resource_version,
    events.c.object_id,
    events.c.type,
    events.c.version,
    events.c.whole,
    events.c.doc,
)


def replay(
    conn: Connection, rows: Sequence[Sequence[Any]], *, after: int | None = None
) -> list[JobChange]:
    """The changes the event rows (EVENT_COLUMNS, in order) record, each with the whole
    job as it was then. A delta is applied to the job's previous event in `rows`, or to
    the job rebuilt from the log when it is the first of its job there. With `after`,
    the rows are every event after it (a page of the log), and the jobs their first
    deltas apply to are rebuilt together, in one query."""
    latest: dict[str, Job] = {}
    if after is not None:
        firsts: dict[str, bool] = {}  # job -> whether its first event here is whole
        for row in rows:
            firsts.setdefault(row[1], row[4])
        if needed := [job_id for job_id, whole in firsts.items() if not whole]:
            latest.update(_jobs_as_of(conn, needed, after))
    changes = []
    for rv, object_id, type_, version, whole, doc in rows:
        if whole:
            job = job_from_json(doc, version, rv)
        else:
            before = latest.get(object_id) or _job_before(conn, object_id, rv)
            job = job_after_delta(before, doc, version=version, resource_version=rv)
        latest[object_id] = job
        changes.append(JobChange(rv, ChangeType(type_), job))
    return changes


def _jobs_as_of(conn: Connection, job_ids: Sequence[str], resource_version: int) -> dict[str, Job]:
    """The jobs as the log left them at `resource_version`: each replayed from its last
    whole event at or before it."""
    whole = events.alias("whole")
    last_whole = (
        select(func.max(whole.c.resource_version))
        .where(
            whole.c.object_id == events.c.object_id,
            whole.c.whole.is_(True),
            whole.c.resource_version <= resource_version,
        )
        .scalar_subquery()
    )
    rows = conn.execute(
        select(*EVENT_COLUMNS)
        .where(
            events.c.object_id.in_(job_ids),
            events.c.resource_version <= resource_version,
            events.c.resource_version >= last_whole,
        )
        .order_by(events.c.resource_version)
    ).all()
    return {change.job.job_id: change.job for change in replay(conn, rows)}


def _job_before(conn: Connection, object_id: str, resource_version: int) -> Job:
    """The job as its last event before `resource_version` left it."""
    earlier = events.c.object_id == object_id, events.c.resource_version < resource_version
    start = conn.scalar(
        select(func.max(events.c.resource_version)).where(*earlier, events.c.whole.is_(True))
    )
    if start is None:
        raise RuntimeError(
            f"the event log has no whole state of {object_id!r} before {resource_version}"
        )
    rows = conn.execute(
        select(*EVENT_COLUMNS)
        .where(*earlier, events.c.resource_version >= start)
        .order_by(events.c.resource_version)
    ).all()
    return replay(conn, rows)[-1].job


def compact(keep: int, conn: Connection) -> int:
    """Drop the events older than the newest `keep`. The first event kept of each job
    is stored whole first, if it was a delta on what is dropped."""
    latest = conn.scalar(select(func.max(events.c.resource_version)))
    if latest is None or int(latest) <= keep:
        return 0
    through = int(latest) - keep
    firsts = (
        select(func.min(events.c.resource_version).label("first"))
        .where(events.c.resource_version > through)
        .group_by(events.c.object_id)
        .subquery()
    )
    deltas = conn.execute(
        select(*EVENT_COLUMNS)
        .join(firsts, events.c.resource_version == firsts.c.first)
        .where(events.c.whole == false())
    ).all()
    for row in deltas:
        job = replay(conn, [row])[0].job
        conn.execute(
            update(events)
            .where(events.c.resource_version == row.resource_version)
            .values(whole=True, doc=job_to_json(job))
        )
    result = conn.execute(delete(events).where(events.c.resource_version <= through))
    set_compacted_through(conn, through)
    return int(result.rowcount or 0)
