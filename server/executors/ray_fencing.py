"""Self-fencing on Ray (the contract is dagwire.server.executors.fencing's).

A Ray task lives as long as its driver, the replica that submitted it: a replica that is
stopped (SIGSTOP) or cut off from the database keeps its parties running on the cluster
while another replica takes its jobs over and runs them again. So on Ray, too, each
party's process dies by itself once its owner stops renewing its lease:

- the keeper: one detached, named actor per cluster (`dagwire-fences` in the `dagwire`
  namespace, created by the first replica that needs it) holding each replica's fence
  deadline. It keeps deadlines on its own monotonic clock: a replica tells it how many
  seconds are left, so no two machines' wall clocks are compared;
- the pusher, in each replica's server: a FenceBoard listener that passes every renewal
  on to the keeper (the latest one only, when Ray is slow: a deadline told late only
  kills sooner);
- the watchdog, in each party's Ray task: one thread asks the keeper for the owner's
  deadline every poll, another kills the party's processes once it has passed, however
  long an answer takes. Until the keeper first answers it holds the deadline the
  launch carried (wall clock: Ray nodes must keep their clocks in step, well within the
  grace). A fenced task reports itself so (`_Ended(fenced=True)` in the Ray executor),
  and its driver leaves a `fenced` mark instead of an exit record.

Should the keeper be unreachable, the watchdogs keep the last deadline they heard, and
the parties die then: fencing fails closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagwire.server.executors.fencing import WATCHDOG_POLL_SECONDS, FenceBoard, fenced

_log = logging.getLogger(__name__)

RAY_NAMESPACE = "dagwire"
FENCE_ACTOR = "dagwire-fences"
# How long a call to the keeper may take before it is given up (and asked again).
_CALL_TIMEOUT = 5.0
# How often the watchdog's killer thread compares the clock with the deadline.
_TICK = 0.05
# Deadlines the keeper forgets: replicas gone this long (ids are unique per process).
_FORGET_AFTER = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class FenceOrder:
    """What a party's Ray task needs to fence itself: whose lease it runs under (the
    replica and its lease epoch, for the record), and that replica's fence deadline
    (time.time()) when it was launched, which holds until the keeper answers."""

    replica_id: str
    epoch: int
    deadline: float


# --- the keeper: a detached actor ------------------------------------------------------------


class FenceKeeper:
    """The body of the keeper actor: each replica's deadline on the actor's clock."""

    def __init__(self) -> None:
        self._deadlines: dict[str, float] = {}

    def renew(self, replica_id: str, seconds_left: float) -> None:
        """`replica_id` renewed its lease: its processes may run `seconds_left` more.
        A deadline never moves back (an older renewal arriving late)."""
        now = time.monotonic()
        until = now + seconds_left
        self._deadlines[replica_id] = max(until, self._deadlines.get(replica_id, until))
        for replica, deadline in list(self._deadlines.items()):
            if deadline < now - _FORGET_AFTER:
                del self._deadlines[replica]

    def remaining(self, replica_id: str) -> float | None:
        """Seconds left until `replica_id`'s deadline (negative: passed); None if it
        never renewed here (the keeper restarted, or the renewal is on its way)."""
        deadline = self._deadlines.get(replica_id)
        return None if deadline is None else deadline - time.monotonic()


@functools.cache
def _keeper_class() -> Any:
    import ray

    # No CPU: it must not wait for one. Restarted if its process dies; it then knows
    # nothing until the next renewals (a few tenths of a second), and watchdogs keep what
    # they heard meanwhile.
    return ray.remote(num_cpus=0, max_restarts=-1)(FenceKeeper)


def keeper() -> Any:
    """Blocking: the cluster's keeper, created if it is not there yet."""
    return (
        _keeper_class()
        .options(name=FENCE_ACTOR, namespace=RAY_NAMESPACE, lifetime="detached", get_if_exists=True)
        .remote()
    )


# --- the pusher: in the server ---------------------------------------------------------------


