"""Job requests the benchmarks send, and stored jobs seeded straight into a data dir.

Seeding goes through the server's own code: jobs are built by the engine's reducer
(create_job, then the executor reports that finish them) and written with the store's
own write path (SqlJobStore.apply_writes, which insert_job wraps, a thousand jobs per
transaction) into the data dir's SQLite file before the server starts. That is the
stored form the server itself writes, without paying an RPC per job.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.server.engine import reducer
from dagwire.server.engine.model import Job, JobSpec, JobState, PartySpec, TaskSpec
from dagwire.server.store.base import InsertJob
from dagwire.server.store.sql import SqlJobStore

NOOP_IMAGE = "dagwire-noop"
DB_NAME = "dagwire.db"  # what ServerConfig.store_url names inside the data dir
PARTIES = ("alice", "bob")
_HASH = re.compile(r"[0-9a-f]{16}")
SEED_BATCH = 1_000


# --- requests -------------------------------------------------------------------------


def two_task_job(job_id: str, image: str = NOOP_IMAGE) -> pb.CreateJobRequest:
    """The shape of Kuscia's documented example: psi then split, parties alice and bob."""
    parties = [pb.Party(domain_id=domain, role="partner") for domain in PARTIES]
    return pb.CreateJobRequest(
        job_id=job_id,
        initiator="alice",
        max_parallelism=2,
        tasks=[
            pb.Task(alias="psi", app_image=image, parties=parties, task_input_config="{}"),
            pb.Task(
                alias="split",
                app_image=image,
                parties=parties,
                dependencies=["psi"],
                task_input_config="{}",
            ),
        ],
    )


