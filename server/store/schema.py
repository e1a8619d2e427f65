"""The job store's tables, and the upgrades of databases older dagwires wrote.

A job lives in two tables: its row in `jobs` (state, versions, the spec, the head: what
the job is besides its spec and tasks) and one row per task in `job_tasks`, so that a
change of one task of a 1,000-task job writes that task, not the job. The event log
keeps the history: an event holds the whole job (`whole`) or, for most changes of a
running job, what changed since the job's previous event (a delta); see sql.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    cast,
    insert,
    select,
    text,
    true,
    update,
)
from sqlalchemy.engine import Connection

from dagwire.server.engine.model import ChangeType
from dagwire.server.store.codec import compact_json

# 1: each job row held its document. 2: a job's document is the one in its newest event.
# 3: a job is its row and one row per task; events hold deltas between full snapshots.
# 4: each job's kind on its row and its party domains in job_domains (and on each new
# event), so that a listing or a replay for one caller reads only the jobs it may see.
SCHEMA_VERSION = 4

metadata = MetaData()

# SQLite's INTEGER PRIMARY KEY is its rowid; BIGINT is PostgreSQL's identity column type.
_ResourceVersion = BigInteger().with_variant(Integer(), "sqlite")

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(253), primary_key=True),
    Column("state", String(32), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("resource_version", BigInteger, nullable=False, index=True),
    Column("create_time", String(40), nullable=False),
    Column("spec", Text, nullable=False),
    Column("head", Text, nullable=False),
    Column("kind", String(16), nullable=False, server_default="job"),
    Index("ix_jobs_kind", "kind", "create_time", "job_id"),
)

# The party domains of each job: which jobs a tenant may see, found without decoding
# any job (a watch opened by one tenant costs what that tenant sees).
job_domains = Table(
    "job_domains",
    metadata,
    Column("domain_id", String(253), primary_key=True),
    Column("job_id", String(253), primary_key=True),
    Index("ix_job_domains_job", "job_id"),
)

# resource_version: the event that last wrote the row. A reader that finds a task row
# newer than its job row read the two across a commit, and reads again.
job_tasks = Table(
    "job_tasks",
    metadata,
    Column("job_id", String(253), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("resource_version", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
)

# The event log. AUTOINCREMENT on SQLite so that a resource_version is never reused,
# even after the newest events were compacted away.
events = Table(
    "events",
    metadata,
    Column("resource_version", _ResourceVersion, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("object_id", String(253), nullable=False),
    Column("type", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("whole", Boolean, nullable=False, server_default=true()),
    Column("doc", Text, nullable=False),
    # The job's kind and its party domains as ",a,b,": a replay for one caller skips
    # other tenants' events without decoding them. NULL on events older than schema 4
    # (those are decoded and filtered as before).
    Column("job_kind", String(16), nullable=True),
    Column("parties", Text, nullable=True),
    Index("ix_events_object", "object_id", "resource_version"),
    sqlite_autoincrement=True,
)

schema_info = Table(
    "schema_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

# schema_info key: the newest resource_version compaction dropped events up to. Schema 2
# kept older events that held a job; the log is only whole above this.
COMPACTED_THROUGH = "compacted_through"

# Held while the schema is created or checked, so that replicas starting together on an
# empty PostgreSQL database do not race on CREATE TABLE.
SCHEMA_LOCK = text("SELECT pg_advisory_xact_lock(7310512914250195201)")


def check_schema(conn: Connection) -> None:
    """Record the schema of a new database, upgrade an older one, refuse a newer one."""
    stored = conn.scalar(select(schema_info.c.value).where(schema_info.c.key == "schema"))
    if stored is None:
        conn.execute(
            insert(schema_info),
            [
                {"key": "schema", "value": str(SCHEMA_VERSION)},
                {"key": COMPACTED_THROUGH, "value": "0"},
            ],
        )
        return
    if int(stored) > SCHEMA_VERSION:
        raise RuntimeError(
            f"the database has schema version {stored}, newer than this server's "
            f"{SCHEMA_VERSION}; upgrade dagwire"
        )
    if int(stored) == 1:
        _migrate_from_1(conn)
    if int(stored) <= 2:
        _migrate_from_2(conn)
    if int(stored) <= 3:
        _migrate_from_3(conn)
    conn.execute(
        update(schema_info).where(schema_info.c.key == "schema").values(value=str(SCHEMA_VERSION))
    )


def set_compacted_through(conn: Connection, through: int) -> None:
    # Only ever forward, whichever of two concurrent compactions commits last.
    conn.execute(
        update(schema_info)
        .where(
            schema_info.c.key == COMPACTED_THROUGH,
            cast(schema_info.c.value, BigInteger) < through,
        )
        .values(value=str(through))
    )


def _migrate_from_1(conn: Connection) -> None:
    """Schema 1 to 2: a job's document moves from its row to its newest event. Where
    compaction had dropped that event, it is written back from the row."""
    oldest = conn.scalar(text("SELECT MIN(resource_version) FROM events"))
    conn.execute(
        text(
            "INSERT INTO events (resource_version, kind, object_id, type, version, doc) "
            "SELECT j.resource_version, 'job', j.job_id, :modified, j.version, j.doc "
            "FROM jobs j WHERE NOT EXISTS "
            "(SELECT 1 FROM events e WHERE e.resource_version = j.resource_version)"
        ),
        {"modified": ChangeType.MODIFIED.value},
    )
    compacted = int(oldest) - 1 if oldest is not None else 0
    conn.execute(insert(schema_info).values(key=COMPACTED_THROUGH, value=str(compacted)))
    conn.execute(text("ALTER TABLE jobs DROP COLUMN doc"))
    conn.execute(
        text("CREATE INDEX IF NOT EXISTS ix_jobs_resource_version ON jobs (resource_version)")
    )


def _migrate_from_2(conn: Connection) -> None:
    """Schema 2 to 3: each job's document (its newest event) is split into the job row
    and its task rows; every event written so far is a full one."""
    conn.execute(text("ALTER TABLE jobs ADD COLUMN spec TEXT NOT NULL DEFAULT ''"))
    conn.execute(text("ALTER TABLE jobs ADD COLUMN head TEXT NOT NULL DEFAULT ''"))
    conn.execute(text("ALTER TABLE events ADD COLUMN whole BOOLEAN NOT NULL DEFAULT TRUE"))
    conn.execute(
        text("CREATE INDEX IF NOT EXISTS ix_events_object ON events (object_id, resource_version)")
    )
    for batch in _job_documents(conn):
        heads: list[dict[str, str]] = []
        tasks: list[dict[str, object]] = []
        for job_id, rv, doc in batch:
            document = json.loads(doc)
            spec, job_tasks_of = document.pop("spec"), document.pop("tasks")
            heads.append(
                {"key": job_id, "new_spec": compact_json(spec), "new_head": compact_json(document)}
            )
            tasks.extend(
                {"job_id": job_id, "position": i, "resource_version": rv, "doc": compact_json(task)}
                for i, task in enumerate(job_tasks_of)
            )
        conn.execute(
            update(jobs)
            .where(jobs.c.job_id == bindparam("key"))
            .values(spec=bindparam("new_spec"), head=bindparam("new_head")),
            heads,
        )
        if tasks:
            conn.execute(insert(job_tasks), tasks)


def _migrate_from_3(conn: Connection) -> None:
    """Schema 3 to 4: each job's kind and party domains, read from its spec (job_domains
    itself was created with the other missing tables)."""
    conn.execute(text("ALTER TABLE jobs ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'job'"))
    conn.execute(text("ALTER TABLE events ADD COLUMN job_kind VARCHAR(16)"))
    conn.execute(text("ALTER TABLE events ADD COLUMN parties TEXT"))
    conn.execute(
        text("CREATE INDEX IF NOT EXISTS ix_jobs_kind ON jobs (kind, create_time, job_id)")
    )
    after = ""
    while True:
        rows = conn.execute(
            select(jobs.c.job_id, jobs.c.spec)
            .where(jobs.c.job_id > after)
            .order_by(jobs.c.job_id)
            .limit(1_000)
        ).all()
        if not rows:
            return
        kinds: list[dict[str, str]] = []
        domains: list[dict[str, str]] = []
        for job_id, spec in rows:
            document = json.loads(spec)
            kinds.append({"key": job_id, "new_kind": document.get("kind", "job")})
            domains.extend(
                {"job_id": job_id, "domain_id": domain} for domain in spec_domains(document)
            )
        conn.execute(
            update(jobs)
            .where(jobs.c.job_id == bindparam("key"))
            .values(kind=bindparam("new_kind")),
            kinds,
        )
        if domains:
            conn.execute(insert(job_domains), domains)
        after = rows[-1][0]


def parties_column(domains: Iterable[str]) -> str:
    """The events.parties value of a job with these party domains: ",a,b,", so that
    `LIKE '%,a,%'` finds it (DNS-1123 names hold neither ',' nor LIKE's wildcards)."""
    return "," + "".join(f"{domain}," for domain in domains)


def spec_domains(spec: dict[str, object]) -> list[str]:
    """The distinct party domains of a stored spec document."""
    found: dict[str, None] = {}
    for task in spec["tasks"]:  # type: ignore[attr-defined]
        for party in task.get("parties", ()):
            found[party["domain_id"]] = None
    return list(found)


def _job_documents(conn: Connection, batch: int = 1_000) -> Iterator[list[tuple[str, int, str]]]:
    after = ""
    while True:
        rows = conn.execute(
            text(
                "SELECT j.job_id, j.resource_version, e.doc FROM jobs j JOIN events e "
                "ON e.resource_version = j.resource_version WHERE j.job_id > :after "
                "ORDER BY j.job_id LIMIT :batch"
            ),
            {"after": after, "batch": batch},
        ).all()
        if not rows:
            return
        yield [(row[0], int(row[1]), row[2]) for row in rows]
        after = rows[-1][0]
