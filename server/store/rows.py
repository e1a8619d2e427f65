"""Reading jobs as they are now: each job's row with its task rows."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Connection

from dagwire.server.engine.model import Job
from dagwire.server.store.codec import JobParts, job_from_json
from dagwire.server.store.decoded import DecodedJobs, stored_size
from dagwire.server.store.schema import job_tasks, jobs

# How often a read that crossed a commit is repeated before it gives up.
_READ_ATTEMPTS = 20

# Up to this many jobs, their task rows are read by id; more, by joining the jobs again.
_IN_LIST = 1_000


@dataclass(frozen=True, slots=True)
class StoredJob:
    """A job as its rows hold it: versions, and its stored form in parts."""

    job_id: str
    version: int
    resource_version: int
    parts: JobParts

    def job(self) -> Job:
        return job_from_json(self.parts.whole(), self.version, self.resource_version)


def load_jobs(
    conn: Connection, where: ColumnElement[bool] | None = None, limit: int | None = None
) -> list[Job]:
    """The jobs matching `where` (all when None), oldest first, the first `limit`."""
    return [stored.job() for stored in read_stored(conn, where, limit)]


def load_jobs_shared(
    conn: Connection,
    decoded: DecodedJobs,
    where: ColumnElement[bool] | None = None,
    limit: int | None = None,
) -> list[Job]:
    """load_jobs, decoding only the jobs `decoded` does not hold at their stored version:
    the versions are read first (a small statement), then the rest of the jobs missing."""
    heads = (
        select(jobs.c.job_id, jobs.c.resource_version)
        .order_by(jobs.c.create_time, jobs.c.job_id)
        .limit(limit)
    )
    if where is not None:
        heads = heads.where(where)
    found = {
        job_id: decoded.get(job_id, resource_version)
        for job_id, resource_version in conn.execute(heads).all()
    }
    missing = [job_id for job_id, job in found.items() if job is None]
    if missing:
        # Read as load_jobs reads; one that changed since is taken as it is now, one
        # deleted since is left out (as if the first statement had come later).
        for stored in read_stored(conn, jobs.c.job_id.in_(missing)):
            job = stored.job()
            decoded.put(job, stored_size(stored.parts))
            found[stored.job_id] = job
    return [job for job in found.values() if job is not None]


def read_stored(
    conn: Connection, where: ColumnElement[bool] | None, limit: int | None = None
) -> list[StoredJob]:
    """Job rows with their task rows. The two are read by two statements; a job whose
    task rows turn out newer than its row (or missing) changed in between and is read
    again."""
    found, stale = _read_rows(conn, where, limit)
    for _ in range(_READ_ATTEMPTS):
        if not stale:
            return [stored for stored in found.values() if stored is not None]
        again, stale = _read_rows(conn, jobs.c.job_id.in_(stale))
        found.update((job_id, again[job_id]) for job_id in found.keys() & again.keys())
    raise RuntimeError(f"jobs {sorted(stale)[:5]} kept changing while read")


def _read_rows(
    conn: Connection, where: ColumnElement[bool] | None, limit: int | None = None
) -> tuple[dict[str, StoredJob | None], list[str]]:
    heads = (
        select(jobs.c.job_id, jobs.c.version, jobs.c.resource_version, jobs.c.spec, jobs.c.head)
        .order_by(jobs.c.create_time, jobs.c.job_id)
        .limit(limit)
    )
    if where is not None:
        heads = heads.where(where)
    head_rows = conn.execute(heads).all()
    if not head_rows:
        return {}, []
    tasks = select(job_tasks.c.job_id, job_tasks.c.resource_version, job_tasks.c.doc).order_by(
        job_tasks.c.job_id, job_tasks.c.position
    )
    if len(head_rows) <= _IN_LIST:
        tasks = tasks.where(job_tasks.c.job_id.in_([row.job_id for row in head_rows]))
    else:
        tasks = tasks.select_from(job_tasks.join(jobs, jobs.c.job_id == job_tasks.c.job_id))
        if where is not None:
            tasks = tasks.where(where)
    docs: dict[str, list[str]] = {}
    newest: dict[str, int] = {}
    for job_id, rv, doc in conn.execute(tasks):
        docs.setdefault(job_id, []).append(doc)
        if rv > newest.get(job_id, 0):
            newest[job_id] = rv
    found: dict[str, StoredJob | None] = {}
    stale = []
    for row in head_rows:
        # No task rows, for a job with tasks: deleted after its row was read.
        gone = row.job_id not in docs and bool(json.loads(row.spec)["tasks"])
        if gone or newest.get(row.job_id, 0) > row.resource_version:
            found[row.job_id] = None  # its place in the order, filled when read again
            stale.append(row.job_id)
            continue
        encoded = JobParts(row.head, row.spec, tuple(docs.get(row.job_id, ())))
        found[row.job_id] = StoredJob(row.job_id, row.version, row.resource_version, encoded)
    return found, stale
