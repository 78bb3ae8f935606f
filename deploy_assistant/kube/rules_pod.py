"""R4–R12: image, config, start, pod-creation, scheduling and mount failures of new pods.

Each function returns the rule's hit for one observation (its predicate and its window); the
windowing itself (continuous, at least two observations) is in `policy`. Windows come from
`PolicySettings`; the reasons for each are in the rollout-status study §c.4.
"""

from __future__ import annotations

from deploy_assistant.kube.messages import (
    CreateRefusal,
    classify_create_refusal,
    is_deterministic_start_error,
)
from deploy_assistant.kube.observation import Observation, RuleHit
from deploy_assistant.kube.pods import PULL_REASONS, all_containers
from deploy_assistant.models import ConfigErrorClass, FailureRule, ImagePullClass
from deploy_assistant.settings import PolicySettings

_CONFIG_CLASSES = frozenset(
    {
        ConfigErrorClass.MISSING_CONFIGMAP,
        ConfigErrorClass.MISSING_SECRET,
        ConfigErrorClass.MISSING_KEY,
        ConfigErrorClass.RUN_AS_NON_ROOT,
    }
)


def _label(init: bool) -> str:
    return "init container" if init else "container"


def container_hits(obs: Observation, policy: PolicySettings) -> list[RuleHit]:
    """R4 invalid image, R5 image not found, R6 pull auth, R8 config error, R9 start error."""
    hits: dict[FailureRule, RuleHit] = {}
    for pod in obs.pods:
        for c in all_containers(pod):
            found = _container_rule(c.waiting_reason, c.image_pull_class, c.config_error_class)
            if (
                found is None
                and c.waiting_reason in ("CreateContainerError", "RunContainerError")
                and is_deterministic_start_error(c.waiting_message)
            ):
                found = FailureRule.START_ERROR
            if found is None or found in hits:
                continue
            hits[found] = RuleHit(
                rule=found,
                window_seconds=_window(found, policy),
                message=(
                    f'pod {pod.name} {_label(c.init)} "{c.name}" is waiting with '
                    f"{c.waiting_reason}: {c.waiting_message or 'no message'}"
                ),
                pod=pod.name,
                container=c.name,
            )
    return list(hits.values())


def _container_rule(
    reason: str | None, pull: ImagePullClass | None, config: ConfigErrorClass | None
) -> FailureRule | None:
    if reason in ("InvalidImageName", "ErrImageNeverPull"):
        return FailureRule.INVALID_IMAGE
    if reason in PULL_REASONS and pull is ImagePullClass.PERMANENT:
        return FailureRule.IMAGE_NOT_FOUND
    if reason in PULL_REASONS and pull is ImagePullClass.AUTH:
        return FailureRule.IMAGE_PULL_AUTH
    if reason == "CreateContainerConfigError" and config in _CONFIG_CLASSES:
        return FailureRule.CONFIG_ERROR
    return None


def _window(rule: FailureRule, policy: PolicySettings) -> float:
    return {
        FailureRule.INVALID_IMAGE: policy.invalid_image_window_seconds,
        FailureRule.IMAGE_NOT_FOUND: policy.image_not_found_window_seconds,
        FailureRule.IMAGE_PULL_AUTH: policy.image_auth_window_seconds,
        FailureRule.CONFIG_ERROR: policy.config_error_window_seconds,
    }.get(rule, policy.start_error_window_seconds)


def pull_stuck_hit(obs: Observation, policy: PolicySettings) -> RuleHit | None:
    """R7: pulls failing (any class) with no image pulled on any new pod, for a long window."""
    failing = [
        (pod, c)
        for pod in obs.pods
        for c in all_containers(pod)
        if c.waiting_reason in PULL_REASONS
    ]
    if not failing:
        return None
    pulled = any(
        c.waiting_reason is None or c.restarts > 0 or c.terminated_reason is not None
        for pod in obs.pods
        for c in pod.containers
    )
    if pulled:
        return None
    pod, c = failing[0]
    return RuleHit(
        rule=FailureRule.IMAGE_PULL_STUCK,
        window_seconds=policy.image_stuck_seconds,
        message=(
            f"no new pod could pull its image; pod {pod.name} {_label(c.init)} "
            f'"{c.name}": {c.waiting_message or c.waiting_reason}'
        ),
        pod=pod.name,
        container=c.name,
    )


def create_refused_hit(obs: Observation, policy: PolicySettings) -> RuleHit | None:
    """R10: the ReplicaSet controller cannot create pods (admission, quota, webhook down)."""
    if not obs.replica_failure:
        return None
    kind = classify_create_refusal(obs.replica_failure)
    window = {
        CreateRefusal.ADMISSION: policy.admission_window_seconds,
        CreateRefusal.QUOTA: policy.quota_window_seconds,
    }.get(kind, policy.webhook_unavailable_window_seconds)
    # Quota frees up as old pods go: a scale-down of the old RS restarts the window.
    key = f"{FailureRule.CREATE_REFUSED}/{kind}"
    if kind is CreateRefusal.QUOTA:
        key += f"/{obs.old_replicas}"
    return RuleHit(
        rule=FailureRule.CREATE_REFUSED,
        window_seconds=window,
        message=f"pods cannot be created: {obs.replica_failure}",
        key=key,
    )


def _pvc_wait(message: str) -> bool:
    text = message.lower()
    return "persistentvolumeclaim" in text and ("unbound" in text or "first consumer" in text)


def unschedulable_hit(obs: Observation, policy: PolicySettings) -> RuleHit | None:
    """R11: new pods the scheduler cannot place, with autoscaler-aware windows."""
    stuck = [p for p in obs.pods if p.unschedulable_message is not None and not p.nominated_node]
    if not stuck or (obs.old_terminating and not obs.recreate):
        # While old pods are still terminating, a surge pod that does not fit yet is expected.
        return None
    base = policy.unschedulable_window_seconds
    if not obs.recreate:
        # Surge pods often fit only once old pods have terminated.
        base = max(base, obs.old_grace_seconds + 30.0)
    windows: list[float] = []
    for pod in stuck:
        ev = obs.events_for(pod)
        if _pvc_wait(pod.unschedulable_message or ""):
            windows.append(policy.unschedulable_pvc_window_seconds)
        elif ev.scale_up_triggered:
            windows.append(policy.scale_up_max_seconds)
        elif ev.scale_up_refused:
            windows.append(policy.unschedulable_not_scale_up_window_seconds)
        else:
            windows.append(base)
    pod = stuck[0]
    autoscaler = obs.events_for(pod).autoscaler_message
    extra = f" (autoscaler: {autoscaler})" if autoscaler else ""
    return RuleHit(
        rule=FailureRule.UNSCHEDULABLE,
        window_seconds=max(windows),
        message=f"{len(stuck)} new pods cannot be scheduled: {pod.unschedulable_message}{extra}",
        pod=pod.name,
    )


def volume_mount_hit(obs: Observation, policy: PolicySettings) -> RuleHit | None:
    """R12: a pod stuck creating containers with repeated FailedMount "not found" events."""
    for pod in obs.pods:
        ev = obs.events_for(pod)
        creating = any(c.waiting_reason == "ContainerCreating" for c in all_containers(pod)) or (
            pod.phase == "Pending" and pod.scheduled is True and not pod.containers
        )
        if creating and ev.failed_mount_not_found >= policy.volume_mount_min_events:
            return RuleHit(
                rule=FailureRule.VOLUME_MOUNT,
                window_seconds=policy.volume_mount_window_seconds,
                message=f"pod {pod.name} cannot mount a volume: {ev.mount_message}",
                pod=pod.name,
            )
    return None
