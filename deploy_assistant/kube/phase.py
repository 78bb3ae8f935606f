"""Deployment phase: kubectl's success rule behind the observation gate, with our bookkeeping.

Pure functions over Deployment dicts in API JSON shape. The success rule is exactly
`kubectl rollout status` (so we never report SUCCEEDED earlier than kubectl would); the failure
side adds two guards kubectl lacks: a ProgressDeadlineExceeded condition counts only if it was
updated after our apply (T0), and a template or uid change means the rollout is no longer ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from deploy_assistant.models import FailureRule, KubeObject, RolloutStatus
from deploy_assistant.workloads import template_key as template_key
from deploy_assistant.workloads import uid_of as uid_of

DEFAULT_PROGRESS_DEADLINE_SECONDS = 600.0


@dataclass(frozen=True)
class Phase:
    """What the Deployment object alone says. `status` is final unless PENDING/PROGRESSING."""

    status: RolloutStatus
    message: str
    rule: FailureRule | None = None


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp from the API as an aware datetime; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def at_or_after(stamp: datetime | None, t0: datetime) -> bool:
    """`stamp >= t0` at the API's one-second resolution (timestamps are truncated to seconds)."""
    return stamp is not None and stamp >= t0.replace(microsecond=0)


def _int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) else default


def observation_gate_met(deployment: KubeObject) -> bool:
    """The controller has seen the current spec: `observedGeneration >= generation`."""
    generation = _int((deployment.get("metadata") or {}).get("generation"))
    observed = _int((deployment.get("status") or {}).get("observedGeneration"), -1)
    return observed >= generation


def progressing_condition(deployment: KubeObject) -> KubeObject | None:
    for cond in (deployment.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Progressing":
            return cond
    return None


def progress_deadline_seconds(deployment: KubeObject) -> float:
    value = (deployment.get("spec") or {}).get("progressDeadlineSeconds")
    return float(value) if isinstance(value, int | float) else DEFAULT_PROGRESS_DEADLINE_SECONDS


def kubectl_waiting_message(deployment: KubeObject) -> str | None:
    """kubectl's own "Waiting for …" line, or None when kubectl would call the rollout done.

    Assumes the observation gate is met; this is `DeploymentStatusViewer.Status` minus the
    deadline check, field for field.
    """
    name = (deployment.get("metadata") or {}).get("name", "?")
    spec_replicas = (deployment.get("spec") or {}).get("replicas")
    status = deployment.get("status") or {}
    updated = _int(status.get("updatedReplicas"))
    replicas = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if isinstance(spec_replicas, int) and updated < spec_replicas:
        return f"{prefix}{updated} out of {spec_replicas} new replicas have been updated..."
    if replicas > updated:
        return f"{prefix}{replicas - updated} old replicas are pending termination..."
    if available < updated:
        return f"{prefix}{available} of {updated} updated replicas are available..."
    return None


def kubectl_rollout_status(deployment: KubeObject | None) -> RolloutStatus:
    """`kubectl rollout status` as written: the baseline (any deadline condition counts)."""
    if deployment is None:
        return RolloutStatus.FAILED
    if not observation_gate_met(deployment):
        return RolloutStatus.PENDING
    cond = progressing_condition(deployment)
    if cond is not None and cond.get("reason") == "ProgressDeadlineExceeded":
        return RolloutStatus.FAILED
    if kubectl_waiting_message(deployment) is None:
        return RolloutStatus.SUCCEEDED
    return RolloutStatus.PROGRESSING


def fresh_progress_deadline(deployment: KubeObject, t0: datetime) -> bool:
    """ProgressDeadlineExceeded written after our apply (a stale one from before T0 is ignored)."""
    cond = progressing_condition(deployment)
    if cond is None or cond.get("reason") != "ProgressDeadlineExceeded":
        return False
    return at_or_after(parse_time(cond.get("lastUpdateTime")), t0)


def evaluate_deployment_phase(
    deployment: KubeObject | None, applied: KubeObject, t0: datetime
) -> Phase:
    """The verdict the Deployment object alone supports, for the rollout we applied at `t0`.

    Order: deleted → recreated (uid) → template changed → paused → gate → fresh deadline →
    success. Generation is deliberately not compared: a scale (HPA) bumps it and is still ours.
    """
    name = (applied.get("metadata") or {}).get("name", "?")
    if deployment is None:
        return Phase(RolloutStatus.FAILED, f'deployment "{name}" was deleted', FailureRule.DELETED)
    applied_uid = uid_of(applied)
    if applied_uid and uid_of(deployment) != applied_uid:
        return Phase(RolloutStatus.SUPERSEDED, f'deployment "{name}" was deleted and recreated')
    spec = deployment.get("spec") or {}
    if template_key(spec.get("template")) != template_key(
        (applied.get("spec") or {}).get("template")
    ):
        return Phase(RolloutStatus.SUPERSEDED, f'the pod template of "{name}" changed again')
    if spec.get("paused") is True:
        return Phase(RolloutStatus.PAUSED, f'deployment "{name}" is paused')
    if not observation_gate_met(deployment):
        return Phase(RolloutStatus.PENDING, "Waiting for deployment spec update to be observed...")
    if fresh_progress_deadline(deployment, t0):
        return Phase(
            RolloutStatus.FAILED,
            f'deployment "{name}" exceeded its progress deadline',
            FailureRule.PROGRESS_DEADLINE,
        )
    waiting = kubectl_waiting_message(deployment)
    if waiting is None:
        return Phase(RolloutStatus.SUCCEEDED, f'deployment "{name}" successfully rolled out')
    return Phase(RolloutStatus.PROGRESSING, waiting)
