"""Store URLs, migrations and the retry of transient database errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest

from deploy_assistant.errors import ConfigError, StoreUnavailable
from deploy_assistant.store import Store, open_store
from deploy_assistant.store.database import Database, is_transient, open_database
from deploy_assistant.store.migrations import migrate, migration_steps, schema_version
from deploy_assistant.store.rows import NewRollout
from deploy_assistant.store.tables import RECORDS
from tests.store.backends import (
    T0,
    StepClock,
    mysql_admin_connection,
    mysql_base_url,
    scratch_mysql_database,
)


def test_sqlite_url_creates_the_parent_folder(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/a/b/store.db")
    try:
        assert (tmp_path / "a" / "b" / "store.db").exists()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://x/y", "not supported"),
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite://", "in-memory"),
        ("mysql:///nohost", "needs a host"),
        ("mysql://u:p@host", "needs a host and a database"),
    ],
)
def test_unusable_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_database(url)


def test_every_dialect_has_the_same_steps() -> None:
    sqlite = [(s.version, s.name) for s in migration_steps("sqlite")]
    mysql = [(s.version, s.name) for s in migration_steps("mysql")]
    assert sqlite == mysql
    assert [v for v, _ in sqlite] == list(range(1, len(sqlite) + 1))


def test_migrated_schema_matches_the_tables(store: Store) -> None:
    for record in RECORDS:
        table = record._meta.table_name
        columns = {c.name for c in store.database.db.get_columns(table)}
        assert columns == {f.column_name for f in record._meta.sorted_fields}, table


def test_migrating_again_changes_nothing(store: Store) -> None:
    assert migrate(store.database, T0) == schema_version(store.database) == 1


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    with scratch_mysql_database(mysql_base_url()) as url:
        yield url


def test_two_processes_migrating_at_once_both_succeed(fresh_url: str) -> None:
    barrier = threading.Barrier(4)
    versions: list[int] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            database = Database(open_database(fresh_url))
            barrier.wait()
            versions.append(migrate(database, T0))
            database.close()
        except Exception as exc:  # noqa: BLE001 - collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert versions == [1, 1, 1, 1]


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (peewee.OperationalError(2006, "MySQL server has gone away"), True),
        (peewee.OperationalError(2013, "Lost connection"), True),
        (peewee.OperationalError(2003, "Can't connect"), True),
        (peewee.OperationalError(1213, "Deadlock found"), True),
        (peewee.InterfaceError(0, ""), True),
        (peewee.OperationalError("database is locked"), True),
        (peewee.OperationalError(1054, "Unknown column"), False),
        (peewee.IntegrityError(1062, "Duplicate entry"), False),
        (ValueError("no"), False),
    ],
)
def test_transient_errors(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_run_retries_with_doubling_backoff_then_succeeds(tmp_path: Path) -> None:
    clock = StepClock()
    database = Database(open_database(f"sqlite:///{tmp_path}/r.db"), clock, max_attempts=5)
    failures = [peewee.OperationalError("database is locked")] * 3

    def work() -> str:
        if failures:
            raise failures.pop()
        return "done"

    assert database.run(work) == "done"
    assert clock.sleeps == [0.1, 0.2, 0.4]


def test_run_gives_up_with_store_unavailable(tmp_path: Path) -> None:
    clock = StepClock()
    database = Database(open_database(f"sqlite:///{tmp_path}/r.db"), clock, max_attempts=3)

    def work() -> None:
        raise peewee.OperationalError(2003, "Can't connect to MySQL server")

    with pytest.raises(StoreUnavailable, match="database failed"):
        database.run(work)
    assert len(clock.sleeps) == 2


def test_a_permanent_error_is_not_retried(tmp_path: Path) -> None:
    clock = StepClock()
    database = Database(open_database(f"sqlite:///{tmp_path}/r.db"), clock)

    def work() -> None:
        database.db.execute_sql("SELECT * FROM no_such_table")

    with pytest.raises(StoreUnavailable):
        database.run(work)
    assert clock.sleeps == []


def _connection_id(store: Store) -> int:
    (conn_id,) = store.database.db.execute_sql("SELECT CONNECTION_ID()").fetchone()
    return int(conn_id)


@pytest.mark.mysql
def test_a_killed_connection_mid_transaction_is_retried_and_writes_once(
    mysql_store: Store, mysql_store_url: str
) -> None:
    from tests.store.backends import clear_rows

    clear_rows(mysql_store)
    admin = mysql_admin_connection(mysql_store_url)
    attempts: list[int] = []
    insert = peewee.SQL(
        "INSERT INTO rollouts (cluster, namespace, deployment, revision, status, message, "
        "created_at, updated_at) VALUES ('c', 'ns', 'web', '9', 'FAILED', '', NOW(6), NOW(6))"
    )

    def work() -> None:
        attempts.append(_connection_id(mysql_store))
        if len(attempts) == 1:
            with admin.cursor() as cursor:  # the server drops us, as on a restart
                cursor.execute(f"KILL CONNECTION {attempts[0]}")
        mysql_store.database.db.execute_sql(insert.sql)

    try:
        mysql_store.database.run(work)
    finally:
        admin.close()
    assert len(attempts) == 2
    assert attempts[0] != attempts[1]
    assert mysql_store.rollouts.get_by_revision("c", "ns", "web", "9") is not None
    assert mysql_store.rollouts.count_by_status() == {"FAILED": 1}


@pytest.mark.mysql
def test_a_write_after_the_pooled_connection_was_killed_lands_once(
    mysql_store: Store, mysql_store_url: str
) -> None:
    from tests.store.backends import clear_rows

    clear_rows(mysql_store)
    victim = mysql_store.database.run(lambda: _connection_id(mysql_store), write=False)
    admin = mysql_admin_connection(mysql_store_url)
    with admin.cursor() as cursor:
        cursor.execute(f"KILL CONNECTION {victim}")
    admin.close()
    row, created = mysql_store.rollouts.create(NewRollout("c", "ns", "web", "1"), T0)
    assert created
    assert mysql_store.rollouts.count_by_status() == {row.status: 1}
