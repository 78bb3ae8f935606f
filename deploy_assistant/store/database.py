"""The database behind a store URL, and the one way to run work on it: a retried transaction.

`sqlite:///path/to/file.db` (the default; the parent folder is created) or
`mysql://user:pass@host:port/db` (pymysql, utf8mb4, READ COMMITTED, a small connection pool).

Every repository call is one `Database.run(work)`: a connection is checked out, `work` runs inside
one transaction, and the connection is returned. When the server goes away (MySQL errors 2003,
2006, 2013, a killed connection, a deadlock, or a locked SQLite file) the broken connection is
thrown away and the whole transaction is run again with exponential back-off; after the last
attempt the caller gets `StoreUnavailable`. Work functions are written so that running them twice
has the effect of running them once (conditional updates, unique keys).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import peewee
from playhouse.pool import PooledMySQLDatabase, PooledSqliteDatabase
from pymysql.constants import CR, ER

from deploy_assistant.clock import Clock, SystemClock
from deploy_assistant.errors import ConfigError, StoreUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

_TRANSIENT_MYSQL_CODES = frozenset(
    {
        ER.LOCK_WAIT_TIMEOUT,
        ER.LOCK_DEADLOCK,
        CR.CR_CONN_HOST_ERROR,  # 2003: server down or restarting
        CR.CR_SERVER_GONE_ERROR,  # 2006
        CR.CR_SERVER_LOST,  # 2013: killed connection, restart mid-query
        CR.CR_COMMANDS_OUT_OF_SYNC,
        4031,  # the server closed an idle connection (MySQL 8)
    }
)


def is_transient(exc: BaseException) -> bool:
    """True for errors that a fresh connection and a second try can cure."""
    if not isinstance(exc, peewee.OperationalError | peewee.InterfaceError):
        return False
    code = exc.args[0] if exc.args else None
    if isinstance(code, int):
        return code in _TRANSIENT_MYSQL_CODES or code == 0
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text or text in ("", "(0, '')")


def open_database(url: str) -> Any:
    """A peewee database for a store URL; `ConfigError` for a URL we cannot use."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return _sqlite(parts.netloc + parts.path)
    if parts.scheme in ("mysql", "mysql+pymysql"):
        return _mysql(url)
    raise ConfigError(f"Store URL scheme {parts.scheme!r} is not supported; use sqlite or mysql.")


def _sqlite(raw_path: str) -> Any:
    path = raw_path[1:] if raw_path.startswith("/") else raw_path
    if not path or path == ":memory:":
        # Every operation opens its own connection, and each would see a different empty database.
        raise ConfigError("An in-memory SQLite store cannot be shared; give a file path.")
    file = Path(path).expanduser()
    file.parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers run beside the writer; it is a property of the file, so set it once.
    setup: Any = peewee.SqliteDatabase(str(file))
    with setup.connection_context():
        setup.execute_sql("PRAGMA journal_mode=wal")
    # Pooled: closing the last connection to a WAL file checkpoints it (milliseconds each time).
    return PooledSqliteDatabase(
        str(file),
        pragmas={"foreign_keys": 1, "synchronous": "normal", "busy_timeout": 5000},
        timeout=10,  # seconds to wait for a free pooled connection
        check_same_thread=False,
        max_connections=32,
        stale_timeout=300,
    )


def _mysql(url: str) -> Any:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or not parts.hostname:
        raise ConfigError(
            "A MySQL store URL needs a host and a database: mysql://user:pass@host/db"
        )
    options = dict(parse_qsl(parts.query))
    return _MySQLPool(
        name,
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        charset=options.get("charset", "utf8mb4"),
        connect_timeout=int(options.get("connect_timeout", "5")),
        init_command="SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
        max_connections=int(options.get("max_connections", "32")),
        stale_timeout=300,
        timeout=10,
    )


class _MySQLPool(PooledMySQLDatabase):  # type: ignore[misc]
    """No ping on every checkout (one round trip per call): `Database.run` already reconnects and
    retries when a pooled connection turns out to be dead."""

    def _is_closed(self, conn: Any) -> bool:
        return not conn.open


class Database:
    """A peewee database plus the retry policy every repository call goes through."""

    def __init__(
        self,
        db: Any,
        clock: Clock | None = None,
        max_attempts: int = 7,
        first_backoff_seconds: float = 0.1,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self.db: Any = db
        self.is_mysql = isinstance(db, peewee.MySQLDatabase)
        self._clock = clock or SystemClock()
        self._max_attempts = max_attempts
        self._first_backoff_seconds = first_backoff_seconds
        self._max_backoff_seconds = max_backoff_seconds
        self._local = threading.local()

    def run(self, work: Callable[[], T], *, write: bool = True) -> T:
        """`work()` in one transaction, retried on transient errors; `StoreUnavailable` at last.

        `write=False` runs it without a transaction (autocommit reads: two round trips fewer on
        MySQL). A `run` inside another on the same thread joins the outer one.
        """
        if getattr(self._local, "depth", 0):
            return work()
        delay = self._first_backoff_seconds
        for attempt in range(1, self._max_attempts + 1):
            try:
                return self._run_once(work, write)
            except (peewee.OperationalError, peewee.InterfaceError) as exc:
                if not is_transient(exc) or attempt == self._max_attempts:
                    raise StoreUnavailable(f"The database failed: {exc}.") from exc
                logger.warning("database error, retrying (attempt %d): %s", attempt, exc)
                self._clock.sleep(delay)
                delay = min(delay * 2, self._max_backoff_seconds)
        raise AssertionError("unreachable")  # pragma: no cover

    def _run_once(self, work: Callable[[], T], write: bool) -> T:
        self.db.connect(reuse_if_open=True)
        self._local.depth = 1
        try:
            if write:
                with self._transaction():
                    result = work()
            else:
                result = work()
        except (peewee.OperationalError, peewee.InterfaceError):
            self._discard_connection()
            raise
        except peewee.IntegrityError:
            self._release_connection()
            raise  # the repositories turn unique-key conflicts into answers
        except peewee.DatabaseError as exc:
            self._release_connection()
            raise StoreUnavailable(f"The database refused the operation: {exc}.") from exc
        except BaseException:
            self._release_connection()
            raise
        finally:
            self._local.depth = 0
        self._release_connection()
        return result

    def _transaction(self) -> Any:
        if isinstance(self.db, peewee.SqliteDatabase):
            # Take the write lock up front: a read that later upgrades can fail with no wait.
            return self.db.atomic("IMMEDIATE")
        return self.db.atomic()

    def _release_connection(self) -> None:
        try:
            self.db.close()
        except peewee.PeeweeException:
            self._discard_connection()

    def _discard_connection(self) -> None:
        """Drop this thread's connection without giving it back to the pool."""
        state = self.db._state
        conn = state.conn
        state.reset()
        if conn is None:
            return
        if isinstance(self.db, PooledMySQLDatabase | PooledSqliteDatabase):
            with self.db._pool_lock:
                self.db._in_use.pop(self.db.conn_key(conn), None)
        try:
            conn.close()
        except Exception:  # the connection is already broken; closing it is best effort
            logger.debug("closing a broken connection failed", exc_info=True)

    def ping(self) -> None:
        """Round-trip to the database; `StoreUnavailable` when it does not answer."""
        self.run(lambda: self.db.execute_sql("SELECT 1").fetchone(), write=False)

    def close(self) -> None:
        if isinstance(self.db, PooledMySQLDatabase | PooledSqliteDatabase):
            self.db.close_all()
        elif not self.db.is_closed():
            self.db.close()
