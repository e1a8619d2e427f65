"""Fencing on Ray, with one data dir per replica: the faults of test_fencing (kill -9,
SIGSTOP past the lease, PostgreSQL cut off) with every replica running its parties on
one Ray cluster (--executor ray). A Ray task lives as long as its driver, the replica
that submitted it: a stalled or cut-off replica's parties would run on while a survivor
runs them again. Whatever replica 0 still runs must be dead before a survivor runs the
same party again: no party runs twice at the same time, and each finishes once."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from dagwire.server.executors.ray import TERMINATED_EXIT_CODE
from tests.executors.ray_cluster import RayCluster, needs_ray, ray_cluster_running
from tests.replicas.conftest import PARTIES, Replicas, explained
from tests.replicas.proxy import ThreadedProxy
from tests.replicas.test_fencing import (
    Tally,
    assert_fenced,
    run_with_fault,
    with_locking_images,
)

LEASE = 2.0
# Longer than the lease and than a Ray worker takes to start, so that replica 0's first
# parties still run when a survivor would run them again.
TASK_SECONDS = 12
# Few jobs: each party is a Ray worker process, and the machine runs them all at once.
JOBS = 3
# As many logical CPUs as parties may run at once (a party asks for one): replica 0's
# and, without fencing, the survivors' copies of them.
CPUS = 4 * JOBS

pytestmark = [needs_ray, pytest.mark.timeout(150)]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    with ray_cluster_running(CPUS) as cluster:
        yield cluster


@pytest.fixture
def lease_seconds() -> float:
    return LEASE


@pytest.fixture
async def on_ray(replicas: Replicas, ray_cluster: RayCluster) -> AsyncIterator[Replicas]:
    """Replicas with a data dir each, running the locking record image on Ray."""
    with_locking_images(replicas)
    replicas.shared_options = ("--executor", "ray", "--ray-address", ray_cluster.address)
    yield replicas


async def test_a_killed_replicas_parties_on_ray_die_before_a_survivor_runs_them_again(
    on_ray: Replicas,
) -> None:
    on_ray.start(3)

    async def kill() -> None:
        on_ray.servers[0].kill()

    with explained(on_ray):
        assert_fenced(await faulted(on_ray, kill))


async def test_a_replica_stalled_past_its_lease_runs_nothing_on_ray_a_survivor_runs(
    on_ray: Replicas,
) -> None:
    on_ray.start(3)
    process = on_ray.servers[0]._process
    assert process is not None

    async def stall() -> None:
        os.kill(process.pid, signal.SIGSTOP)
        try:
            # Past the lease and the survivor's relaunch: both copies would overlap now.
            await asyncio.sleep(4 * LEASE + 2)
        finally:
            os.kill(process.pid, signal.SIGCONT)

    with explained(on_ray):
        assert_fenced(await faulted(on_ray, stall))


async def test_a_replica_cut_off_from_postgresql_runs_nothing_on_ray_a_survivor_runs(
    on_ray: Replicas,
) -> None:
    target = urlsplit(on_ray.url)
    proxy = ThreadedProxy(target.hostname or "127.0.0.1", target.port or 5432)
    netloc = f"{target.username}@127.0.0.1:{proxy.port}"
    on_ray.options[0] = ("--database-url", urlunsplit(target._replace(netloc=netloc)))
    on_ray.start(3)
    try:
        with explained(on_ray):
            assert_fenced(await faulted(on_ray, proxy.close))
    finally:
        proxy.stop()


async def faulted(group: Replicas, fault: Callable[[], Awaitable[None]]) -> Tally:
    return await run_with_fault(group, fault, jobs=JOBS, task_seconds=TASK_SECONDS, timeout=90)


async def test_a_replica_that_wakes_to_a_lost_lease_cancels_its_ray_parties_first(
    on_ray: Replicas,
) -> None:
    """Replica 0's own fence lasts long (8 s past its lease), so its parties still run
    when it wakes from a stall the others took its jobs during: it cancels them itself
    (recorded as terminated) rather than leaving them to their watchdogs."""
    on_ray.options[0] = ("--fence-seconds", "8")
    on_ray.start(3)
    process = on_ray.servers[0]._process
    assert process is not None

    async def stall() -> None:
        os.kill(process.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(2 * LEASE)  # past the lease, well before its fence
        finally:
            os.kill(process.pid, signal.SIGCONT)

    with explained(on_ray):
        assert_fenced(await faulted(on_ray, stall))
        tasks = on_ray.workdir / "replica-0" / "data" / "tasks"
        firsts = [
            tasks / job / "prepare" / domain / "1"
            for job in sorted(path.name for path in tasks.iterdir())
            for domain in PARTIES
        ]
        assert firsts, "replica 0 ran the first parties"
        for attempt in firsts:
            assert not (attempt / "fenced").exists(), f"{attempt}: left to its watchdog"
            assert (attempt / "exit_status").read_text() == str(TERMINATED_EXIT_CODE), attempt
