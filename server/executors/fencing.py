"""Self-fencing of party processes: a replica's processes die by themselves when it
stops renewing its lease, whether it was killed, stopped (SIGSTOP) or cut off from the
database, so that a replica taking its jobs over can run them again without two copies
of a party running at the same time.

Each replica has a fence deadline: the wall-clock time until which its processes may
run. The replica moves it forward after every lease renewal that succeeded (to the
renewal's send time plus the lease plus `grace`, see `deadline`), never while its lease
is in doubt, on its FenceBoard, which keeps it in a fence file, data_dir/fences/<replica>
(its modification time), and tells the board's listeners. Every party process runs
under a watchdog that kills it once the deadline has passed and leaves a `fenced` mark,
so that no one takes what is left of it (an exit record, progress) for its result:

- local (dagwire.server.executors.local): the watchdog is a loop in the wrapper shell
  that follows the attempt's `fence` link to its owner's fence file, kills the party's
  process group and leaves a `fenced` file;
- Ray (dagwire.server.executors.ray_fencing): the board's listener passes each renewal
  on to a detached actor of the cluster; a thread in each party's Ray task asks it for
  its owner's deadline, kills the party's processes and reports the attempt fenced.

A survivor therefore relaunches a party it cannot see only `fence_seconds` after it
took the job over (which is after the owner's lease expired): by then the watchdog,
which fires at most `grace` + one poll after the expiry, has killed it. Until then the
party is settling (`settling`): not reported lost, since it may still run elsewhere.
What a recovery makes of an attempt it finds is one table, `verdict`.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from dagwire.server.engine.names import directory_name_problem
from dagwire.server.executors.base import Fence, PartyExited, PartyKey

_log = logging.getLogger(__name__)

# How often a watchdog looks at its fence file (or asks for its owner's deadline).
WATCHDOG_POLL_SECONDS = 0.25
# What a fenced attempt reports: lost, with the code of a process gone without a record.
FENCED_EXIT_CODE = -1
FENCED_MESSAGE = (
    "lost with its server (its replica stopped renewing its lease, so the process was "
    "fenced: killed before another replica could run it again)"
)
# A renewal's listener: (replica id, new deadline as time.time()).
FenceListener = Callable[[str, float], None]


def grace(fence_seconds: float) -> float:
    """How long after its lease expires a replica's processes may still run, so that
    they are surely dead `fence_seconds` after the expiry (one poll, and as much again
    for the kill and a late look)."""
    return max(0.0, fence_seconds - 2 * WATCHDOG_POLL_SECONDS)


def deadline(sent_wall: float, lease_seconds: float, fence_seconds: float) -> float:
    """The fence deadline after a lease renewal sent at `sent_wall` (time.time())."""
    return sent_wall + lease_seconds + grace(fence_seconds)


def fenced(fence_deadline: float, now: float) -> bool:
    """Whether a process under `fence_deadline` must be dead at `now` (same clock)."""
    return now >= fence_deadline


def settling(fence: Fence | None, now: float) -> float:
    """How long (seconds) a recovery still waits before it reports a party it found
    nowhere lost: until its previous owner's processes are surely dead (`now` and
    `Fence.settled_at` are time.monotonic()). 0 when there is nothing to wait for."""
    return 0.0 if fence is None else max(0.0, fence.settled_at - now)


class Verdict(enum.Enum):
    """What a recovery makes of an attempt it is asked about."""

    FENCED = "fenced"  # its watchdog killed it: lost, whatever else it left
    EXITED = "exited"  # it recorded its exit: that is its result
    RUNNING = "running"  # it still runs where this executor can follow it
    SETTLING = "settling"  # found nowhere, but it may still run elsewhere: wait
    LOST = "lost"  # found nowhere, and surely dead: relaunch it


def verdict(*, fenced_mark: bool, exit_recorded: bool, running: bool, wait: float) -> Verdict:
    """The attempt's verdict from what is known of it. A process still running is
    followed even when fenced (its watchdog is killing it: its end is reported then);
    a fenced mark outweighs an exit record (written by a process the fence cut short,
    or by a server that came back after its jobs were taken)."""
    if running:
        return Verdict.RUNNING
    if fenced_mark:
        return Verdict.FENCED
    if exit_recorded:
        return Verdict.EXITED
    return Verdict.SETTLING if wait > 0 else Verdict.LOST


def fenced_exit(key: PartyKey) -> PartyExited:
    """The report of an attempt its watchdog killed."""
    return PartyExited(key, FENCED_EXIT_CODE, FENCED_MESSAGE, lost=True)


class FenceBoard:
    """The fence deadlines of the replicas running processes from one data dir: on
    file for the local executor's watchdogs, and told to listeners (the Ray executor,
    which passes them on to its cluster)."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir.absolute() / "fences"
        self._listeners: list[FenceListener] = []
        self._deadlines: dict[str, float] = {}

    def listen(self, listener: FenceListener) -> None:
        """Call `listener` at every renewal from now on."""
        self._listeners.append(listener)

    def deadline(self, replica_id: str) -> float | None:
        """`replica_id`'s latest deadline (time.time()) set here, if any."""
        return self._deadlines.get(replica_id)

    def file(self, replica_id: str) -> Path:
        name = replica_id
        if directory_name_problem(replica_id) is not None:
            name = hashlib.sha256(replica_id.encode()).hexdigest()
        return self.directory / name

    def renew(self, replica_id: str, until: float) -> None:
        """Let `replica_id`'s processes run until `until` (time.time())."""
        path = self.file(replica_id)
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            path.touch()
        os.utime(path, (until, until))
        self._deadlines[replica_id] = until
        for listener in self._listeners:
            try:
                listener(replica_id, until)
            except Exception:  # a listener's trouble must not stop the renewal
                _log.exception("a fence listener failed")
