"""Fencing, with one data dir per replica (the Kubernetes shape: a survivor cannot see
the processes of a replica it takes jobs from). Replica 0 owns every job and meets a
fault while its tasks, longer than the lease, run: kill -9, SIGSTOP past its lease, or
its PostgreSQL connections cut. Whatever it still runs must be dead before a survivor
runs the same party again: no party runs twice at the same time (each holds a lock on
its party while it runs), and every party finishes exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

from tests.conftest import assert_eventually
from tests.replicas.conftest import (
    PARTIES,
    TERMINAL,
    Replicas,
    all_in,
    explained,
    job_states,
    two_task_job,
)
from tests.replicas.proxy import ThreadedProxy

LEASE = 2.0
# Longer than the lease: a party of replica 0 is still running when its jobs are taken.
TASK_SECONDS = 6

# Records "start"/"end" per process; a copy that finds its party's lock held records
# "overlap": two copies of one party running at the same time.
_LOCKED_RECORD = (
    'key="$DAGWIRE_JOB_ID $TASK_ID $DAGWIRE_DOMAIN_ID"; '
    'exec 9>>"$LOCKS/$DAGWIRE_JOB_ID.$TASK_ID.$DAGWIRE_DOMAIN_ID"; '
    'flock -n 9 || echo "overlap $key $DAGWIRE_ATTEMPT" >> "$RECORD"; '
    'echo "start $key $DAGWIRE_ATTEMPT" >> "$RECORD"; '
    'sleep "$DAGWIRE_TASK_INPUT_CONFIG"; '
    'echo "end $key $DAGWIRE_ATTEMPT" >> "$RECORD"'
)


@dataclass(frozen=True)
class Tally:
    """What the record says, per (job, task, domain)."""

    overlapping: int  # parties that ran twice at the same time
    finished_twice: int  # parties whose process finished more than once
    unfinished: int  # parties that never finished
    relaunched: int  # parties started more than once (one after the other is fine)


def tally(record: Path, expected: set[tuple[str, ...]]) -> Tally:
    lines = [line.split() for line in record.read_text().splitlines()]
    counts: dict[str, Counter[tuple[str, ...]]] = {
        kind: Counter(tuple(line[1:4]) for line in lines if line[0] == kind)
        for kind in ("start", "end", "overlap")
    }
    return Tally(
        overlapping=len(counts["overlap"]),
        finished_twice=sum(1 for n in counts["end"].values() if n > 1),
        unfinished=len(expected - set(counts["end"])),
        relaunched=sum(1 for n in counts["start"].values() if n > 1),
    )


@pytest.fixture
def lease_seconds() -> float:
    return LEASE


@pytest.fixture
async def fenced(replicas: Replicas) -> AsyncIterator[Replicas]:
    """The replicas, each with its own data dir, running the locking record image."""
    yield with_locking_images(replicas)


def with_locking_images(replicas: Replicas) -> Replicas:
    """Each replica with its own data dir, running the locking record image."""
    locks = replicas.workdir / "locks"
    locks.mkdir()
    images = replicas.workdir / "locking-images.yaml"
    image = {
        "command": ["/bin/sh", "-c", _LOCKED_RECORD],
        "env": {"RECORD": str(replicas.record), "LOCKS": str(locks)},
    }
    images.write_text(yaml.safe_dump({"images": {"record": image}}))
    replicas.images = images
    replicas.data_dir_per_replica = True
    return replicas


async def run_with_fault(
    group: Replicas,
    fault: Callable[[], Awaitable[None]],
    *,
    jobs: int = 8,
    task_seconds: float = TASK_SECONDS,
    timeout: float = 60,
) -> Tally:
    """Replica 0 creates (and owns) the jobs; once every first party runs, the fault."""
    job_ids = [f"fence-{index:02d}" for index in range(jobs)]
    expected = {
        (job, task, domain)
        for job in job_ids
        for task in ("prepare", "train")
        for domain in PARTIES
    }
    requests = [two_task_job(job, first=task_seconds, second=0.2) for job in job_ids]
    for request in requests:
        reply = await group.stub(0).CreateJob(request)
        assert reply.status.code == 0, reply.status.message
    await assert_eventually(
        lambda: group.record.read_text() if group.record.exists() else "",
        lambda text: text.count("start ") == len(job_ids) * len(PARTIES),
        timeout=timeout / 2,
        what="every first party to start",
    )
    await fault()
    states = await assert_eventually(
        lambda: job_states(group.stub(1), job_ids),
        lambda states: all_in(states, TERMINAL),
        timeout=timeout,
        what="every job to finish",
    )
    result = tally(group.record, expected)
    print(f"\nfencing tally: {result}")
    assert Counter(states.values()) == {"Succeeded": len(job_ids)}
    assert any("taking over jobs" in s.log_path.read_text() for s in group.servers[1:])
    return result


def assert_fenced(result: Tally) -> None:
    assert result.overlapping == 0, "a party ran twice at the same time"
    assert result.finished_twice == 0, "a party finished twice"
    assert result.unfinished == 0, "a party never finished"


@pytest.mark.timeout(120)
async def test_a_killed_replicas_parties_die_before_a_survivor_runs_them_again(
    fenced: Replicas,
) -> None:
    fenced.start(3)

    async def kill() -> None:
        fenced.servers[0].kill()

    with explained(fenced):
        assert_fenced(await run_with_fault(fenced, kill))


@pytest.mark.timeout(120)
async def test_a_replica_stalled_past_its_lease_runs_nothing_a_survivor_runs(
    fenced: Replicas,
) -> None:
    fenced.start(3)
    process = fenced.servers[0]._process
    assert process is not None

    async def stall() -> None:
        os.kill(process.pid, signal.SIGSTOP)
        try:
            # Past the lease and the survivor's relaunch: both copies would overlap now.
            await asyncio.sleep(4 * LEASE + 2)
        finally:
            os.kill(process.pid, signal.SIGCONT)

    with explained(fenced):
        assert_fenced(await run_with_fault(fenced, stall))
        await assert_eventually(
            lambda: fenced.servers[0].log_path.read_text(),
            lambda text: "lease expired; re-registering" in text,
            timeout=10,
            what="the stalled replica to notice it lost its lease",
        )


@pytest.mark.timeout(120)
async def test_a_replica_cut_off_from_postgresql_runs_nothing_a_survivor_runs(
    fenced: Replicas,
) -> None:
    target = urlsplit(fenced.url)
    proxy = ThreadedProxy(target.hostname or "127.0.0.1", target.port or 5432)
    netloc = f"{target.username}@127.0.0.1:{proxy.port}"
    fenced.options[0] = ("--database-url", urlunsplit(target._replace(netloc=netloc)))
    fenced.start(3)
    try:
        with explained(fenced):
            assert_fenced(await run_with_fault(fenced, proxy.close))
    finally:
        proxy.stop()


@pytest.mark.timeout(120)
async def test_a_replica_stopped_gracefully_hands_over_without_running_a_party_twice(
    fenced: Replicas,
) -> None:
    """SIGTERM hands the jobs over at once, while the stopped replica's parties run on
    until its fence deadline: the takers wait for it."""
    fenced.start(3)

    async def stop() -> None:
        await asyncio.to_thread(fenced.servers[0].stop)

    with explained(fenced):
        assert_fenced(await run_with_fault(fenced, stop))


@pytest.mark.timeout(120)
async def test_a_replica_that_wakes_to_a_lost_lease_terminates_its_parties_first(
    fenced: Replicas,
) -> None:
    """Replica 0's own fence lasts long (8 s past its lease), so its parties are still
    running when it wakes from a stall the others took its jobs during: it terminates
    them itself (SIGTERM, exit status 143) rather than leaving them to its watchdog."""
    fenced.options[0] = ("--fence-seconds", "8")
    fenced.start(3)
    process = fenced.servers[0]._process
    assert process is not None

    async def stall() -> None:
        os.kill(process.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(2 * LEASE)  # past the lease, well before its fence
        finally:
            os.kill(process.pid, signal.SIGCONT)

    with explained(fenced):
        assert_fenced(await run_with_fault(fenced, stall))
        tasks = fenced.workdir / "replica-0" / "data" / "tasks"
        firsts = [
            tasks / job / "prepare" / domain / "1"
            for job in fenced_jobs(fenced)
            for domain in PARTIES
        ]
        assert firsts, "replica 0 ran the first parties"
        for attempt in firsts:
            assert not (attempt / "fenced").exists(), f"{attempt}: left to its watchdog"
            assert (attempt / "exit_status").read_text() == "143", attempt


def fenced_jobs(group: Replicas) -> list[str]:
    return sorted(path.name for path in (group.workdir / "replica-0" / "data" / "tasks").iterdir())
