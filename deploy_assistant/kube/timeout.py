"""The verdict at the ceiling: TIMEOUT with a ranked best guess, or UNKNOWN if never observed.

No hard signal fired before `min(timeout, progressDeadlineSeconds + grace)`, so the rollout is
slow, not proven broken; the message says what it was most likely waiting on.
"""

from __future__ import annotations

from datetime import datetime

from deploy_assistant.kube.observation import Observation
from deploy_assistant.kube.pods import PULL_REASONS, all_containers
from deploy_assistant.models import RolloutStatus, Target, Verdict


def best_guess(obs: Observation) -> str:
    """The most likely reason the rollout has not finished, in one clause."""
    pods = obs.pods
    unschedulable = [p for p in pods if p.unschedulable_message is not None]
    if unschedulable:
        ev = obs.events_for(unschedulable[0])
        if ev.scale_up_triggered:
            return "a cluster scale-up is still in progress for new pods that do not fit yet"
        return f"new pods cannot be scheduled ({unschedulable[0].unschedulable_message})"
    if obs.replica_failure:
        return f"pods cannot be created ({obs.replica_failure})"
    containers = [(p, c) for p in pods for c in all_containers(p)]
    pulling = [(p, c) for p, c in containers if c.waiting_reason in PULL_REASONS]
    if pulling:
        pod, c = pulling[0]
        return f'image pull keeps failing for pod {pod.name} ("{c.waiting_message}")'
    creating = [
        p for p, c in containers if c.waiting_reason in ("ContainerCreating", "PodInitializing")
    ]
    if creating:
        return f"pod {creating[0].name} is still being created (slow image pull or volume mount)"
    running_unready = [
        p
        for p in pods
        if not p.ready
        and p.phase == "Running"
        and all(c.waiting_reason is None for c in p.containers)
    ]
    if running_unready:
        return (
            f"pod {running_unready[0].name} runs but never became Ready (readiness probe failing?)"
        )
    crashing = [p for p, c in containers if c.waiting_reason == "CrashLoopBackOff"]
    if crashing:
        return f"some new pods keep crashing (e.g. {crashing[0].name})"
    return obs.phase.message


def timeout_verdict(obs: Observation, target: Target, now: datetime, *, gate_met: bool) -> Verdict:
    if not gate_met:
        return Verdict(
            status=RolloutStatus.UNKNOWN,
            message="the deployment controller never observed the new spec before the time limit",
            target=target,
            observed_at=now,
        )
    return Verdict(
        status=RolloutStatus.TIMEOUT,
        message=f"no verdict before the time limit; most likely {best_guess(obs)}",
        target=target,
        observed_at=now,
    )
