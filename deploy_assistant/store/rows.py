"""What the store hands out and takes in: frozen values, never database objects.

Timestamps are timezone-aware UTC here; the tables keep them as naive UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from deploy_assistant.models import Analysis, FailureRule, GitContext, RolloutStatus

PENDING_REVISION = "pending"
"""Revision of a placeholder rollout: a pipeline reported a deployment the watcher has not seen."""


class Sink(StrEnum):
    SLACK = "slack"
    GITLAB = "gitlab"


class NotificationState(StrEnum):
    PENDING = "pending"
    """Not delivered yet; `next_attempt_at` says when to try."""
    SENT = "sent"
    SKIPPED = "skipped"
    """The sink had nowhere to post (no channel, no merge request)."""
    FAILED = "failed"
    """Gave up after the last attempt."""

    @property
    def is_final(self) -> bool:
        return self is not NotificationState.PENDING


@dataclass(frozen=True, slots=True)
class NewRollout:
    """A rollout as first recorded, by the watcher or (as a placeholder) by the ingest API."""

    cluster: str
    namespace: str
    deployment: str
    revision: str
    status: RolloutStatus = RolloutStatus.PROGRESSING
    uid: str | None = None
    template_hash: str | None = None
    started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RolloutEnrichment:
    """What a pipeline tells us about a rollout (seed §12): Git context, owner, channel."""

    git: GitContext
    team: str | None = None
    slack_channel: str | None = None
    pipeline_owned: bool = True


@dataclass(frozen=True, slots=True)
class RolloutRow:
    id: int
    cluster: str
    namespace: str
    deployment: str
    revision: str
    status: RolloutStatus
    created_at: datetime
    updated_at: datetime
    version: int
    uid: str | None = None
    template_hash: str | None = None
    rule: FailureRule | None = None
    message: str = ""
    git: GitContext | None = None
    team: str | None = None
    slack_channel: str | None = None
    pipeline_owned: bool = False
    pipeline_seen_at: datetime | None = None
    pipeline_verdict_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    analysis_done: bool = False
    analysis_id: int | None = None
    analysis_attempts: int = 0
    notified: bool = False
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None

    @property
    def is_placeholder(self) -> bool:
        """True while the rollout is only known from a pipeline report."""
        return self.revision == PENDING_REVISION


@dataclass(frozen=True, slots=True)
class AnalysisRow:
    id: int
    rollout_id: int
    analysis: Analysis
    source: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: int
    rollout_id: int
    sink: Sink
    state: NotificationState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    ref: str | None = None
    """Slack message ts or GitLab note id; set once posted, so a retry edits instead of posting."""
    channel: str | None = None
    last_error: str | None = None
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None