def dag_job(job_id: str, shape: str, size: int, image: str) -> pb.CreateJobRequest:
    """A DAG of `size` one-party tasks: wide (independent), chain (each after the
    previous) or diamond (10 layers, each task after every task of the layer before)."""
    party = [pb.Party(domain_id="alice", role="worker")]
    names = [f"t{i:05d}" for i in range(size)]
    dependencies: list[list[str]]
    if shape == "wide":
        dependencies = [[] for _ in names]
    elif shape == "chain":
        dependencies = [[]] + [[names[i - 1]] for i in range(1, size)]
    elif shape == "diamond":
        width = max(size // 10, 1)
        dependencies = [
            names[(i // width - 1) * width : (i // width) * width] if i >= width else []
            for i in range(size)
        ]
    else:
        raise ValueError(f"unknown DAG shape {shape!r}")
    return pb.CreateJobRequest(
        job_id=job_id,
        initiator="alice",
        max_parallelism=size,
        tasks=[
            pb.Task(alias=name, app_image=image, parties=party, dependencies=deps)
            for name, deps in zip(names, dependencies, strict=True)
        ],
    )


# --- seeding --------------------------------------------------------------------------


def _seed_spec(index: int) -> JobSpec:
    parties = tuple(PartySpec(domain, "partner") for domain in PARTIES)
    return JobSpec(
        job_id=seed_job_id(index),
        initiator="alice",
        max_parallelism=2,
        tasks=(
            TaskSpec("psi", "psi", NOOP_IMAGE, parties, task_input_config="{}"),
            TaskSpec("split", "split", NOOP_IMAGE, parties, ("psi",), task_input_config="{}"),
        ),
    )


def seed_job_id(index: int) -> str:
    return f"seed-{index:07d}"


def finished_job(index: int, now: datetime) -> Job:
    """A job as the server stores it once both tasks ran: created, then every party of
    every launched task reported started and exited 0, until the job succeeded."""
    outcome = reducer.create_job(_seed_spec(index), now, frozenset())
    job = outcome.job
    while not job.state.is_terminal:
        launches = [e for e in outcome.effects if isinstance(e, reducer.LaunchTask)]
        if not launches:
            raise RuntimeError(f"seed job stuck in {job.state}")
        reports: list[reducer.Command] = []
        for launch in launches:
            for party in job.spec.task(launch.alias).parties:
                reports.append(
                    reducer.ProcessStarted(launch.alias, launch.attempt, party.domain_id)
                )
                reports.append(
                    reducer.ProcessExited(launch.alias, launch.attempt, party.domain_id, 0)
                )
        effects: list[reducer.Effect] = []
        for report in reports:
            outcome = reducer.apply(job, report, now)
            job = outcome.job
            effects.extend(outcome.effects)
        outcome = reducer.Outcome(job, tuple(effects))
    assert job.state is JobState.SUCCEEDED
    return job


async def _insert(db: Path, start: int, stop: int) -> None:
    store = SqlJobStore(f"sqlite+aiosqlite:///{db}")
    await store.open()
    try:
        now = datetime.now(UTC)
        for first in range(start, stop, SEED_BATCH):
            # insert_job is apply_writes with one InsertJob; a thousand per transaction
            # is the same code and the same rows, at a fraction of the cost.
            writes = [
                InsertJob(finished_job(i, now)) for i in range(first, min(first + SEED_BATCH, stop))
            ]
            for result in await store.apply_writes(writes):
                if isinstance(result, Exception):
                    raise result
    finally:
        # Disposing the last connection checkpoints the WAL into the main file, so the
        # file alone is a complete copy.
        await store.close()


class SeedCache:
    """Data dirs holding N finished jobs, built once (incrementally: the 10k database is
    the 1k one plus 9k more) and copied for each server that needs one.

    Built databases are kept between runs under the system temp dir, keyed by a hash of
    the code that decides their content (engine, store, this file), so that only the
    first `make bench` on a machine pays for seeding 100k jobs.
    """

    def __init__(self, root: Path | None = None) -> None:
        # Only the default location is ours to prune; a given root is used as it is.
        self._owns_parent = root is None
        self._root = root or Path(tempfile.gettempdir()) / "dagwire-bench-seeds" / _code_hash()
        self.seconds_spent = 0.0
        self.jobs_inserted = 0

    async def database(self, count: int) -> Path:
        target = self._root / f"{count}.db"
        plan = self._plan(count)
        if plan is None:
            return target
        work, start = plan
        began = time.perf_counter()
        await _insert(work, start, count)
        self.seconds_spent += time.perf_counter() - began
        self.jobs_inserted += count - start
        return self._finish(work, target)

    def _plan(self, count: int) -> tuple[Path, int] | None:
        """None when the database exists; else the file to fill and the first index."""
        if (self._root / f"{count}.db").exists():
            return None
        if self._owns_parent and not self._root.exists() and self._root.parent.exists():
            # Databases seeded by other versions of the code are of no use any more.
            for stale in self._root.parent.iterdir():
                if stale.is_dir() and _HASH.fullmatch(stale.name):
                    shutil.rmtree(stale, ignore_errors=True)
        self._root.mkdir(parents=True, exist_ok=True)
        smaller = sorted(
            (
                int(p.stem)
                for p in self._root.glob("*.db")
                if p.stem.isdigit() and int(p.stem) < count
            ),
            reverse=True,
        )
        work = self._root / f"{count}.db.building"
        work.unlink(missing_ok=True)
        start = 0
        if smaller:
            shutil.copyfile(self._root / f"{smaller[0]}.db", work)
            start = smaller[0]
        return work, start

    @staticmethod
    def _finish(work: Path, target: Path) -> Path:
        for leftover in (Path(f"{work}-wal"), Path(f"{work}-shm")):
            leftover.unlink(missing_ok=True)
        work.replace(target)
        return target

    async def data_dir(self, count: int, into: Path) -> Path:
        """A fresh data dir holding a copy of the database with `count` jobs."""
        source = await self.database(count) if count > 0 else None
        return _copy_into(source, into)


def latest_resource_version(data_dir: Path) -> int:
    with _read_only(data_dir / DB_NAME) as db:
        row = db.execute("SELECT MAX(resource_version) FROM events").fetchone()
    return int(row[0] or 0)


def stored_event_versions(data_dir: Path, job_id: str) -> set[int]:
    """The resource versions of the job's events in the event log (read-only; safe while
    the server runs, thanks to WAL)."""
    with _read_only(data_dir / DB_NAME) as db:
        rows = db.execute(
            "SELECT resource_version FROM events WHERE object_id = ?", (job_id,)
        ).fetchall()
    return {int(row[0]) for row in rows}


def _copy_into(database: Path | None, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    if database is not None:
        shutil.copyfile(database, into / DB_NAME)
    return into


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        yield db
    finally:
        db.close()


def _code_hash() -> str:
    root = Path(__file__).parent.parent
    digest = hashlib.sha256()
    for path in sorted(_seed_sources(root)):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _seed_sources(root: Path) -> Iterator[Path]:
    yield Path(__file__)
    yield from (root / "server" / "engine").glob("*.py")
    yield from (root / "server" / "store").glob("*.py")
