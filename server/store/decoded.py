"""Decoded jobs shared by every read of the same stored version.

A job's stored version is named by its resource_version (the position of its last event,
unique across jobs and never reused), so a job read again at the same resource_version is
the same job: 300 watches opened on a stored 10,000-task job decode it once, not 300
times (0.3 s of CPU each, holding the GIL and so the event loop). Sharing the decoded
object also lets the per-object memos downstream (its wire encoding, its party domains)
serve every reader. Jobs are frozen, so readers cannot change what another one holds.

The cache is bounded by the size of the stored form it holds (a proxy for memory), kept
least recently used first, one version per job; reads run in reader threads, hence the
lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from dagwire.server.engine.model import Job
from dagwire.server.store.codec import JobParts

# Stored bytes of the jobs kept decoded. A 10,000-task two-party job is 3.3 MB stored and
# 16 MB decoded (tracemalloc): this bound holds about 80 MB of decoded jobs.
DEFAULT_MAX_BYTES = 16 << 20


def stored_size(parts: JobParts) -> int:
    """The size of a job's stored form, the weight of its decoded copy."""
    return len(parts.head) + len(parts.spec) + sum(len(task) for task in parts.tasks)


class DecodedJobs:
    """job id -> (resource_version, decoded job, weight), least recently used first."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._max_bytes = max_bytes
        self._held = 0
        self._entries: OrderedDict[str, tuple[int, Job, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: str, resource_version: int) -> Job | None:
        """The job as stored at `resource_version`, if it is kept decoded."""
        with self._lock:
            entry = self._entries.get(job_id)
            if entry is None or entry[0] != resource_version:
                return None
            self._entries.move_to_end(job_id)
            return entry[1]

    def put(self, job: Job, weight: int) -> None:
        """Keep `job` (replacing any other version of it), evicting the least recently
        used beyond the bound; a job heavier than the whole bound is not kept."""
        with self._lock:
            old = self._entries.pop(job.job_id, None)
            if old is not None:
                self._held -= old[2]
            if weight > self._max_bytes:
                return
            self._entries[job.job_id] = (job.resource_version, job, weight)
            self._held += weight
            while self._held > self._max_bytes:
                _, (_, _, evicted) = self._entries.popitem(last=False)
                self._held -= evicted

    @property
    def held_bytes(self) -> int:
        return self._held
