"""What every sink renders: one rollout's verdict, its analysis and where it came from.

`Message` is the single input of the renderers (`notify.render`); a message with a healthy verdict
and no analysis renders as the one-line success variant. `SlackMessage` is the renderer's output
for Slack: a parent message and one thread reply, each with Block Kit blocks and a plain-text
fallback.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from deploy_assistant.models import (
    Analysis,
    FieldChange,
    GitContext,
    RolloutStatus,
    Target,
    Verdict,
)

HEALTHY_STATUSES = frozenset({RolloutStatus.SUCCEEDED})


class Message(BaseModel):
    """One rollout's outcome, ready to render for Slack, a merge request, a terminal or a file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    verdict: Verdict
    analysis: Analysis | None = None
    """None for a healthy rollout (and for a failure nobody analysed yet)."""
    git: GitContext | None = None
    cluster: str = "default"
    target: Target
    rollout_diff: tuple[FieldChange, ...] = ()
    report_url: str | None = None
    """Where the full report lives (the job's artifacts page); truncated texts point there."""
    environment: str | None = None

    @property
    def healthy(self) -> bool:
        return self.verdict.status in HEALTHY_STATUSES

    @property
    def deployment_ref(self) -> str:
        """`namespace/deployment`, as a human reads it."""
        return f"{self.target.namespace}/{self.target.deployment}"


class SlackMessage(BaseModel):
    """A parent message (summary) plus one thread reply (details); both within Slack's limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    blocks: tuple[dict[str, Any], ...]
    text: str
    """Notification and fallback text for the parent message."""
    thread_blocks: tuple[dict[str, Any], ...] = ()
    thread_text: str = ""
    """Fallback text of the thread reply; empty with no thread blocks (nothing to reply)."""
