"""The owner domain of workflow records (pipelines, versions, runs, cache entries,
artifacts, schedules), and the upgrade of databases written before records had one.

Each store versions its tables under its own key in `schema_info` (the job store's
`schema` key versions the job tables): 1 is without owners, 2 with; a store may have
later versions, each an upgrade step of its own (`later`). Records an older dagwire
stored get the owner "" (OPERATOR_OWNER): only operators see them, as nobody can tell
which domain created them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import Column, String, Table, insert, inspect, select, text, update
from sqlalchemy.engine import Connection

from dagwire.server.engine.tenancy import OPERATOR_OWNER
from dagwire.server.store.schema import schema_info

OWNER = "owner_domain"
OWNERS_SCHEMA = 2


def owner_column(*, index: bool = True) -> Column[str]:
    """The owner domain ("" for an operator's own records)."""
    return Column(OWNER, String(63), nullable=False, server_default=OPERATOR_OWNER, index=index)


def upgrade_owners(
    conn: Connection,
    key: str,
    tables: Sequence[Table],
    dropped_constraints: Mapping[str, Sequence[str]],
    later: Mapping[int, Callable[[Connection], None]] | None = None,
) -> None:
    """Bring `tables` (one store's) to the owners schema, then to the store's newest
    schema, then create what is missing.

    `dropped_constraints` names, per table, the unique constraints that owners replace
    with per-owner unique indexes (a pipeline's name was unique server-wide; now per
    domain). PostgreSQL drops them in place; SQLite cannot drop a constraint, so such a
    table is rebuilt. `later` maps each version after the owners one to the step that
    upgrades a database of the version before it; a step runs before missing tables and
    indexes are created, and only on a database that had a version (a database older
    than owners gets the newest tables and indexes from the owners step itself). Runs
    inside the store's opening transaction (under the schema lock on PostgreSQL), so that
    replicas starting together upgrade once.
    """
    steps = dict(sorted((later or {}).items()))
    newest = max([OWNERS_SCHEMA, *steps])
    schema_info.create(conn, checkfirst=True)  # a store opened alone, in tests
    stored = conn.scalar(select(schema_info.c.value).where(schema_info.c.key == key))
    if stored is not None and int(stored) > newest:
        raise RuntimeError(
            f"the database has {key} version {stored}, newer than this server's "
            f"{newest}; upgrade dagwire"
        )
    if stored is None or int(stored) < OWNERS_SCHEMA:
        inspector = inspect(conn)
        existing = set(inspector.get_table_names())
        for table in tables:
            if table.name not in existing:
                continue
            if OWNER in {column["name"] for column in inspector.get_columns(table.name)}:
                continue
            constraints = dropped_constraints.get(table.name, ())
            if conn.dialect.name == "sqlite" and constraints:
                _rebuild_sqlite(conn, table)
                continue
            conn.execute(
                text(
                    f'ALTER TABLE "{table.name}" ADD COLUMN {OWNER} VARCHAR(63) '
                    f"NOT NULL DEFAULT '{OPERATOR_OWNER}'"
                )
            )
            for name in constraints:
                conn.execute(text(f'ALTER TABLE "{table.name}" DROP CONSTRAINT IF EXISTS "{name}"'))
    if stored is not None:
        for version, step in steps.items():
            if max(int(stored), OWNERS_SCHEMA) < version:
                step(conn)
    for table in tables:
        table.create(conn, checkfirst=True)
        for index in table.indexes:
            index.create(conn, checkfirst=True)
    if stored is None:
        conn.execute(insert(schema_info).values(key=key, value=str(newest)))
    elif int(stored) < newest:
        conn.execute(update(schema_info).where(schema_info.c.key == key).values(value=str(newest)))


def _rebuild_sqlite(conn: Connection, table: Table) -> None:
    """SQLite's way to change a table's constraints: a new table, the rows copied."""
    old = f"{table.name}_before_owners"
    indexes = conn.execute(
        text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
        ),
        {"t": table.name},
    ).scalars()
    for name in list(indexes):
        conn.execute(text(f'DROP INDEX "{name}"'))
    conn.execute(text(f'ALTER TABLE "{table.name}" RENAME TO "{old}"'))
    table.create(conn)
    listed = ", ".join(f'"{column.name}"' for column in table.columns if column.name != OWNER)
    conn.execute(text(f'INSERT INTO "{table.name}" ({listed}) SELECT {listed} FROM "{old}"'))
    conn.execute(text(f'DROP TABLE "{old}"'))
