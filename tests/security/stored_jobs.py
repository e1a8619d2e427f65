"""Jobs written straight into a data dir's store, as an older dagwire that checked no
ids would have left them: running, with a party whose domain id cannot name a
directory."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from dagwire.server.engine import reducer
from dagwire.server.engine.model import Job, JobSpec, PartySpec, TaskSpec
from dagwire.server.store.sql import SqlJobStore

# Each refused at create today; each stored by older versions. Job id -> domain id.
HOSTILE_DOMAINS = {
    "hostile-slash": "x/y",
    "hostile-dotdot": "..",
    "hostile-dot": ".",
    "hostile-nul": "nul\0id",
    "hostile-newline": "new\nline",
}


def running_job(job_id: str, hostile_domain: str) -> Job:
    """A job as stored right after its create: its task running, both parties pending."""
    spec = JobSpec(
        job_id=job_id,
        initiator="alice",
        max_parallelism=1,
        tasks=(
            TaskSpec(
                alias="train",
                task_id="train",
                app_image="dagwire-sleep",
                parties=(PartySpec("alice"), PartySpec(hostile_domain)),
                task_input_config=json.dumps({"sleep_seconds": 30}),
            ),
        ),
    )
    return reducer.create_job(spec, datetime.now(UTC), frozenset()).job


async def store_as_an_older_version(data_dir: Path, jobs: list[Job]) -> None:
    os.makedirs(data_dir, exist_ok=True)
    store = SqlJobStore(f"sqlite+aiosqlite:///{data_dir / 'dagwire.db'}")
    await store.open()
    try:
        for job in jobs:
            await store.insert_job(job)
    finally:
        await store.close()
