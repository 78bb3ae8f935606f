"""Where the two views of a rollout meet: the watcher's (Kubernetes) and the pipeline's (Git).

Either can come first. A rollout row is keyed by (cluster, namespace, deployment, revision).

- The watcher sees a new pod template: `record_new_rollout` stores the rollout under its
  `deployment.kubernetes.io/revision`.
- A pipeline reports (`POST /deployments`): `record_pipeline_report` enriches the deployment's
  newest rollout when that rollout is recent (started within `link_window_seconds`) and carries no
  other commit. Otherwise the watcher has not seen the rollout yet, and the report goes into a
  placeholder row whose revision is `"pending"`. The unique key allows one placeholder per
  deployment, so retries and concurrent reports land in the same row (the last report wins).
- When the watcher then sees the rollout, it links the placeholder: a compare-and-set turns the
  `"pending"` revision into the real one, keeping the Git fields. A placeholder older than the
  window is not linked (its deploy never changed the template); the next report reuses it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from deploy_assistant.models import DeploymentNotifyRequest, RolloutStatus, Verdict
from deploy_assistant.reduce.redact import redact_text
from deploy_assistant.store.repos import RolloutRepo
from deploy_assistant.store.rows import (
    PENDING_REVISION,
    NewRollout,
    RolloutEnrichment,
    RolloutRow,
)
from deploy_assistant.watcher.metrics import WatcherMetrics

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
LINK_WINDOW_SECONDS = 600.0


def record_pipeline_report(
    repo: RolloutRepo,
    request: DeploymentNotifyRequest,
    now: datetime,
    *,
    link_window_seconds: float = LINK_WINDOW_SECONDS,
) -> RolloutRow:
    """Attach a pipeline's Git context to its rollout, or park it in the placeholder."""
    return repo.atomic(lambda: _record_report(repo, request, now, link_window_seconds))


def _record_report(
    repo: RolloutRepo, request: DeploymentNotifyRequest, now: datetime, link_window_seconds: float
) -> RolloutRow:
    enrichment = RolloutEnrichment(
        git=request.git,
        team=request.team,
        slack_channel=request.slack_channel,
        pipeline_owned=True,
    )
    latest, pending = repo.get_latest_and_pending(
        request.cluster, request.namespace, request.deployment
    )
    if latest is not None and _report_matches(latest, request, now, link_window_seconds):
        target = latest
    elif pending is not None:
        target = pending
    else:
        placeholder = NewRollout(
            cluster=request.cluster,
            namespace=request.namespace,
            deployment=request.deployment,
            revision=PENDING_REVISION,
            status=RolloutStatus.PENDING,
        )
        target, _ = repo.create(placeholder, now)
    row = repo.update_fields(target.id, enrichment, now)
    if row is None:  # deleted under us; a retry of the request will recreate it
        raise LookupError(f"rollout {target.id} disappeared while being updated")
    return row


def _report_matches(
    rollout: RolloutRow, request: DeploymentNotifyRequest, now: datetime, window_seconds: float
) -> bool:
    if rollout.git is not None:
        # Same commit: a retry or a second job of the same pipeline. Another commit: a newer deploy.
        return (rollout.git.project, rollout.git.commit) == (
            request.git.project,
            request.git.commit,
        )
    started = rollout.started_at or rollout.created_at
    return started >= now - timedelta(seconds=window_seconds)


def record_new_rollout(
    repo: RolloutRepo,
    cluster: str,
    deployment: Mapping[str, Any],
    now: datetime,
    *,
    template_hash: str | None = None,
    link_window_seconds: float = LINK_WINDOW_SECONDS,
) -> RolloutRow | None:
    """Record the rollout a Deployment (API JSON) is on, linking a waiting pipeline report.

    Idempotent: seeing the same revision again returns the stored row. Earlier unfinished
    rollouts of the deployment become SUPERSEDED. None while the controller has not stamped the
    revision annotation yet (call again on the next event).
    """
    metadata = deployment.get("metadata") or {}
    revision = (metadata.get("annotations") or {}).get(REVISION_ANNOTATION)
    namespace, name = metadata.get("namespace"), metadata.get("name")
    if not revision or not namespace or not name:
        return None
    digest = template_hash or pod_template_digest(deployment)

    def record() -> RolloutRow:
        seen = NewRollout(
            cluster=cluster,
            namespace=namespace,
            deployment=name,
            revision=str(revision),
            status=RolloutStatus.PROGRESSING,
            uid=metadata.get("uid"),
            template_hash=digest,
            started_at=now,
        )
        return _record_seen(repo, seen, now, link_window_seconds)

    return repo.atomic(record)


def _record_seen(
    repo: RolloutRepo, seen: NewRollout, now: datetime, link_window_seconds: float
) -> RolloutRow:
    existing = repo.get_by_revision(seen.cluster, seen.namespace, seen.deployment, seen.revision)
    if existing is not None:
        return existing
    row = _link_or_create(repo, seen, now, link_window_seconds)
    repo.supersede_older(row, now)
    return row


def _link_or_create(
    repo: RolloutRepo, seen: NewRollout, now: datetime, window_seconds: float
) -> RolloutRow:
    placeholder = repo.get_pending_for_deployment(seen.cluster, seen.namespace, seen.deployment)
    fresh_since = now - timedelta(seconds=window_seconds)
    if (
        placeholder is not None
        and (placeholder.pipeline_seen_at or placeholder.created_at) >= fresh_since
        and repo.link_placeholder(placeholder.id, seen, now)
    ):
        linked = repo.get_by_id(placeholder.id)
        if linked is not None:
            return linked
    row, _ = repo.create(seen, now)
    return row


def pod_template_digest(deployment: Mapping[str, Any]) -> str:
    """A stable digest of `spec.template`, for when the ReplicaSet's hash label is not at hand."""
    template = (deployment.get("spec") or {}).get("template") or {}
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def record_verdict(
    repo: RolloutRepo,
    rollout_id: int,
    verdict: Verdict,
    now: datetime,
    metrics: WatcherMetrics | None = None,
) -> bool:
    """Store the evaluator's verdict; False when the rollout already had a different final one.

    The message quotes pod state (termination messages, admission denials): it is redacted first.
    """
    changed = repo.update_status(
        rollout_id, verdict.status, now, rule=verdict.rule, message=redact_text(verdict.message)
    )
    if changed and metrics is not None and verdict.status.is_final:
        row = repo.get_by_id(rollout_id)
        if row is not None and row.started_at is not None:
            latency_seconds = max((now - row.started_at).total_seconds(), 0.0)
            metrics.verdict_latency_seconds.observe(latency_seconds, status=verdict.status.value)
    return changed
