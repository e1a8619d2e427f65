"""What runs leave behind: cache entries, artifacts and step logs. Each is its run's
domain's: lists hold the tenant's own only, and another domain's entry or run answers
exactly as a missing one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dagwire.server.engine.catalog import Artifact, CacheEntry
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
