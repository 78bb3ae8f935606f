"""Database fixtures (SQLite, and MariaDB when DA_TEST_MYSQL_URL is set)."""

from tests.store.backends import mysql_store, mysql_store_url, sqlite_store, store

__all__ = ["mysql_store", "mysql_store_url", "sqlite_store", "store"]
