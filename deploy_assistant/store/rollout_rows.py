"""Rows of the rollouts table, as selected column tuples, turned into `RolloutRow` values."""

from __future__ import annotations

from typing import Any

from deploy_assistant.models import FailureRule, GitContext, RolloutStatus
from deploy_assistant.store.rows import RolloutRow
from deploy_assistant.store.tables import RolloutRecord

ROLLOUT_FIELDS = tuple(RolloutRecord._meta.sorted_fields)
"""Every column, in the order the repository selects them."""


def rollout_row(values: tuple[Any, ...]) -> RolloutRow:
    """The row for one selected tuple (columns in `ROLLOUT_FIELDS` order)."""
    record = {
        field.name: None if value is None else field.python_value(value)
        for field, value in zip(ROLLOUT_FIELDS, values, strict=True)
    }
    return _row(record)


def _row(record: dict[str, Any]) -> RolloutRow:
    git = None
    if record["project"] is not None and record["commit_sha"] is not None:
        git = GitContext(
            project=record["project"],
            commit=record["commit_sha"],
            pipeline_url=record["pipeline_url"],
            mr_url=record["mr_url"],
            mr_iid=record["mr_iid"],
            job_url=record["job_url"],
            ref=record["git_ref"],
            author=record["author"],
            environment=record["environment"],
        )
    return RolloutRow(
        id=record["id"],
        cluster=record["cluster"],
        namespace=record["namespace"],
        deployment=record["deployment"],
        revision=record["revision"],
        status=RolloutStatus(record["status"]),
        created_at=record["created_at"],
        updated_at=record["updated_at"],
        version=record["version"],
        uid=record["uid"],
        template_hash=record["template_hash"],
        rule=FailureRule(record["rule"]) if record["rule"] else None,
        message=record["message"] or "",
        git=git,
        team=record["team"],
        slack_channel=record["slack_channel"],
        pipeline_owned=bool(record["pipeline_owned"]),
        pipeline_seen_at=record["pipeline_seen_at"],
        pipeline_verdict_at=record["pipeline_verdict_at"],
        started_at=record["started_at"],
        finished_at=record["finished_at"],
        analysis_done=bool(record["analysis_done"]),
        analysis_id=record["analysis_id"],
        analysis_attempts=record["analysis_attempts"],
        notified=bool(record["notified"]),
        claimed_by=record["claimed_by"],
        claim_expires_at=record["claim_expires_at"],
    )
