"""A store opened from a URL: the database, its schema brought up to date, and the three repos."""

from __future__ import annotations

from dataclasses import dataclass

from deploy_assistant.clock import Clock, SystemClock
from deploy_assistant.store.analysis_repo import SqlAnalysisRepo
from deploy_assistant.store.database import Database, open_database
from deploy_assistant.store.migrations import migrate
from deploy_assistant.store.notification_repo import SqlNotificationRepo
from deploy_assistant.store.rollout_repo import SqlRolloutRepo


@dataclass(frozen=True, slots=True)
class Store:
    database: Database
    rollouts: SqlRolloutRepo
    analyses: SqlAnalysisRepo
    notifications: SqlNotificationRepo

    def ping(self) -> None:
        """Raise `StoreUnavailable` unless the database answers."""
        self.database.ping()

    def close(self) -> None:
        self.database.close()


def open_store(url: str, clock: Clock | None = None, *, max_attempts: int = 7) -> Store:
    """Connect to `url` (`sqlite:///file` or `mysql://…`) and migrate the schema.

    Raises `ConfigError` for an unusable URL and `StoreUnavailable` when the database does not
    answer after the retries.
    """
    clock = clock or SystemClock()
    database = Database(open_database(url), clock, max_attempts=max_attempts)
    migrate(database, clock.now())
    return Store(
        database=database,
        rollouts=SqlRolloutRepo(database),
        analyses=SqlAnalysisRepo(database),
        notifications=SqlNotificationRepo(database),
    )
