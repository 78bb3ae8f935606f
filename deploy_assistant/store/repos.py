"""The store's ports: what the watcher's roles may ask of the database (seed §12–§14 names).

Every method is one transaction. State changes are conditional (compare-and-set): a method that
changes state returns False when the row was no longer in the state it expected, which is how two
workers learn that the other one won. Calling a method a second time with the same arguments has
the effect of calling it once, so callers may retry. All datetimes are aware UTC. Failures of the
database itself raise `StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar

from deploy_assistant.models import Analysis, FailureRule, RolloutStatus
from deploy_assistant.store.rows import (
    AnalysisRow,
    NewRollout,
    NotificationRow,
    NotificationState,
    RolloutEnrichment,
    RolloutRow,
    Sink,
)

T = TypeVar("T")


class RolloutRepo(Protocol):
    def atomic(self, work: Callable[[], T]) -> T:
        """Run `work`, which calls this repo, as one transaction (retried as a whole)."""
        ...

    def get_by_id(self, rollout_id: int) -> RolloutRow | None: ...

    def get_by_revision(
        self, cluster: str, namespace: str, deployment: str, revision: str
    ) -> RolloutRow | None: ...

    def get_latest_for_deployment(
        self, cluster: str, namespace: str, deployment: str
    ) -> RolloutRow | None:
        """The newest rollout the watcher has seen (placeholders excluded)."""
        ...

    def get_pending_for_deployment(
        self, cluster: str, namespace: str, deployment: str
    ) -> RolloutRow | None:
        """The placeholder a pipeline report created, if the watcher has not linked it yet."""
        ...

    def get_latest_and_pending(
        self, cluster: str, namespace: str, deployment: str
    ) -> tuple[RolloutRow | None, RolloutRow | None]:
        """Both of the above in one query: (latest seen rollout, placeholder)."""
        ...

    def create(self, rollout: NewRollout, now: datetime) -> tuple[RolloutRow, bool]:
        """Insert, or return the row already there for this revision (created=False)."""
        ...

    def update_fields(
        self, rollout_id: int, enrichment: RolloutEnrichment, now: datetime
    ) -> RolloutRow | None:
        """Attach a pipeline's Git context; None when the rollout does not exist."""
        ...

    def link_placeholder(self, placeholder_id: int, seen: NewRollout, now: datetime) -> bool:
        """Turn a placeholder into the rollout the watcher saw; False if it is no longer one."""
        ...

    def update_status(
        self,
        rollout_id: int,
        status: RolloutStatus,
        now: datetime,
        *,
        rule: FailureRule | None = None,
        message: str = "",
    ) -> bool:
        """Set a verdict on a rollout that has none yet; a final verdict is never revised."""
        ...

    def supersede_older(self, newer: RolloutRow, now: datetime) -> int:
        """Mark the deployment's earlier unfinished rollouts SUPERSEDED; returns how many."""
        ...

    def list_failed_without_analysis(self, now: datetime, limit: int = 50) -> list[RolloutRow]:
        """FAILED or TIMEOUT rollouts with no analysis that nobody holds a lease on."""
        ...

    def claim_for_analysis(
        self, rollout_id: int, worker: str, now: datetime, lease_seconds: float
    ) -> bool: ...

    def release_analysis_claim(
        self,
        rollout_id: int,
        worker: str,
        now: datetime,
        retry_at: datetime,
        *,
        give_up: bool = False,
    ) -> bool:
        """Count a failed attempt; the rollout is claimable again from `retry_at` (or never)."""
        ...

    def mark_analysis_done(
        self, rollout_id: int, worker: str, analysis_id: int, now: datetime
    ) -> bool: ...

    def list_ready_to_notify(
        self, now: datetime, pipeline_grace_seconds: float, limit: int = 50
    ) -> list[RolloutRow]:
        """Analysed, not notified, and not left to its pipeline (or the pipeline stayed silent)."""
        ...

    def mark_notified(self, rollout_id: int, now: datetime) -> bool: ...

    def record_pipeline_verdict(self, rollout_id: int, now: datetime) -> bool:
        """The pipeline reported its own verdict, so the watcher stays quiet about it."""
        ...

    def count_by_status(self) -> dict[RolloutStatus, int]: ...


class AnalysisRepo(Protocol):
    def create(self, rollout_id: int, analysis: Analysis, now: datetime) -> AnalysisRow:
        """Store the rollout's analysis; a rollout has at most one, so a repeat returns it."""
        ...

    def get_by_id(self, analysis_id: int) -> AnalysisRow | None: ...

    def get_for_rollout(self, rollout_id: int) -> AnalysisRow | None: ...


class NotificationRepo(Protocol):
    def claim(
        self, rollout_id: int, sink: Sink, worker: str, now: datetime, lease_seconds: float
    ) -> NotificationRow | None:
        """Lease the (rollout, sink) delivery if it is due and unclaimed; None otherwise."""
        ...

    def complete(
        self, notification_id: int, worker: str, ref: str | None, channel: str | None, now: datetime
    ) -> bool:
        """Record the message ts / note id and mark it SENT (SKIPPED when `ref` is None)."""
        ...

    def fail(
        self,
        notification_id: int,
        worker: str,
        error: str,
        now: datetime,
        retry_at: datetime | None,
    ) -> bool:
        """Count a failed attempt; due again at `retry_at`, or FAILED for good when None."""
        ...

    def list_for_rollout(self, rollout_id: int) -> list[NotificationRow]: ...

    def count_by_state(self) -> dict[tuple[Sink, NotificationState], int]: ...
