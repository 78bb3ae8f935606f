"""`NotificationRepo` on SQL: one delivery row per (rollout, sink), leased by one worker."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import peewee

from deploy_assistant.store.database import Database
from deploy_assistant.store.rows import NotificationRow, NotificationState, Sink
from deploy_assistant.store.tables import NotificationRecord as N

_MAX_ERROR_CHARS = 2000


class SqlNotificationRepo:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._db = database.db

    def claim(
        self, rollout_id: int, sink: Sink, worker: str, now: datetime, lease_seconds: float
    ) -> NotificationRow | None:
        pending = NotificationState.PENDING.value
        row_values = {
            N.rollout: rollout_id,
            N.sink: sink.value,
            N.state: pending,
            N.attempts: 0,
            N.next_attempt_at: now,
            N.created_at: now,
            N.updated_at: now,
        }
        lease = {N.claimed_by: worker, N.claim_expires_at: now + timedelta(seconds=lease_seconds)}
        where = (
            (N.rollout == rollout_id)
            & (N.sink == sink.value)
            & (N.state == pending)
            & (N.next_attempt_at <= now)
            & (
                N.claim_expires_at.is_null()
                | (N.claim_expires_at <= now)
                | (N.claimed_by == worker)
            )
        )

        def work() -> NotificationRow | None:
            N.insert(row_values).on_conflict_ignore().execute(self._db)
            if not self._update(lease, now, where):
                return None
            return self._one((N.rollout == rollout_id) & (N.sink == sink.value))

        return self._database.run(work)

    def complete(
        self, notification_id: int, worker: str, ref: str | None, channel: str | None, now: datetime
    ) -> bool:
        state = NotificationState.SENT if ref is not None else NotificationState.SKIPPED
        values = {
            N.state: state.value,
            N.ref: ref,
            N.channel: channel,
            N.claimed_by: None,
            N.claim_expires_at: None,
        }
        where = (
            (N.id == notification_id)
            & (N.claimed_by == worker)
            & (N.state == NotificationState.PENDING.value)
        )

        def work() -> bool:
            if self._update(values, now, where):
                return True
            current = self._one(N.id == notification_id)  # a retry after a lost reply
            return current is not None and current.state is state and current.ref == ref

        return self._database.run(work)

    def fail(
        self,
        notification_id: int,
        worker: str,
        error: str,
        now: datetime,
        retry_at: datetime | None,
    ) -> bool:
        state = NotificationState.PENDING if retry_at is not None else NotificationState.FAILED
        values = {
            N.state: state.value,
            N.attempts: N.attempts + 1,
            N.last_error: error[:_MAX_ERROR_CHARS],
            N.next_attempt_at: retry_at or now,
            N.claimed_by: None,
            N.claim_expires_at: None,
        }
        where = (N.id == notification_id) & (N.claimed_by == worker)
        return self._database.run(lambda: self._update(values, now, where) == 1)

    def list_for_rollout(self, rollout_id: int) -> list[NotificationRow]:
        def work() -> list[NotificationRow]:
            query = N.select().where(N.rollout == rollout_id).order_by(N.sink)
            return [notification_row(record) for record in query.execute(self._db)]

        return self._database.run(work, write=False)

    def count_by_state(self) -> dict[tuple[Sink, NotificationState], int]:
        query = N.select(N.sink, N.state, peewee.fn.COUNT(N.id)).group_by(N.sink, N.state).tuples()
        rows = self._database.run(lambda: list(query.execute(self._db)), write=False)
        return {(Sink(sink), NotificationState(state)): count for sink, state, count in rows}

    def _update(self, values: dict[Any, Any], now: datetime, where: Any) -> int:
        values = {**values, N.version: N.version + 1, N.updated_at: now}
        return int(N.update(values).where(where).execute(self._db))

    def _one(self, where: Any) -> NotificationRow | None:
        records = list(N.select().where(where).limit(1).execute(self._db))
        return notification_row(records[0]) if records else None


def notification_row(record: Any) -> NotificationRow:
    return NotificationRow(
        id=record.id,
        rollout_id=record.rollout_id,
        sink=Sink(record.sink),
        state=NotificationState(record.state),
        attempts=record.attempts,
        next_attempt_at=record.next_attempt_at,
        created_at=record.created_at,
        updated_at=record.updated_at,
        ref=record.ref,
        channel=record.channel,
        last_error=record.last_error,
        claimed_by=record.claimed_by,
        claim_expires_at=record.claim_expires_at,
    )
