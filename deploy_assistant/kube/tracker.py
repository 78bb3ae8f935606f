"""`RolloutTracker`: the pure evaluator for one Deployment, fed with objects someone watches.

Usage (the CLI's wait loop and the in-cluster watcher feed it the same way)::

    tracker = RolloutTracker(target, applied_deployment, t0, policy)
    verdict = tracker.observe(deployment, replicasets, pods, events, now)  # None: progressing
    tracker.progress                                                       # for display

`applied_deployment` is the Deployment as applied (or as first read); `t0` is when the apply
returned. A waiter that starts after the apply (`da-ci wait` in a later CI job) passes
`infer_start=True`: the rollout's start is then taken as the new ReplicaSet's creation time when
that is within one progress deadline before `t0` (a ReplicaSet that old was made for this
rollout); a rollback onto an older ReplicaSet keeps `t0`, so its old restarts never count.
`deployment=None` means it was deleted. `events` may be any Events of the namespace; the tracker
keeps those about new pods. The tracker does no I/O and reads no clock; a verdict, once given,
is returned again on every later call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from deploy_assistant.kube.messages import classify_image_pull_message
from deploy_assistant.kube.observation import (
    Evaluated,
    Observation,
    PodEvents,
    grace_seconds,
    old_replicas,
    replica_failure,
    rs_replicas,
    summarize_pod_events,
)
from deploy_assistant.kube.phase import (
    Phase,
    evaluate_deployment_phase,
    parse_time,
    progress_deadline_seconds,
    uid_of,
)
from deploy_assistant.kube.pods import (
    NewReplicaSet,
    container_key,
    find_new_replicaset,
    pod_signals,
    remembered_pull_classes,
    restart_baselines,
    split_pods,
)
from deploy_assistant.kube.policy import Arming, arming_rules, early_failure, evaluate_observation
from deploy_assistant.kube.timeout import timeout_verdict
from deploy_assistant.models import (
    ImagePullClass,
    KubeObject,
    PodSignals,
    RolloutStatus,
    Target,
    Verdict,
)
from deploy_assistant.settings import PolicySettings

_HISTORY_LIMIT = 4000
_SKIPPED_PHASES = frozenset({"Failed", "Succeeded"})


@dataclass(frozen=True)
class RolloutProgress:
    """What the live display shows for one target."""

    target: Target
    status: RolloutStatus
    message: str
    new_pods: tuple[PodSignals, ...] = ()
    old_pods: int = 0
    arming: tuple[Arming, ...] = ()
    notes: tuple[str, ...] = ()
    at: datetime | None = None


@dataclass
class _Memory:
    baselines: dict[str, int] = field(default_factory=dict)
    pulls: dict[str, ImagePullClass] = field(default_factory=dict)
    events: dict[str, PodEvents] = field(default_factory=dict)
    new_ready_seen: bool = False
    gate_pending_since: datetime | None = None


class RolloutTracker:
    """Observations in, a final Verdict out (see the module docstring for the contract)."""

    def __init__(
        self,
        target: Target,
        applied: KubeObject,
        t0: datetime,
        policy: PolicySettings,
        *,
        infer_start: bool = False,
    ) -> None:
        self.target = target
        self.applied = applied
        self.t0 = t0
        self.started_at = t0
        self._infer_start = infer_start
        self.policy = policy
        self.history: list[Evaluated] = []
        self.verdict: Verdict | None = None
        self.progress = RolloutProgress(target, RolloutStatus.PENDING, "waiting for the rollout")
        self._memory = _Memory()
        self._deadline_seconds = progress_deadline_seconds(applied)

    @property
    def ceiling(self) -> datetime:
        """`min(start of waiting + timeout, rollout start + progressDeadlineSeconds + grace)`."""
        deadline = self._deadline_seconds + self.policy.deadline_grace_seconds
        return min(
            self.started_at + timedelta(seconds=self.policy.timeout_seconds),
            self.t0 + timedelta(seconds=deadline),
        )

    def observe(
        self,
        deployment: KubeObject | None,
        replicasets: Sequence[KubeObject],
        pods: Sequence[KubeObject],
        events: Iterable[KubeObject],
        now: datetime,
    ) -> Verdict | None:
        """Record one observation and return the final verdict, or None while progressing."""
        if self.verdict is not None:
            return self.verdict
        if deployment is not None:
            self._deadline_seconds = progress_deadline_seconds(deployment)
        phase = evaluate_deployment_phase(deployment, self.applied, self.t0)
        if phase.status.is_final:
            return self._finish(
                Verdict(
                    status=phase.status,
                    rule=phase.rule,
                    message=phase.message,
                    target=self.target,
                    observed_at=now,
                )
            )
        assert deployment is not None  # a deleted deployment is a final phase
        obs, old_count = self._observation(deployment, replicasets, pods, events, phase, now)
        evaluated = evaluate_observation(obs, self.policy)
        self.history.append(evaluated)
        if len(self.history) > _HISTORY_LIMIT:
            del self.history[: len(self.history) - _HISTORY_LIMIT]
        verdict = early_failure(self.history, now, self.policy, self.target)
        if verdict is None and now >= self.ceiling:
            verdict = timeout_verdict(obs, self.target, now, gate_met=obs.decidable)
        self._publish(evaluated, old_count, now)
        return self._finish(verdict) if verdict is not None else None

    def _finish(self, verdict: Verdict) -> Verdict:
        self.verdict = verdict
        self.progress = RolloutProgress(
            self.target,
            verdict.status,
            verdict.message,
            self.progress.new_pods,
            self.progress.old_pods,
            (),
            self.progress.notes,
            verdict.observed_at,
        )
        return verdict

    def _publish(self, evaluated: Evaluated, old_count: int, now: datetime) -> None:
        obs = evaluated.observation
        notes = list(evaluated.notes)
        pending = self._memory.gate_pending_since
        if (
            pending is not None
            and (now - pending).total_seconds() > self.policy.gate_warning_seconds
        ):
            notes.append("the deployment controller is not observing the new spec")
        self.progress = RolloutProgress(
            target=self.target,
            status=RolloutStatus.PROGRESSING,
            message=obs.phase.message,
            new_pods=obs.pods,
            old_pods=old_count,
            arming=tuple(arming_rules(self.history)),
            notes=tuple(notes),
            at=now,
        )

    def _observation(
        self,
        deployment: KubeObject,
        replicasets: Sequence[KubeObject],
        pods: Sequence[KubeObject],
        events: Iterable[KubeObject],
        phase: Phase,
        now: datetime,
    ) -> tuple[Observation, int]:
        memory = self._memory
        gate_met = phase.status is not RolloutStatus.PENDING
        if gate_met:
            memory.gate_pending_since = None
        elif memory.gate_pending_since is None:
            memory.gate_pending_since = now
        new_rs = find_new_replicaset(deployment, replicasets)
        if self._infer_start and new_rs is not None:
            self._infer_start = False
            self._adopt_start(new_rs)
        new_raw, old_raw = split_pods(pods, new_rs)
        live = [
            p
            for p in new_raw
            if not (p.get("metadata") or {}).get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") not in _SKIPPED_PHASES
        ]
        self._remember_events(live, events)
        signals = []
        for pod in live:
            for key, value in restart_baselines(pod, self.t0).items():
                memory.baselines.setdefault(key, value)
            signals.append(pod_signals(pod, memory.baselines, memory.pulls))
        memory.pulls.update(remembered_pull_classes(signals))
        if any(s.ready for s in signals):
            memory.new_ready_seen = True
        spec = deployment.get("spec") or {}
        obs = Observation(
            at=now,
            phase=phase,
            desired_replicas=int(spec.get("replicas", 1) or 0),
            new_rs_replicas=rs_replicas(new_rs),
            decidable=gate_met and (new_rs is None or new_rs.revision_matches),
            pods=tuple(signals),
            events={uid_of(p) or "": memory.events.get(uid_of(p) or "", PodEvents()) for p in live},
            new_ready_seen=memory.new_ready_seen,
            replica_failure=replica_failure(deployment, new_rs),
            old_replicas=old_replicas(replicasets, new_rs, uid_of(deployment)),
            old_terminating=sum(
                bool((p.get("metadata") or {}).get("deletionTimestamp")) for p in old_raw
            ),
            old_grace_seconds=grace_seconds(old_raw, deployment),
            recreate=(spec.get("strategy") or {}).get("type") == "Recreate",
        )
        return obs, len(old_raw)

    def _adopt_start(self, new_rs: NewReplicaSet) -> None:
        created = parse_time((new_rs.replicaset.get("metadata") or {}).get("creationTimestamp"))
        if (
            created is not None
            and created < self.t0
            and (self.t0 - created).total_seconds() <= self._deadline_seconds
        ):
            self.t0 = created

    def _remember_events(self, live: Sequence[KubeObject], events: Iterable[KubeObject]) -> None:
        by_pod: dict[str, list[KubeObject]] = {}
        wanted = {uid_of(p) for p in live}
        for ev in events:
            uid = (ev.get("involvedObject") or {}).get("uid")
            if uid in wanted:
                by_pod.setdefault(str(uid), []).append(ev)
        for uid, pod_events in by_pod.items():
            summary = summarize_pod_events(pod_events, self.t0)
            self._memory.events[uid] = summary
            for container, message in summary.pull_failures:
                pull = classify_image_pull_message(message)
                if pull is not ImagePullClass.UNKNOWN and container:
                    self._memory.pulls[container_key(uid, container, init=False)] = pull
                    self._memory.pulls[container_key(uid, container, init=True)] = pull
