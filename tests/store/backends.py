"""Store fixtures for every test that needs the database: SQLite always, MariaDB when configured.

The MariaDB backend reads `DA_TEST_MYSQL_URL` (`.ci/run` starts the server and exports it). Unset,
its tests are skipped locally and fail under `CI=true`, so a suite without MySQL cannot pass
unnoticed. Each test session works in its own scratch database (`<name>_<pid>_<hex>`, dropped at
the end), so concurrent runs on one server do not see each other's rows. Tables are made once per
session; each test starts from empty tables.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import pymysql
import pytest

from deploy_assistant.store import Store, open_store

MYSQL_URL_VARIABLE = "DA_TEST_MYSQL_URL"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class StepClock:
    """A clock that moves only when told; `sleep` is recorded and advances it."""

    def __init__(self, start: datetime = T0) -> None:
        self.current = start
        self.sleeps: list[float] = []
        self._monotonic = 0.0

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)
        self._monotonic += seconds

    def to_real_seconds(self, seconds: float) -> float:
        return 0.0


def mysql_base_url() -> str:
    """The configured server URL; skips (or fails under CI) when there is none."""
    url = os.environ.get(MYSQL_URL_VARIABLE)  # noqa: TID251 - tests may read their own variables
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":  # noqa: TID251
        pytest.fail(f"{MYSQL_URL_VARIABLE} is not set; CI must run the MySQL tests.")
    pytest.skip(f"{MYSQL_URL_VARIABLE} is not set")


def mysql_admin_connection(url: str, database: str | None = None) -> pymysql.Connection:
    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "",
        password=parts.password or "",
        database=database,
        charset="utf8mb4",
        autocommit=True,
    )


@contextmanager
def scratch_mysql_database(base_url: str) -> Iterator[str]:
    """A fresh, empty database on the configured server; yields its URL and drops it after."""
    parts = urlsplit(base_url)
    name = f"{parts.path.lstrip('/')}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = mysql_admin_connection(base_url)
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def clear_rows(store: Store) -> None:
    db = store.database.db

    def work() -> None:
        for table in ("notifications", "analyses", "rollouts"):
            db.execute_sql(f"DELETE FROM {table}")

    store.database.run(work)


@pytest.fixture(scope="session")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("store") / "nested" / "deploy-assistant.db"
    store = open_store(f"sqlite:///{path}")
    yield store
    store.close()


@pytest.fixture(scope="session")
def mysql_store_url() -> Iterator[str]:
    with scratch_mysql_database(mysql_base_url()) as url:
        yield url


@pytest.fixture(scope="session")
def mysql_store(mysql_store_url: str) -> Iterator[Store]:
    store = open_store(mysql_store_url)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def store(request: pytest.FixtureRequest) -> Store:
    """An empty store on each backend."""
    chosen: Store = request.getfixturevalue(f"{request.param}_store")
    clear_rows(chosen)
    return chosen
