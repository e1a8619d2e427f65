"""Replicas as users run them: `python -m dagwire.server` processes on one throwaway
PostgreSQL database (skipped, saying why, where no PostgreSQL answers on
127.0.0.1:5432), sharing one data dir as replicas on one machine (or on a shared
volume) do, so that a replica taking over a dead one's jobs finds their processes and
exit records."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.engine.model import ChangeType, Job
from dagwire.server.store.sql import SqlJobStore
from tests.processes import ServerProcess
from tests.store.conftest import PG_ADMIN_DSN, _create_pg_database, _drop_pg_database

TERMINAL = {"Succeeded", "Failed", "Cancelled", "ApprovalReject"}
PARTIES = ("alice", "bob")


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh database for the test, dropped afterwards."""
    database = await _create_pg_database()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{database}"
    finally:
        await _drop_pg_database(database)


def record_images(workdir: Path, record: Path) -> Path:
    """`record` appends "job task domain attempt" per process start, then sleeps
    task_input_config seconds: the record of every launch, whoever launched it."""
    path = workdir / "images.yaml"
    script = (
        'echo "$DAGWIRE_JOB_ID $TASK_ID $DAGWIRE_DOMAIN_ID $DAGWIRE_ATTEMPT" >> "$RECORD"; '
        '[ "$DAGWIRE_TASK_INPUT_CONFIG" = 0 ] || sleep "$DAGWIRE_TASK_INPUT_CONFIG"'
    )
    path.write_text(
        f"images:\n  record:\n    command: [/bin/sh, -c, '{script}']\n"
        f"    env: {{RECORD: '{record}'}}\n"
    )
    return path


def two_task_job(job_id: str, first: float = 0, second: float = 0) -> pb.CreateJobRequest:
    """prepare -> train, both parties in each, on the `record` image."""
    parties = [pb.Party(domain_id=domain) for domain in PARTIES]
    return pb.CreateJobRequest(
        job_id=job_id,
        initiator="alice",
        max_parallelism=2,
        tasks=[
            pb.Task(
                alias="prepare",
                task_id="prepare",
                app_image="record",
                parties=parties,
                task_input_config=str(first),
            ),
            pb.Task(
                alias="train",
                task_id="train",
                app_image="record",
                parties=parties,
                dependencies=["prepare"],
                task_input_config=str(second),
            ),
        ],
    )


def noop_job(job_id: str) -> pb.CreateJobRequest:
    parties = [pb.Party(domain_id=domain) for domain in PARTIES]
    return pb.CreateJobRequest(
        job_id=job_id,
        initiator="alice",
        max_parallelism=2,
        tasks=[
            pb.Task(alias="prepare", task_id="prepare", app_image="dagwire-noop", parties=parties),
            pb.Task(
                alias="train",
                task_id="train",
                app_image="dagwire-noop",
                parties=parties,
                dependencies=["prepare"],
            ),
        ],
    )


@dataclass
class Replicas:
    """N replica processes on one database and one data dir."""

    workdir: Path
    url: str
    record: Path
    lease_seconds: float
    # One data dir per replica (the Kubernetes shape) instead of a shared one; another
    # image file; options of some replicas (by index), after the others (they win).
    data_dir_per_replica: bool = False
    images: Path | None = None
    options: dict[int, tuple[str, ...]] = field(default_factory=dict)
    # Options of every replica (before those of some: theirs win).
    shared_options: tuple[str, ...] = ()
    servers: list[ServerProcess] = field(default_factory=list)
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def start(self, count: int) -> None:
        images = self.images or record_images(self.workdir, self.record)
        for index in range(count):
            home = self.workdir / f"replica-{index}"
            home.mkdir(exist_ok=True)
            data = home / "data" if self.data_dir_per_replica else self.workdir / "shared-data"
            server = ServerProcess(
                home,
                "--data-dir",
                str(data),
                "--database-url",
                self.url,
                "--lease-seconds",
                str(self.lease_seconds),
                "--replica-id",
                f"replica-{index}",
                # One process per replica: these tests kill and stop replicas one by one
                # (--workers N is tested in tests/workers/).
                "--workers",
                "1",
                "--app-images",
                str(images),
                "--heartbeat-interval",
                "0.5",
                # The record file is shared by the replicas' sandboxes.
                "--sandbox-share",
                str(self.workdir),
                *self.shared_options,
                *self.options.get(index, ()),
            ).start()
            self.servers.append(server)
            self.channels.append(grpc.aio.insecure_channel(server.address))

    def stub(self, index: int) -> job_pb2_grpc.JobServiceStub:
        return job_pb2_grpc.JobServiceStub(self.channels[index])

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()

    def logs(self) -> str:
        return "\n".join(
            f"--- {server.log_path}\n{server.log_path.read_text()[-3000:]}"
            for server in self.servers
        )

    def launches(self) -> Counter[tuple[str, str, str]]:
        """(job, task, domain) -> how many processes started for it."""
        if not self.record.exists():
            return Counter()
        return Counter(
            (job, task, domain)
            for job, task, domain, _attempt in (
                line.split() for line in self.record.read_text().splitlines()
            )
        )


