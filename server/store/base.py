"""The store contract: jobs and their event log, changed together or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dagwire.server.engine.model import ChangeType, Job, JobChange


class JobStore(Protocol):
    """Persistence of jobs. Every write appends one event in the same transaction and
    returns it with its resource_version, the position in the event log."""

    async def open(self) -> None:
        """Connect and create or migrate the schema."""
        ...

    async def close(self) -> None: ...

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

    async def changes_after(self, resource_version: int, limit: int) -> list[JobChange]:
        """Events with a resource_version greater than the given one, in order."""
        ...

    async def oldest_resource_version(self) -> int:
        """The smallest resource_version still in the log, 0 when it is empty."""
        ...

    async def latest_resource_version(self) -> int:
        """The largest resource_version ever written, 0 when none was."""
        ...

    async def compact(self, keep: int) -> int:
        """Drop all but the newest `keep` events; returns how many were dropped."""
        ...


__all__ = ["ChangeType", "JobStore"]
