"""What one party's process cost: CPU time, peak memory, wall time, exit, over time.

Measured by the local executor's reaper (dagwire.server.executors.reaper) from the
kernel's accounting of the process tree, recorded with the exit of its attempt
(store.usage), shown on a step (GetRun), by GetStepStatistics and at PaddleFlow's
statistics paths.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Bounds on what a record may hold, whatever the file it was read from says.
MAX_SAMPLES = 240


@dataclass(frozen=True, slots=True)
class UsageSample:
    """The process tree at one moment: cumulative CPU seconds and resident bytes."""

    time: float  # seconds since the epoch
    cpu_seconds: float
    rss_bytes: int


@dataclass(frozen=True, slots=True)
class ProcessUsage:
    """One attempt of one party's process. `complete` is False when the process ended
    without its reaper's final record (killed with its whole group): the figures are then
    those of the last sample."""

    start_time: float  # seconds since the epoch
    end_time: float
    wall_seconds: float
    user_seconds: float
    system_seconds: float
    peak_rss_bytes: int
    exit_code: int
    complete: bool
    sample_interval: float = 0.0
    samples: tuple[UsageSample, ...] = ()

    @property
    def cpu_seconds(self) -> float:
        return self.user_seconds + self.system_seconds

    def to_json(self) -> dict[str, object]:
        return {
            "complete": self.complete,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "wall_seconds": self.wall_seconds,
            "user_seconds": self.user_seconds,
            "system_seconds": self.system_seconds,
            "peak_rss_bytes": self.peak_rss_bytes,
            "exit_code": self.exit_code,
            "sample_interval": self.sample_interval,
            "samples": [[s.time, s.cpu_seconds, s.rss_bytes] for s in self.samples],
        }

    @staticmethod
    def from_json(document: object) -> ProcessUsage | None:
        """A record from its JSON form, or None when it is not one (a file cut short);
        numbers are checked to be finite and not negative."""
        if not isinstance(document, Mapping):
            return None
        try:
            samples = document.get("samples", [])
            if not isinstance(samples, Sequence):
                return None
            return ProcessUsage(
                start_time=_number(document["start_time"]),
                end_time=_number(document["end_time"]),
                wall_seconds=_number(document["wall_seconds"]),
                user_seconds=_number(document["user_seconds"]),
                system_seconds=_number(document["system_seconds"]),
                peak_rss_bytes=int(_number(document["peak_rss_bytes"])),
                exit_code=int(document["exit_code"]),
                complete=document["complete"] is True,
                sample_interval=_number(document.get("sample_interval", 0.0)),
                samples=tuple(
                    UsageSample(_number(t), _number(cpu), int(_number(rss)))
                    for t, cpu, rss in samples[-MAX_SAMPLES:]
                ),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"not a finite, non-negative number: {value!r}")
    return number


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """A stored ProcessUsage and the attempt it belongs to."""

    job_id: str
    task_id: str
    domain_id: str
    attempt: int
    usage: ProcessUsage
