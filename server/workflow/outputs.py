"""What runs leave behind: cache entries, artifacts and step logs. Each is its run's
domain's: lists hold the tenant's own only, and another domain's entry or run answers
exactly as a missing one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from dagwire.server.engine.catalog import Artifact, CacheEntry
from dagwire.server.engine.model import TaskState
from dagwire.server.engine.tenancy import Tenant
from dagwire.server.executors.base import PartyKey
from dagwire.server.store.workflow import Page, SqlWorkflowStore
from dagwire.server.workflow.compile import RUN_DOMAIN
from dagwire.server.workflow.errors import InvalidArgument, NotFound
from dagwire.server.workflow.paging import (
    Listing,
    decode_token,
    page_limit,
    parse_filter,
    required,
)
from dagwire.server.workflow.runs import WorkflowRuntime

MAX_LOG_BYTES = 8 << 20
MAX_LOG_PAGE = 10_000
# A followed log: at most this much per chunk, and only the last MAX_TAIL_START bytes of
# a long log at the start; how often its file is looked at, and its run re-read.
MAX_TAIL_CHUNK = 64 << 10
MAX_TAIL_START = 1 << 20
TAIL_INTERVAL = 0.25
RUN_INTERVAL = 1.0


@dataclass(frozen=True, slots=True)
class LogChunk:
    """What a followed log gained: `content` ends at byte `offset` of `attempt`'s log."""

    content: str
    offset: int
    attempt: int
    state: TaskState


@dataclass(frozen=True, slots=True)
class LogPage:
    step_name: str
    task_id: str
    attempt: int
    has_next_page: bool
    truncated: bool
    page_size: int
    page_no: int
    content: str


class RunOutputs:
    def __init__(
        self,
        store: SqlWorkflowStore,
        runs: WorkflowRuntime,
        log_path: Callable[[PartyKey], str],
    ) -> None:
        self._store = store
        self._runs = runs
        self._log_path = log_path

    async def list_cache_entries(
        self, tenant: Tenant, page_size: int, page_token: str, filter_text: str
    ) -> Page[CacheEntry]:
        where = parse_filter(filter_text, {"username", "run_id", "step_name", "pipeline_id"})
        return await self._store.list_cache_entries(
            after=decode_token(Listing.CACHE_ENTRIES, page_token, filter_text),
            limit=page_limit(page_size, 100),
            where=where,
            owner=tenant.domain,
        )

    async def get_cache_entry(self, tenant: Tenant, cache_id: str) -> CacheEntry:
        entry = await self._store.get_cache_entry(required("cache_id", cache_id))
        if entry is None or not tenant.sees(entry.owner):
            raise NotFound("cache entry", cache_id)
        return entry

    async def delete_cache_entry(self, tenant: Tenant, cache_id: str) -> None:
        await self.get_cache_entry(tenant, cache_id)
        if not await self._store.delete_cache_entry(cache_id):
            raise NotFound("cache entry", cache_id)

    async def list_artifacts(
        self, tenant: Tenant, page_size: int, page_token: str, filter_text: str
    ) -> Page[Artifact]:
        where = parse_filter(
            filter_text,
            {"run_id", "step_name", "type", "path", "username", "name"},
            {"type": ("input", "output")},
        )
        prefix = where.pop("path", "")
        return await self._store.list_artifacts(
            after=decode_token(Listing.ARTIFACTS, page_token, filter_text),
            limit=page_limit(page_size, 100),
            where=where,
            owner=tenant.domain,
            path_prefix=prefix,
        )

    async def read_logs(
        self,
        tenant: Tenant,
        run_id: str,
        step_name: str,
        page_size: int,
        page_no: int,
        from_end: bool,
    ) -> list[LogPage]:
        view = await self._runs.get_run(tenant, run_id)
        if page_size < 0 or page_size > MAX_LOG_PAGE:
            raise InvalidArgument.of("page_size", f"must be within [1, {MAX_LOG_PAGE}]")
        if page_no < 0:
            raise InvalidArgument.of("page_no", "must be 1 or more")
        size, number = page_size or 100, page_no or 1
        if step_name:
            try:
                tasks = [view.job.task(step_name)]
            except KeyError:
                raise NotFound("step", f"{run_id}/{step_name}") from None
        else:
            tasks = [task for task in view.job.tasks if task.attempt > 0]
        pages = []
        for task in tasks:
            task_id = view.job.spec.task(task.alias).task_id
            lines: list[str] = []
            truncated = False
            if task.attempt > 0:
                path = self._log_path(PartyKey(run_id, task_id, RUN_DOMAIN, task.attempt))
                lines, truncated = await asyncio.to_thread(_read_lines, Path(path))
            chosen, has_next = _page(lines, size, number, from_end)
            pages.append(
                LogPage(
                    task.alias,
                    task_id,
                    task.attempt,
                    has_next,
                    truncated,
                    size,
                    number,
                    "".join(chosen),
                )
            )
        return pages

    async def tail_log(
        self, tenant: Tenant, run_id: str, step_name: str, offset: int, seconds: float | None
    ) -> AsyncIterator[LogChunk]:
        """One step's log as it grows, for ever (the caller bounds the stream): a chunk
        at once, then one whenever the file grew, the step's state changed or a retry
        began a new attempt (whose log starts at 0). The file is looked at every
        TAIL_INTERVAL seconds, off the event loop; the run (its tenancy and the step's
        state and attempt) is re-read every RUN_INTERVAL seconds, so that a viewer left
        open on a large finished run costs a read a second, not four. Ends after
        `seconds`, when given."""
        if offset < 0:
            raise InvalidArgument.of("offset", "must not be negative")
        required("step_name", step_name)
        sent: tuple[int, TaskState] | None = None
        attempt = -1
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds
        read_at: float | None = None
        while deadline is None or loop.time() < deadline:
            if read_at is None or loop.time() - read_at >= RUN_INTERVAL:
                view = await self._runs.get_run(tenant, run_id)
                read_at = loop.time()
                try:
                    task = view.job.task(step_name)
                except KeyError:
                    raise NotFound("step", f"{run_id}/{step_name}") from None
            if task.attempt != attempt:
                offset = offset if attempt == -1 else 0
                attempt = task.attempt
            task_id = view.job.spec.task(task.alias).task_id
            path = Path(self._log_path(PartyKey(run_id, task_id, RUN_DOMAIN, attempt)))
            while True:
                data, offset = await asyncio.to_thread(_read_from, path, offset)
                if not data and sent == (attempt, task.state):
                    break
                sent = (attempt, task.state)
                text = data.decode(errors="replace")
                yield LogChunk(text, offset, attempt, task.state)
                if len(data) < MAX_TAIL_CHUNK:
                    break
            await asyncio.sleep(TAIL_INTERVAL)


