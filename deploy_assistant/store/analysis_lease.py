"""The analysis lease on rollout rows: which failed rollouts await analysis, and who holds them.

A worker claims a row for `lease_seconds`; an expired claim can be taken by another worker, a
released one waits until `retry_at`, and `mark_analysis_done` ends the lease for good. Every
write is conditional on the claim, so two workers never both finish the same rollout.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from deploy_assistant.models import RolloutStatus
from deploy_assistant.store.database import Database
from deploy_assistant.store.rows import RolloutRow
from deploy_assistant.store.tables import RolloutRecord as R

_NEEDS_ANALYSIS = (RolloutStatus.FAILED.value, RolloutStatus.TIMEOUT.value)


class _RolloutTable(Protocol):
    """What the lease queries use of `SqlRolloutRepo`."""

    _database: Database

    def _update(self, values: dict[Any, Any], now: datetime, where: Any) -> int: ...

    def _one(self, where: Any) -> RolloutRow | None: ...

    def _many(self, where: Any, limit: int) -> list[RolloutRow]: ...


def claimable(now: datetime) -> Any:
    """Rows whose claim is absent or has run out at `now`."""
    return R.claim_expires_at.is_null() | (R.claim_expires_at <= now)


class AnalysisLeaseQueries:
    """The lease half of `SqlRolloutRepo` (mixed in; see the module docstring)."""

    def list_failed_without_analysis(
        self: _RolloutTable, now: datetime, limit: int = 50
    ) -> list[RolloutRow]:
        where = R.status.in_(_NEEDS_ANALYSIS) & (R.analysis_done == False) & claimable(now)  # noqa: E712
        return self._database.run(lambda: self._many(where, limit), write=False)

    def claim_for_analysis(
        self: _RolloutTable, rollout_id: int, worker: str, now: datetime, lease_seconds: float
    ) -> bool:
        values = {R.claimed_by: worker, R.claim_expires_at: now + timedelta(seconds=lease_seconds)}
        where = (
            (R.id == rollout_id)
            & (R.analysis_done == False)  # noqa: E712
            & (claimable(now) | (R.claimed_by == worker))
        )
        return self._database.run(lambda: self._update(values, now, where) == 1)

    def release_analysis_claim(
        self: _RolloutTable,
        rollout_id: int,
        worker: str,
        now: datetime,
        retry_at: datetime,
        *,
        give_up: bool = False,
    ) -> bool:
        values = {
            R.claimed_by: None,
            R.claim_expires_at: retry_at,
            R.analysis_attempts: R.analysis_attempts + 1,
            R.analysis_done: give_up,
        }
        where = (R.id == rollout_id) & (R.claimed_by == worker)
        return self._database.run(lambda: self._update(values, now, where) == 1)

    def mark_analysis_done(
        self: _RolloutTable, rollout_id: int, worker: str, analysis_id: int, now: datetime
    ) -> bool:
        values = {
            R.analysis_done: True,
            R.analysis_id: analysis_id,
            R.claimed_by: None,
            R.claim_expires_at: None,
        }
        where = (R.id == rollout_id) & (R.claimed_by == worker) & (R.analysis_done == False)  # noqa: E712

        def work() -> bool:
            if self._update(values, now, where):
                return True
            current = self._one(R.id == rollout_id)
            return current is not None and current.analysis_id == analysis_id

        return self._database.run(work)