class FencePusher:
    """Passes this server's fence renewals (from its FenceBoard) on to the keeper."""

    def __init__(self, board: FenceBoard) -> None:
        self._latest: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._keeper: Any = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        board.listen(self._renewed)

    def _renewed(self, replica_id: str, until: float) -> None:
        self._latest[replica_id] = until
        self._wake.set()

    async def start(self) -> None:
        """Once connected to Ray: find (or create) the keeper and tell it what is known."""
        if self._task is None:
            await self._push()  # a failure is logged; the next renewal tries again
            self._task = asyncio.create_task(self._push_forever(), name="dagwire fence pusher")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _push_forever(self) -> None:
        while True:
            await self._wake.wait()
            await self._push()

    async def _push(self) -> None:
        self._wake.clear()
        latest = dict(self._latest)
        if not latest:
            return
        try:
            await asyncio.to_thread(self._tell, latest)
        except Exception as error:
            self._keeper = None  # found again at the next renewal
            if not self._failing:
                _log.warning("could not pass the fence deadline on to Ray: %r", error)
            self._failing = True
        else:
            self._failing = False

    def _tell(self, deadlines: dict[str, float]) -> None:
        """Blocking: the renewals, as seconds left (measured now, on this clock)."""
        import ray

        if self._keeper is None:
            self._keeper = keeper()
        now = time.time()
        calls = [
            self._keeper.renew.remote(replica, until - now) for replica, until in deadlines.items()
        ]
        ray.get(calls, timeout=_CALL_TIMEOUT)


# --- the watchdog: in a party's Ray task -----------------------------------------------------


class Watchdog:
    """Kills a party's processes once its owner's fence deadline has passed."""

    def __init__(self, order: FenceOrder) -> None:
        self._order = order
        # On time.monotonic(); from the launch until the keeper answers.
        self._deadline = time.monotonic() + (order.deadline - time.time())
        self._heard = False
        self._heard_at: float | None = None
        self._fired_at: float | None = None
        self._keeper: Any = None
        self._stop = threading.Event()
        self.fired = threading.Event()
        self._threads: list[threading.Thread] = []

    def admits(self) -> bool:
        """Asks once: whether the party may start at all (its owner's deadline may have
        passed while it waited for a worker)."""
        self._ask()
        return not fenced(self._deadline, time.monotonic())

    def start(self, kill: Callable[[], None]) -> None:
        self._threads = [
            threading.Thread(target=self._listen, name="dagwire fence listener", daemon=True),
            threading.Thread(
                target=self._guard, args=(kill,), name="dagwire fence guard", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=_CALL_TIMEOUT + 1)

    def _listen(self) -> None:
        while not self._stop.wait(WATCHDOG_POLL_SECONDS):
            self._ask()

    def _guard(self, kill: Callable[[], None]) -> None:
        # Apart from _listen, so that a slow answer never delays the kill.
        while not self._stop.wait(_TICK):
            if fenced(self._deadline, now := time.monotonic()):
                self._fired_at = now
                self.fired.set()
                kill()
                return

    def _ask(self) -> None:
        import ray

        sent = time.monotonic()
        try:
            if self._keeper is None:
                self._keeper = ray.get_actor(FENCE_ACTOR, namespace=RAY_NAMESPACE)
            remaining = ray.get(
                self._keeper.remaining.remote(self._order.replica_id), timeout=_CALL_TIMEOUT
            )
        except Exception:  # not reachable now: keep the deadline heard last
            self._keeper = None
            return
        if remaining is None:
            return
        # Counted from when the question was sent: never later than the keeper's.
        deadline = sent + remaining
        self._deadline = max(self._deadline, deadline) if self._heard else deadline
        self._heard = True
        self._heard_at = time.monotonic()

    def describe(self) -> str:
        """Why the party was fenced, for its driver's log."""
        now = self._fired_at or time.monotonic()  # when it was killed (or not started)
        heard = (
            "the keeper had never answered"
            if self._heard_at is None
            # (max: an answer may land while the guard kills)
            else f"the keeper had answered {max(0.0, now - self._heard_at):.2f}s before"
        )
        return (
            f"fenced {now - self._deadline:.2f}s after the fence deadline of replica "
            f"{self._order.replica_id} (lease epoch {self._order.epoch}); {heard}"
        )


def kill_party(root: int) -> None:
    """SIGKILL the party's processes: `root` (the command) and everything below it, and
    the rest of the worker's process group when the worker leads one (what the command
    left running in the background), but never the worker itself. They are stopped
    first, so that none forks a process the kill misses."""
    me = os.getpid()
    group = os.getpgid(0) if os.getpgid(0) == me else None
    seen: set[int] = set()
    while True:
        found = set(_party_processes(root, group)) - seen - {me}
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGSTOP)
        seen |= found
    for pid in seen:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _party_processes(root: int, group: int | None) -> list[int]:
    """`root`, the processes below it and those of process group `group` (from /proc)."""
    children: dict[int, list[int]] = {}
    members: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        if group is not None and int(fields[2]) == group:
            members.append(int(entry.name))
    found = [root]
    pending = [root]
    while pending:
        below = children.get(pending.pop(), [])
        found.extend(below)
        pending.extend(below)
    return found + members