@pytest.fixture
def lease_seconds() -> float:
    return 10.0


@pytest.fixture
async def replicas(tmp_path: Path, pg_url: str, lease_seconds: float) -> AsyncIterator[Replicas]:
    group = Replicas(tmp_path, pg_url, tmp_path / "launches.log", lease_seconds)
    try:
        yield group
    finally:
        await group.close()


class Watcher:
    """A WatchJob stream on one replica, recording every event but heartbeats."""

    def __init__(self, stub: job_pb2_grpc.JobServiceStub) -> None:
        self.events: list[pb.WatchJobEventResponse] = []
        self.error: BaseException | None = None
        self._ready = asyncio.Event()
        self._task = asyncio.create_task(self._run(stub))

    async def _run(self, stub: job_pb2_grpc.JobServiceStub) -> None:
        try:
            async for event in stub.WatchJob(pb.WatchJobRequest()):
                if event.type == pb.HEARTBEAT:
                    self._ready.set()  # the bookmark after the (empty) initial listing
                    continue
                self.events.append(event)
        except grpc.aio.AioRpcError as error:
            self.error = error

    async def ready(self) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    def states(self) -> dict[str, str]:
        return {event.object.job_id: event.object.status.state for event in self.events}

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def stored_events(url: str) -> list[tuple[int, str, str]]:
    """The whole event log: (resource_version, ADDED/MODIFIED/DELETED, job)."""
    store = SqlJobStore(url)
    await store.open()
    try:
        changes = await store.changes_after(0, 1_000_000)
    finally:
        await store.close()
    names = {
        ChangeType.ADDED: "ADDED",
        ChangeType.MODIFIED: "MODIFIED",
        ChangeType.DELETED: "DELETED",
    }
    return [(c.resource_version, names[c.type], c.job.job_id) for c in changes]


async def stored_jobs(url: str) -> dict[str, Job]:
    store = SqlJobStore(url)
    await store.open()
    try:
        return {job.job_id: job for job in await store.list_jobs()}
    finally:
        await store.close()


def seen(watcher: Watcher) -> list[tuple[int, str, str]]:
    return [
        (event.resource_version, pb.EventType.Name(event.type), event.object.job_id)
        for event in watcher.events
    ]


async def job_states(stub: job_pb2_grpc.JobServiceStub, job_ids: list[str]) -> dict[str, str]:
    states: dict[str, str] = {}
    for start in range(0, len(job_ids), 500):
        reply = await stub.BatchQueryJobStatus(
            pb.BatchQueryJobStatusRequest(job_ids=job_ids[start : start + 500])
        )
        assert reply.status.code == 0, reply.status.message
        states.update({job.job_id: job.status.state for job in reply.data.jobs})
    return states


def all_in(states: dict[str, str], wanted: set[str]) -> bool:
    return bool(states) and all(state in wanted for state in states.values())


@contextlib.contextmanager
def explained(group: Replicas) -> Iterator[None]:
    """On failure, show the replicas' logs."""
    try:
        yield
    except BaseException:
        print(group.logs())
        raise
