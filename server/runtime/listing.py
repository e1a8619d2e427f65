"""One page of jobs for ListJobs: the caller's visible jobs, filtered by state, oldest
first, read from the store in batches so that a listing never holds every job at once."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from dagwire.server.engine.errors import InvalidRequest
from dagwire.server.engine.model import Job, JobState
from dagwire.server.store.base import JobStore

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# Jobs read per store call while looking for a page's matches.
_BATCH = 500


@dataclass(frozen=True)
class JobPage:
    """The jobs of a page, and the id of its last job when more follow ("" otherwise)."""

    jobs: list[Job]
    continue_after: str


def page_size(requested: int) -> int:
    """0 (unset) is the default; larger than MAX_PAGE_SIZE is MAX_PAGE_SIZE."""
    if requested < 0:
        raise InvalidRequest(f"page_size must not be negative, got {requested}")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


async def list_jobs(
    store: JobStore,
    visible: Callable[[Job], bool],
    states: Collection[JobState],
    after_id: str,
    size: int,
) -> JobPage:
    """Up to ``size`` jobs the caller may see, in ``states`` (any when empty), created
    after job ``after_id`` (from the first when empty)."""
    after: Job | None = None
    if after_id:
        after = await store.get_job(after_id)
        if after is None:  # deleted since: its place in the order is gone with it
            raise InvalidRequest("page_token: the listing moved on (a job was deleted); list again")
    found: list[Job] = []
    while True:
        batch = await store.list_jobs_page(after, _BATCH)
        for job in batch:
            if visible(job) and (not states or job.state in states):
                found.append(job)
                if len(found) > size:  # one more than the page: a next page exists
                    return JobPage(found[:size], found[size - 1].job_id)
        if len(batch) < _BATCH:
            return JobPage(found, "")
        after = batch[-1]
