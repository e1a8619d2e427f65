"""Opening a database written by an older dagwire upgrades it in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dagwire.server.engine.model import ChangeType, JobKind
from dagwire.server.store.base import JobScope
from dagwire.server.store.codec import job_to_json
from dagwire.server.store.schema import SCHEMA_VERSION
from dagwire.server.store.sql import SqlJobStore
from tests.store.test_sql_store import new_job

# Schema 1 as dagwire 0.1 created it: each job row held its document.
SCHEMA_1 = """
CREATE TABLE jobs (job_id VARCHAR(253) PRIMARY KEY, state VARCHAR(32) NOT NULL,
    version INTEGER NOT NULL, resource_version BIGINT NOT NULL,
    create_time VARCHAR(40) NOT NULL, doc TEXT NOT NULL);
CREATE INDEX ix_jobs_state ON jobs (state);
CREATE TABLE events (resource_version INTEGER PRIMARY KEY AUTOINCREMENT,
    kind VARCHAR(16) NOT NULL, object_id VARCHAR(253) NOT NULL, type VARCHAR(16) NOT NULL,
    version INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE schema_info (key VARCHAR(64) PRIMARY KEY, value VARCHAR(256) NOT NULL);
INSERT INTO schema_info VALUES ('schema', '1');
"""


def _schema_1_database(path: Path) -> None:
    """Two jobs; the first one's only event was compacted away (schema 1 could drop it,
    the row held the job), the second one's event is still in the log."""
    old, kept = new_job("old"), new_job("kept")
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_1)
    for rv, job in ((1, old), (2, kept)):
        db.execute(
            "INSERT INTO jobs VALUES (?, ?, 1, ?, ?, ?)",
            (job.job_id, job.state.value, rv, job.create_time.isoformat(), job_to_json(job)),
        )
        db.execute(
            "INSERT INTO events VALUES (?, 'job', ?, ?, 1, ?)",
            (rv, job.job_id, ChangeType.ADDED.value, job_to_json(job)),
        )
    db.execute("DELETE FROM events WHERE resource_version = 1")
    db.commit()
    db.close()


async def test_a_schema_1_database_is_upgraded_and_keeps_its_jobs_and_log(
    tmp_path: Path,
) -> None:
    path = tmp_path / "dagwire.db"
    _schema_1_database(path)
    store = SqlJobStore(f"sqlite+aiosqlite:///{path}")
    await store.open()
    try:
        assert {job.job_id: job.resource_version for job in await store.list_jobs()} == {
            "old": 1,
            "kept": 2,
        }
        # The restored document of `old` does not make the compacted log look whole.
        assert await store.oldest_resource_version() == 2
        assert [c.job.job_id for c in await store.changes_after(1, 10)] == ["kept"]
        changed = await store.update_job((await store.get_job("old")), 1)  # type: ignore[arg-type]
        assert changed.resource_version == 3 and changed.job.version == 2
        # Schema 4 indexed each job's kind and party domains.
        scoped = await store.list_jobs_page(None, 10, JobScope(kind=JobKind.JOB, domain="alice"))
        assert sorted(job.job_id for job in scoped) == ["kept", "old"]
        assert await store.list_jobs_page(None, 10, JobScope(domain="bob")) == []
    finally:
        await store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM schema_info WHERE key = 'schema'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    assert "doc" not in {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    tasks = db.execute("SELECT job_id, position FROM job_tasks ORDER BY job_id, position")
    assert tasks.fetchall() == [("kept", 0), ("kept", 1), ("old", 0), ("old", 1)]
    db.close()
