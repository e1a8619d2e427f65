"""The event bus of one replica among several on one database.

Subscribers (watch streams) get the changes committed on *every* replica, in
resource_version order, through the in-process bus this one wraps. The order comes
from a single pump that walks the event log position by position:

- a change this replica committed is handed over by its committer (`publish`) and
  goes out from memory when its turn comes;
- the changes of other replicas are read from the log (`fetch`) when a notification
  (`notified`) or a local commit says that the log has grown past the pump's cursor.

Writers commit out of resource_version order (dagwire.server.store.pg), so neither a
local commit nor another replica's notification says by itself how far the log is
final. Both ask for the commit horizon (`on_local` for a local commit); `notified(N)`
brings it: everything at or below N is final, so once the pump has read the log up to N
it has every change up to N and can move its cursor there: nothing can appear below it
later, and nothing is published twice. A local change above the horizon waits in
memory until the horizon passes it.
A restart loses nothing either: a reconnecting watcher resumes from the log.

Rows of other replicas are read with their documents (the jobs) and decoded only when
someone needs them: a subscriber, or the runtime for a job it owns (`interested`), which
also gets each such change (`on_foreign`) to carry out what another replica decided for
it. With no subscriber, notifications are also gathered for a moment before the log is
read, so that a busy database is read once per burst rather than once per commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from dagwire.server.bus.base import EventBus, Subscription
from dagwire.server.engine.model import JobChange

log = logging.getLogger(__name__)

PAGE = 1_000
_RETRY_SECONDS = 0.5
# With no subscriber, how long notifications are gathered before the log is read.
_GATHER_SECONDS = 0.02


class LoggedEvent(Protocol):
    """A row of the event log, decoded on demand (only if read with its document)."""

    @property
    def resource_version(self) -> int: ...

    @property
    def object_id(self) -> str: ...

    def change(self) -> JobChange: ...


# (after, upto, limit, docs) -> the logged events with after < rv <= upto, in order, with
# their documents when `docs`.
Fetch = Callable[[int, int, int, bool], Awaitable[Sequence[LoggedEvent]]]


def _nobody_cares(object_id: str) -> bool:
    return False


def _ignore(change: JobChange) -> None:
    return None


def _no_horizon(resource_version: int) -> None:
    return None


class ReplicatedBus:
    def __init__(self, inner: EventBus, fetch: Fetch, *, own: set[int]) -> None:
        """`own` holds the resource versions this replica's transactions wrote, filled
        in before they commit, so that the pump tells its own rows from others' even
        when it reads them before the committer has handed them over."""
        self._inner = inner
        self._fetch = fetch
        self._own = own
        self._local: dict[int, JobChange] = {}
        self._cursor = 0  # every change at or below it went out
        self._known = 0  # every change at or below it is final in the log
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self.interested: Callable[[str], bool] = _nobody_cares
        self.on_foreign: Callable[[JobChange], None] = _ignore
        # A local commit of this resource version: find out the horizon (notified).
        self.on_local: Callable[[int], None] = _no_horizon

    def start(self, position: int) -> None:
        """Publish every change after `position` (the log's end when this replica
        starts: watchers that want older ones replay them from the log)."""
        self._cursor = self._known = position
        self._pump = asyncio.create_task(self._run(), name="dagwire replicated bus")

    @property
    def position(self) -> int:
        return self._cursor

    def notified(self, resource_version: int) -> None:
        """The log holds every change up to `resource_version` (another replica's
        commit, or a poll of the log's end)."""
        if resource_version > self._known:
            self._known = resource_version
            self._wake.set()

    # --- EventBus ---------------------------------------------------------------------

    def publish(self, change: JobChange) -> None:
        """A change this replica committed; goes out in its turn."""
        version = change.resource_version
        if version <= self._cursor:
            self._own.discard(version)  # the pump read it from the log already
            return
        self._local[version] = change
        if version <= self._known:
            self._wake.set()
        else:
            self.on_local(version)

    def subscribe(self) -> Subscription:
        return self._inner.subscribe()

    def close(self) -> None:
        """End the subscriptions. The pump runs on until `stop()`: while the server
        shuts down, the runtime still learns of other replicas' changes to its jobs."""
        self._inner.close()

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
            self._pump = None

    @property
    def subscriber_count(self) -> int:
        return self._inner.subscriber_count

    # --- the pump ---------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._local and self._inner.subscriber_count == 0:
                await asyncio.sleep(_GATHER_SECONDS)
            self._wake.clear()
            try:
                await self._advance()
            except Exception as error:  # the database is unreachable: retry, lose nothing
                log.warning("reading the event log failed; retrying: %r", error)
                await asyncio.sleep(_RETRY_SECONDS)
                self._wake.set()

    async def _advance(self) -> None:
        while self._cursor < self._known:
            following = self._cursor + 1
            mine = self._local.pop(following, None)
            if mine is not None:
                self._own.discard(following)
                self._inner.publish(mine)
                self._cursor = following
                continue
            # Read what lies before the next change of ours (or up to what is known).
            upto = self._known
            if self._local:
                upto = min(upto, min(self._local) - 1)
            # A subscriber that comes while we read subscribed after these rows were
            # committed: its listing or replay has them.
            watched = self._inner.subscriber_count > 0
            rows = await self._fetch(self._cursor, upto, PAGE, watched)
            if not watched and any(self._wanted(row) for row in rows):
                rows = await self._fetch(self._cursor, upto, PAGE, True)
                watched = self._inner.subscriber_count > 0
            for row in rows:
                self._take(row, watched)
            if len(rows) < PAGE:
                # Everything up to `upto` is final and was read: the rest are gaps
                # (rolled back, or compacted away).
                self._cursor = max(self._cursor, upto)
                self._forget_own_below(self._cursor)

    def _wanted(self, row: LoggedEvent) -> bool:
        """Whether the runtime needs this row: another replica's change to its job."""
        version = row.resource_version
        return (
            version > self._cursor
            and version not in self._local
            and version not in self._own
            and self.interested(row.object_id)
        )

    def _take(self, row: LoggedEvent, watched: bool) -> None:
        """Publish one row of the log in its turn; `watched`: it was read with its
        document, for subscribers."""
        version = row.resource_version
        if version <= self._cursor:
            return
        mine = self._local.pop(version, None)
        if mine is not None:
            self._own.discard(version)
            self._inner.publish(mine)
        elif version in self._own:
            # Ours, read from the log before the committer handed it over (it will be
            # dropped then, being behind the cursor).
            self._own.discard(version)
            if watched:
                self._inner.publish(row.change())
        else:
            wanted = self.interested(row.object_id)
            if watched or wanted:
                change = row.change()
                if watched:
                    self._inner.publish(change)
                if wanted:
                    self.on_foreign(change)
        self._cursor = version

    def _forget_own_below(self, position: int) -> None:
        # Versions of transactions that rolled back after allocating them never show up.
        if len(self._own) > 1_000:
            stale = [version for version in self._own if version <= position]
            self._own.difference_update(stale)
