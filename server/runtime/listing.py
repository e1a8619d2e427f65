"""One page of jobs for ListJobs: the caller's visible jobs, filtered by state, oldest
first, read from the store in batches so that a listing never holds every job at once.
Its page token is the listing grammar's (engine.listing), bound to the states asked for."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from dagwire.server.engine.errors import InvalidArgument, InvalidRequest
from dagwire.server.engine.listing import Listing, page_cursor, page_token, terms_text
from dagwire.server.engine.model import Job, JobState
from dagwire.server.store.base import JobStore

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# Jobs read per store call while looking for a page's matches.
_BATCH = 500
# ListJobs' job_id_contains: a job id's characters (engine.names' DNS-1123), bounded.
MAX_ID_TEXT = 63
_ID_TEXT = re.compile(r"[a-z0-9.-]*")


@dataclass(frozen=True)
class JobPage:
    """The jobs of a page, and the token of the next page ("" on the last)."""

    jobs: list[Job]
    next_page_token: str


def page_size(requested: int) -> int:
    """0 (unset) is the default; larger than MAX_PAGE_SIZE is MAX_PAGE_SIZE."""
    if requested < 0:
        raise InvalidRequest(f"page_size must not be negative, got {requested}")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


async def list_jobs(
    store: JobStore,
    visible: Callable[[Job], bool],
    states: Collection[JobState],
    token: str,
    size: int,
    id_contains: str = "",
) -> JobPage:
    """Up to ``size`` jobs the caller may see, in ``states`` (any when empty), whose id
    contains ``id_contains``, from where ``token`` says (from the first when empty)."""
    if len(id_contains) > MAX_ID_TEXT or not _ID_TEXT.fullmatch(id_contains):
        raise InvalidRequest(
            "job_id_contains must be at most 63 lower-case letters, digits, '.' or '-' "
            f"(a job id's characters), got {id_contains[:80]!r}"
        )
    bound_to = _filter(states, id_contains)
    after_id = _after_job_id(token, bound_to)
    after: Job | None = None
    if after_id:
        after = await store.get_job(after_id)
        if after is None:  # deleted since: its place in the order is gone with it
            raise InvalidRequest("page_token: the listing moved on (a job was deleted); list again")
    found: list[Job] = []
    while True:
        batch = await store.list_jobs_page(after, _BATCH)
        for job in batch:
            if id_contains in job.job_id and visible(job) and (not states or job.state in states):
                found.append(job)
                if len(found) > size:  # one more than the page: a next page exists
                    last = (found[size - 1].job_id,)
                    return JobPage(found[:size], page_token(Listing.JOBS, last, bound_to))
        if len(batch) < _BATCH:
            return JobPage(found, "")
        after = batch[-1]


def _filter(states: Collection[JobState], id_contains: str) -> str:
    """ListJobs' filter is its `states` and `job_id_contains` fields: a token is bound to
    them as the listing grammar writes them (`state=failed AND state=running AND
    job_id=ab`), whatever the order or case of the states."""
    terms = [("state", name) for name in sorted({state.value for state in states})]
    return terms_text(terms + ([("job_id", id_contains)] if id_contains else []))


def _after_job_id(token: str, bound_to: str) -> str:
    cursor = page_cursor(Listing.JOBS, token, bound_to)
    if cursor is None:
        return ""
    if len(cursor) != 1 or not isinstance(cursor[0], str) or not cursor[0]:
        raise InvalidArgument.of(
            "page_token", "is not a token this server handed out; list again without it"
        )
    return cursor[0]
