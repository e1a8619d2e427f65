"""The store contract: jobs and their event log, changed together or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from dagwire.server.engine.errors import EngineError
from dagwire.server.engine.model import ChangeType, Job, JobChange, JobKind, JobState

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


class Rider(Protocol):
    """Rows of another table that ride with a job write: written in its transaction when
    the write is accepted, never without it (a run's record and its request key with the
    run's job; a step's artifacts and cache entry with the save of its exit)."""

    def write(self, conn: Connection) -> EngineError | None:
        """Write the rows; or return the error that refuses the whole write (its job
        write and every rider's rows are then left out, the rest of the batch goes on)."""
        ...


@dataclass(frozen=True, slots=True)
class InsertJob:
    job: Job
    riders: tuple[Rider, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdateJob:
    job: Job
    expected_version: int
    riders: tuple[Rider, ...] = ()


@dataclass(frozen=True, slots=True)
class RemoveJob:
    job_id: str
    # Rows of the job's in other tables that go with it (its process usage).
    riders: tuple[Rider, ...] = ()


JobWrite = InsertJob | UpdateJob | RemoveJob


@dataclass(frozen=True, slots=True)
class JobScope:
    """Which jobs a listing reads, decided by the store without decoding any job: of one
    kind, with one party domain, among some ids (None or empty: any)."""

    kind: JobKind | None = None
    domain: str | None = None
    job_ids: frozenset[str] = frozenset()


ANY_JOB = JobScope()
WriteResult = JobChange | EngineError


class JobStore(Protocol):
    """Persistence of jobs. Every write appends one event in the same transaction and
    returns it with its resource_version, the position in the event log."""

    async def open(self) -> None:
        """Connect and create or migrate the schema."""
        ...

    async def close(self) -> None: ...

    async def apply_writes(self, writes: Sequence[JobWrite]) -> list[WriteResult]:
        """Apply the writes in one transaction, each appending one event; a refused write
        (JobAlreadyExists, JobNotFound, ConcurrentModification) is returned as its error
        in its place and writes nothing, without failing the others."""
        ...

    async def insert_job(self, job: Job) -> JobChange:
        """Store a new job (ADDED). Raises JobAlreadyExists when the id is taken."""
        ...

    async def update_job(self, job: Job, expected_version: int) -> JobChange:
        """Replace a job (MODIFIED) if its stored version is still `expected_version`;
        raises ConcurrentModification otherwise and JobNotFound when it is gone."""
        ...

    async def delete_job(self, job_id: str) -> JobChange:
        """Remove a job (DELETED, carrying its last snapshot). Raises JobNotFound."""
        ...

    async def get_job(self, job_id: str) -> Job | None: ...

    async def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """The jobs that exist among `job_ids`, in no particular order."""
        ...

    async def list_jobs(self, *, active_only: bool = False) -> list[Job]:
        """Every job (or only those not in a terminal state), oldest first."""
        ...

    async def list_jobs_page(
        self, after: Job | None, limit: int, scope: JobScope = ANY_JOB
    ) -> list[Job]:
        """Up to `limit` jobs of `scope` in list_jobs' order, those after `after` (from
        the start when None): a listing that never holds every job at once, and reads
        only the jobs in scope."""
        ...

    async def count_jobs_by_state(self) -> dict[JobState, int]:
        """How many jobs are in each state (states without jobs are left out)."""
        ...

    async def changes_after(
        self,
        resource_version: int,
        limit: int,
        scope: JobScope = ANY_JOB,
        upto: int | None = None,
    ) -> list[JobChange]:
        """Events of `scope`'s jobs with a resource_version greater than the given one
        (and at most `upto`, when given), in order (events of other jobs may be among
        them; they are never needed to rebuild those in scope)."""
        ...

    async def oldest_resource_version(self) -> int:
        """The smallest resource_version still in the log, 0 when it is empty."""
        ...

    async def latest_resource_version(self) -> int:
        """The largest resource_version at or below which every change is final (none
        still in flight), 0 when none was written. With one writer, the largest ever
        written; with several on PostgreSQL, the commit horizon (dagwire.server.store.pg)."""
        ...

    async def compact(self, keep: int) -> int:
        """Drop all but the newest `keep` events; returns how many were dropped."""
        ...


__all__ = [
    "ANY_JOB",
    "ChangeType",
    "InsertJob",
    "JobScope",
    "JobStore",
    "JobWrite",
    "RemoveJob",
    "Rider",
    "UpdateJob",
    "WriteResult",
]
