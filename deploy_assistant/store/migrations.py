"""Versioned schema migrations: `schema_version` plus ordered SQL files, one per dialect.

A step is `migrations/NNNN_name.<dialect>.sql`; the applied ones are rows in `schema_version`.
Steps only ever get added, never edited. Two processes starting at once are serialized: SQLite
runs the whole upgrade in one `BEGIN IMMEDIATE` transaction (its DDL is transactional); MySQL,
whose DDL commits implicitly, takes the named lock `deploy_assistant_migrate` and re-reads the
version under it. Every statement is `IF NOT EXISTS`, so a step interrupted half-way can be
run again.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from deploy_assistant.errors import StoreUnavailable
from deploy_assistant.store.database import Database
from deploy_assistant.store.tables import SchemaVersionRecord

logger = logging.getLogger(__name__)

_LOCK_NAME = "deploy_assistant_migrate"
_LOCK_TIMEOUT_SECONDS = 60
_STEP_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sqlite|mysql)\.sql$")

_SCHEMA_VERSION_DDL = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, "
    "name VARCHAR(191) NOT NULL, applied_at DATETIME(6) NOT NULL)",
    "mysql": "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL PRIMARY KEY, "
    "name VARCHAR(191) NOT NULL, applied_at DATETIME(6) NOT NULL) "
    "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
}


@dataclass(frozen=True, slots=True)
class MigrationStep:
    version: int
    name: str
    statements: tuple[str, ...]


def migration_steps(dialect: str) -> list[MigrationStep]:
    """The packaged steps for `sqlite` or `mysql`, in version order."""
    steps = []
    for entry in resources.files("deploy_assistant.store").joinpath("migrations").iterdir():
        match = _STEP_NAME.match(entry.name)
        if match is None or match.group(3) != dialect:
            continue
        sql = entry.read_text(encoding="utf-8")
        steps.append(MigrationStep(int(match.group(1)), match.group(2), _statements(sql)))
    return sorted(steps, key=lambda step: step.version)


def _statements(sql: str) -> tuple[str, ...]:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return tuple(part.strip() for part in "\n".join(lines).split(";") if part.strip())


def migrate(database: Database, now: datetime) -> int:
    """Bring the schema up to date; returns the schema version now in place."""
    dialect = "mysql" if database.is_mysql else "sqlite"
    steps = migration_steps(dialect)
    if dialect == "sqlite":
        return database.run(lambda: _apply(database, dialect, steps, now))
    return database.run(lambda: _apply_locked(database, steps, now), write=False)


def schema_version(database: Database) -> int:
    """The highest applied step, 0 for an empty database."""
    dialect = "mysql" if database.is_mysql else "sqlite"

    def read() -> int:
        database.db.execute_sql(_SCHEMA_VERSION_DDL[dialect])
        return _current_version(database)

    return database.run(read, write=False)


def _apply_locked(database: Database, steps: list[MigrationStep], now: datetime) -> int:
    db = database.db
    (got,) = db.execute_sql(
        "SELECT GET_LOCK(%s, %s)", (_LOCK_NAME, _LOCK_TIMEOUT_SECONDS)
    ).fetchone()
    if got != 1:
        raise StoreUnavailable("Another process held the schema migration lock for too long.")
    try:
        return _apply(database, "mysql", steps, now)
    finally:
        db.execute_sql("SELECT RELEASE_LOCK(%s)", (_LOCK_NAME,))


def _apply(database: Database, dialect: str, steps: list[MigrationStep], now: datetime) -> int:
    db = database.db
    db.execute_sql(_SCHEMA_VERSION_DDL[dialect])
    current = _current_version(database)
    for step in steps:
        if step.version <= current:
            continue
        logger.info("applying schema migration %04d_%s", step.version, step.name)
        for statement in step.statements:
            db.execute_sql(statement)
        SchemaVersionRecord.insert(
            version=step.version, name=step.name, applied_at=now
        ).on_conflict_ignore().execute(db)
        current = step.version
    return current


def _current_version(database: Database) -> int:
    query = SchemaVersionRecord.select(SchemaVersionRecord.version).order_by(
        SchemaVersionRecord.version.desc()
    )
    row = query.limit(1).tuples().execute(database.db)
    versions = [version for (version,) in row]
    return versions[0] if versions else 0