def _read_from(path: Path, offset: int) -> tuple[bytes, int]:
    """At most MAX_TAIL_CHUNK bytes of `path` from `offset`, and the offset after them.
    A first read of a long log skips to its last MAX_TAIL_START bytes; a chunk ending
    inside a UTF-8 character is cut before it, so that no character is split."""
    try:
        size = path.stat().st_size
    except OSError:
        return b"", offset
    if offset == 0 and size > MAX_TAIL_START:
        offset = size - MAX_TAIL_START
    if size <= offset:
        return b"", offset
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read(MAX_TAIL_CHUNK)
    cut = _whole_characters(data)
    return data[:cut], offset + cut


def _whole_characters(data: bytes) -> int:
    """The length of `data` without a UTF-8 character cut off at its end."""
    lead = len(data) - 1
    while lead >= 0 and len(data) - lead <= 4 and (data[lead] & 0xC0) == 0x80:
        lead -= 1  # continuation bytes: back to the character's first byte
    if lead < 0 or data[lead] < 0xC0:
        return len(data)  # ASCII last, or no lead byte near the end (not UTF-8): keep all
    width = 2 if data[lead] < 0xE0 else 3 if data[lead] < 0xF0 else 4
    return lead if lead + width > len(data) else len(data)


def _read_lines(path: Path) -> tuple[list[str], bool]:
    """The log's lines; only its last MAX_LOG_BYTES when it is longer (truncated)."""
    try:
        size = path.stat().st_size
    except OSError:
        return [], False
    with path.open("rb") as handle:
        truncated = size > MAX_LOG_BYTES
        if truncated:
            handle.seek(size - MAX_LOG_BYTES)
            handle.readline()  # drop the partial first line
        data = handle.read()
    return data.decode(errors="replace").splitlines(keepends=True), truncated


def _page(lines: list[str], size: int, number: int, from_end: bool) -> tuple[list[str], bool]:
    total = len(lines)
    if from_end:
        stop = max(total - (number - 1) * size, 0)
        start = max(stop - size, 0)
        return lines[start:stop], start > 0
    start = min((number - 1) * size, total)
    stop = min(start + size, total)
    return lines[start:stop], stop < total
