"""One observation of a rollout: the facts the early-failure rules read, at one instant.

An `Observation` is built by the tracker from the objects it has (Deployment, ReplicaSets, new
pods, their Events) on every watch event and every tick; rules are pure functions of a history
of observations and the current time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from deploy_assistant.kube.phase import Phase, at_or_after, parse_time, uid_of
from deploy_assistant.kube.pods import NewReplicaSet, controller_owner_uid
from deploy_assistant.models import FailureRule, KubeObject, PodSignals

SCALE_UP_TRIGGERED = frozenset({"TriggeredScaleUp", "Nominated"})
SCALE_UP_REFUSED = frozenset({"NotTriggerScaleUp"})
NODE_ADMISSION_REASONS = frozenset({"OutOfcpu", "OutOfmemory", "UnexpectedAdmissionError"})


@dataclass(frozen=True)
class PodEvents:
    """What a pod's Events since T0 add to its status (autoscaler, probe kills, mounts, pulls)."""

    scale_up_triggered: bool = False
    scale_up_refused: bool = False
    autoscaler_message: str | None = None
    probe_kills: int = 0
    failed_mount_not_found: int = 0
    mount_message: str | None = None
    pull_failures: tuple[tuple[str, str], ...] = ()
    """(container name, "Failed to pull image …" message), latest last."""


def summarize_pod_events(events: Iterable[KubeObject], t0: datetime) -> PodEvents:
    """Fold one pod's Events into `PodEvents`; events last seen before T0 are ignored."""
    triggered = refused = False
    autoscaler: str | None = None
    probe_kills = mounts = 0
    mount_message: str | None = None
    pulls: list[tuple[str, str]] = []
    for ev in events:
        last = parse_time(ev.get("lastTimestamp") or ev.get("eventTime"))
        if last is not None and not at_or_after(last, t0):
            continue
        reason = str(ev.get("reason") or "")
        message = str(ev.get("message") or "")
        count = int(ev.get("count") or 1)
        if reason in SCALE_UP_TRIGGERED:
            triggered, autoscaler = True, message
        elif reason in SCALE_UP_REFUSED or (
            reason == "FailedScheduling" and message.startswith("Failed to schedule pod")
        ):
            refused, autoscaler = True, message
        elif reason == "Killing" and ("liveness probe" in message or "startup probe" in message):
            probe_kills += count
        elif reason == "FailedMount" and "not found" in message:
            mounts += count
            mount_message = message
        elif reason == "Failed" and message.startswith("Failed to pull image"):
            path = str((ev.get("involvedObject") or {}).get("fieldPath") or "")
            container = path.partition("{")[2].rstrip("}")
            pulls.append((container, message))
    return PodEvents(
        triggered, refused, autoscaler, probe_kills, mounts, mount_message, tuple(pulls)
    )


@dataclass(frozen=True)
class Observation:
    """The rollout at one instant, new-ReplicaSet pods only (old pods never trigger a failure)."""

    at: datetime
    phase: Phase
    desired_replicas: int = 1
    new_rs_replicas: int | None = None
    """`spec.replicas` of the new ReplicaSet; None before it exists."""
    decidable: bool = True
    """False while the new RS's revision lags the Deployment's, or the gate is not met."""
    pods: tuple[PodSignals, ...] = ()
    events: Mapping[str, PodEvents] = field(default_factory=dict)
    """Per new-pod uid."""
    new_ready_seen: bool = False
    """Some new pod has been Ready at some observation since T0."""
    replica_failure: str | None = None
    """The message of a ReplicaFailure=True condition on the Deployment or the new RS."""
    old_replicas: int = 0
    old_terminating: int = 0
    """Old pods with a deletionTimestamp: capacity that is on its way back."""
    old_grace_seconds: float = 30.0
    recreate: bool = False

    @property
    def replicas_target(self) -> int:
        return self.new_rs_replicas if self.new_rs_replicas is not None else self.desired_replicas

    def events_for(self, pod: PodSignals) -> PodEvents:
        return self.events.get(pod.uid or "", PodEvents())


@dataclass(frozen=True)
class RuleHit:
    """A rule's predicate holding in one observation.

    `key` is what must stay the same for the window to keep running (usually the rule; the
    quota rule adds the old-RS size, so a scale-down restarts its window).
    """

    rule: FailureRule
    window_seconds: float
    message: str
    key: str = ""
    pod: str | None = None
    container: str | None = None

    @property
    def window_key(self) -> str:
        return self.key or self.rule.value


@dataclass(frozen=True)
class Evaluated:
    """An observation and the rule hits computed for it (computed once, read on every tick)."""

    observation: Observation
    hits: tuple[RuleHit, ...]
    notes: tuple[str, ...] = ()


# --- facts about the ReplicaSets behind an observation ---------------------------------------


def rs_replicas(new_rs: NewReplicaSet | None) -> int | None:
    if new_rs is None:
        return None
    value = (new_rs.replicaset.get("spec") or {}).get("replicas")
    return int(value) if isinstance(value, int) else None


def replica_failure(deployment: KubeObject, new_rs: NewReplicaSet | None) -> str | None:
    sources = [deployment] + ([new_rs.replicaset] if new_rs is not None else [])
    for obj in sources:
        for cond in (obj.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
                return str(cond.get("message") or cond.get("reason") or "FailedCreate")
    return None


def old_replicas(
    replicasets: Sequence[KubeObject], new_rs: NewReplicaSet | None, dep_uid: str | None
) -> int:
    new_uid = new_rs.uid if new_rs is not None else None
    return sum(
        int((rs.get("spec") or {}).get("replicas") or 0)
        for rs in replicasets
        if controller_owner_uid(rs) == dep_uid and uid_of(rs) != new_uid
    )


def grace_seconds(old_pods: Sequence[KubeObject], deployment: KubeObject) -> float:
    values = [(p.get("spec") or {}).get("terminationGracePeriodSeconds") for p in old_pods] + [
        ((deployment.get("spec") or {}).get("template") or {})
        .get("spec", {})
        .get("terminationGracePeriodSeconds")
    ]
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    return max(numbers) if numbers else 30.0
