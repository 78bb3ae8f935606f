"""The early-failure policy: rules R1–R14 as pure functions of (observations, now).

A rule fires only when its predicate has held *continuously* for its window and in at least
`policy.min_observations` distinct observations; if it stops holding, its timer restarts. Every
window and threshold comes from `PolicySettings`. Verdicts are final: nothing un-fails.

`seed_should_fail_early` (the seed design's policy, as written) and `kubectl_rollout_status`
(in `phase`) are the baselines the benchmark compares against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from deploy_assistant.kube.observation import Evaluated, Observation, RuleHit
from deploy_assistant.kube.rules_crash import crash_hits, degraded_note
from deploy_assistant.kube.rules_pod import (
    container_hits,
    create_refused_hit,
    pull_stuck_hit,
    unschedulable_hit,
    volume_mount_hit,
)
from deploy_assistant.models import (
    FailureRule,
    KubeObject,
    PodFailureSignals,
    RolloutStatus,
    Target,
    Verdict,
)
from deploy_assistant.settings import PolicySettings

# When several rules fire at the same instant, the most specific explanation wins.
RULE_PRIORITY: tuple[FailureRule, ...] = (
    FailureRule.INVALID_IMAGE,
    FailureRule.IMAGE_NOT_FOUND,
    FailureRule.IMAGE_PULL_AUTH,
    FailureRule.CONFIG_ERROR,
    FailureRule.START_ERROR,
    FailureRule.OOM_LOOP,
    FailureRule.PROBE_KILL,
    FailureRule.CRASH_LOOP,
    FailureRule.CREATE_REFUSED,
    FailureRule.VOLUME_MOUNT,
    FailureRule.UNSCHEDULABLE,
    FailureRule.IMAGE_PULL_STUCK,
)


@dataclass(frozen=True)
class Arming:
    """A rule whose predicate holds and whose window is running (for the live display)."""

    hit: RuleHit
    since: datetime
    observations: int

    def elapsed_seconds(self, now: datetime) -> float:
        return (now - self.since).total_seconds()

    def fires(self, now: datetime, policy: PolicySettings) -> bool:
        return (
            self.elapsed_seconds(now) >= self.hit.window_seconds
            and self.observations >= policy.min_observations
        )


def evaluate_observation(obs: Observation, policy: PolicySettings) -> Evaluated:
    """Every rule's predicate on one observation (an undecidable one holds no hits)."""
    notes = []
    degraded = degraded_note(obs, policy)
    if degraded:
        notes.append(degraded)
    if not obs.decidable:
        return Evaluated(obs, (), tuple(notes))
    hits = [*crash_hits(obs, policy), *container_hits(obs, policy)]
    for optional in (
        pull_stuck_hit(obs, policy),
        create_refused_hit(obs, policy),
        unschedulable_hit(obs, policy),
        volume_mount_hit(obs, policy),
    ):
        if optional is not None:
            hits.append(optional)
    return Evaluated(obs, tuple(hits), tuple(notes))


def arming_rules(history: Sequence[Evaluated]) -> list[Arming]:
    """Rules holding in the latest observation, with when their continuous run began."""
    if not history:
        return []
    out = []
    for hit in history[-1].hits:
        key = hit.window_key
        since = history[-1].observation.at
        count = 0
        for item in reversed(history):
            if not any(h.window_key == key for h in item.hits):
                break
            since = item.observation.at
            count += 1
        out.append(Arming(hit, since, count))
    return out


def _rank(arming: Arming) -> int:
    return RULE_PRIORITY.index(arming.hit.rule)


def fired_rule(
    history: Sequence[Evaluated], now: datetime, policy: PolicySettings
) -> Arming | None:
    """The rule that fires now (highest priority among those whose window has run), or None."""
    fired = [a for a in arming_rules(history) if a.fires(now, policy)]
    return min(fired, key=_rank) if fired else None


def early_failure(
    history: Sequence[Evaluated], now: datetime, policy: PolicySettings, target: Target
) -> Verdict | None:
    """FAILED(rule) if an early-failure rule fires at `now`."""
    armed = fired_rule(history, now, policy)
    if armed is None:
        return None
    return Verdict(
        status=RolloutStatus.FAILED,
        rule=armed.hit.rule,
        message=armed.hit.message,
        target=target,
        observed_at=now,
        pod=armed.hit.pod,
        container=armed.hit.container,
    )


_AGGREGATE_ORDER = (
    RolloutStatus.FAILED,
    RolloutStatus.TIMEOUT,
    RolloutStatus.UNKNOWN,
    RolloutStatus.SUPERSEDED,
    RolloutStatus.PAUSED,
    RolloutStatus.SUCCEEDED,
)


def aggregate_verdicts(verdicts: Sequence[Verdict | None], now: datetime) -> Verdict | None:
    """One verdict for several Deployments: FAILED as soon as one fails, SUCCEEDED when all do.

    None while no target failed and some target has no verdict yet.
    """
    final = [v for v in verdicts if v is not None]
    failed = [v for v in final if v.status is RolloutStatus.FAILED]
    if failed:
        return failed[0]
    if len(final) < len(verdicts) or not final:
        return None
    if len(final) == 1:
        return final[0]
    worst = min(final, key=lambda v: _AGGREGATE_ORDER.index(v.status))
    names = ", ".join(
        f"{v.target.deployment}: {v.status.value}" for v in final if v.target is not None
    )
    return Verdict(status=worst.status, rule=worst.rule, message=names, observed_at=now)


def seed_should_fail_early(signals: PodFailureSignals, min_pods: int = 1) -> bool:
    """The seed design's §11.2 policy, exactly as written (the benchmark's second baseline)."""
    if signals.total_pods < min_pods:
        return False
    failing = signals.crashloop_pods + signals.image_pull_pods
    return failing >= max(1, signals.total_pods // 2)


def seed_analyze_pod_failures(pods: Sequence[KubeObject]) -> PodFailureSignals:
    """The seed's §11.2 counters as written: every pod of the selector (old ones too), per
    container, and every Pending pod counted as a scheduling problem."""
    crashloop = image_pull = pending = 0
    for pod in pods:
        status = pod.get("status") or {}
        for cs in status.get("containerStatuses") or []:
            reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason") or ""
            if reason == "CrashLoopBackOff":
                crashloop += 1
            if reason in ("ImagePullBackOff", "ErrImagePull"):
                image_pull += 1
        if str(status.get("phase") or "").upper() == "PENDING":
            pending += 1
    return PodFailureSignals(
        crashloop_pods=crashloop,
        image_pull_pods=image_pull,
        pending_scheduling_pods=pending,
        total_pods=len(pods),
    )
