"""Self-fencing of party processes: a replica's processes die by themselves when it
stops renewing its lease, whether it was killed, stopped (SIGSTOP) or cut off from the
database, so that a replica taking its jobs over can run them again without two copies
of a party running at the same time.

Each replica has a fence file, data_dir/fences/<replica>, whose modification time is
its fence deadline: the wall-clock time until which its processes may run. The replica
moves it forward after every lease renewal that succeeded (to the renewal's send time
plus the lease plus `grace`, see `deadline`), never while its lease is in doubt. Every
party process is started under a watchdog (in the local executor's wrapper shell) that
follows the attempt's `fence` link to its owner's fence file and kills the party's whole
process group once the deadline has passed, leaving a `fenced` marker so that no one
takes what is left of it (an exit record, progress) for the party's result.

A survivor therefore relaunches a party it cannot see only `fence_seconds` after it
took the job over (which is after the owner's lease expired): by then the watchdog,
which fires at most `grace` + one poll after the expiry, has killed it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dagwire.server.engine.names import directory_name_problem

# How often a watchdog looks at its fence file.
WATCHDOG_POLL_SECONDS = 0.25


def grace(fence_seconds: float) -> float:
    """How long after its lease expires a replica's processes may still run, so that
    they are surely dead `fence_seconds` after the expiry (one poll, and as much again
    for the kill and a late look)."""
    return max(0.0, fence_seconds - 2 * WATCHDOG_POLL_SECONDS)


def deadline(sent_wall: float, lease_seconds: float, fence_seconds: float) -> float:
    """The fence deadline after a lease renewal sent at `sent_wall` (time.time())."""
    return sent_wall + lease_seconds + grace(fence_seconds)


class FenceBoard:
    """The fence files of the replicas running processes from one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir.absolute() / "fences"

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
