"""The new ReplicaSet, its pods, and the per-pod signals the early-failure policy reads.

Pure functions over API JSON dicts. The new ReplicaSet and the new/old split come from
`deploy_assistant.workloads` (controller semantics); this module wraps them with the revision
cross-check the tracker must honour before deciding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from deploy_assistant.kube.messages import (
    classify_config_error_message,
    classify_image_pull_message,
)
from deploy_assistant.kube.phase import at_or_after, parse_time
from deploy_assistant.models import (
    ContainerSignals,
    ImagePullClass,
    KubeObject,
    PodFailureSignals,
    PodSignals,
)
from deploy_assistant.workloads import (
    controller_uid,
    is_pod_of,
    revisions_agree,
    template_hash,
    uid_of,
)
from deploy_assistant.workloads import find_new_replicaset as find_owned_new_replicaset
from deploy_assistant.workloads import split_pods as split_by_replicaset

PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff"})

# Kept under the name the tracker, observation and watcher modules import.
controller_owner_uid = controller_uid


@dataclass(frozen=True)
class NewReplicaSet:
    replicaset: KubeObject
    pod_template_hash: str | None
    revision_matches: bool
    """False while the RS revision annotation lags the Deployment's: never decide on it."""

    @property
    def uid(self) -> str | None:
        return uid_of(self.replicaset)


def find_new_replicaset(
    deployment: KubeObject, replicasets: Iterable[KubeObject]
) -> NewReplicaSet | None:
    """The new ReplicaSet (upstream `FindNewReplicaSet`), or None while it does not exist."""
    rs = find_owned_new_replicaset(deployment, replicasets)
    if rs is None:
        return None
    return NewReplicaSet(
        replicaset=rs,
        pod_template_hash=template_hash(rs),
        revision_matches=revisions_agree(deployment, rs),
    )


def is_new_pod(pod: KubeObject, new_rs: NewReplicaSet) -> bool:
    """Owned by the new RS (controller ownerReference) and carrying its `pod-template-hash`."""
    return is_pod_of(pod, new_rs.replicaset) is True


def split_pods(
    pods: Iterable[KubeObject], new_rs: NewReplicaSet | None
) -> tuple[list[KubeObject], list[KubeObject]]:
    """(new pods, old pods). Without a new RS every pod is old."""
    return split_by_replicaset(pods, new_rs.replicaset if new_rs is not None else None)


def container_key(pod_uid: str, name: str, *, init: bool) -> str:
    return f"{pod_uid}/{'init' if init else 'app'}/{name}"


def _statuses(pod: KubeObject) -> Iterable[tuple[bool, KubeObject]]:
    status = pod.get("status") or {}
    for init, field in ((True, "initContainerStatuses"), (False, "containerStatuses")):
        for cs in status.get(field) or []:
            if isinstance(cs, dict):
                yield init, cs


def restart_baselines(pod: KubeObject, t0: datetime) -> dict[str, int]:
    """Restart counts to subtract: 0 for pods created after T0, the current count otherwise.

    A rollback re-uses an old ReplicaSet whose pods may carry old restarts; only restarts
    since our apply count.
    """
    uid = uid_of(pod) or ""
    created = parse_time((pod.get("metadata") or {}).get("creationTimestamp"))
    fresh = at_or_after(created, t0)
    return {
        container_key(uid, str(cs.get("name")), init=init): 0
        if fresh
        else int(cs.get("restartCount") or 0)
        for init, cs in _statuses(pod)
    }


def container_signals(
    cs: KubeObject,
    *,
    init: bool,
    baseline: int = 0,
    remembered_pull: ImagePullClass | None = None,
) -> ContainerSignals:
    """One container's state; a pull class remembered from an earlier ErrImagePull carries over
    the bare `ImagePullBackOff` that follows it."""
    state = cs.get("state") or {}
    last = (cs.get("lastState") or {}).get("terminated") or {}
    waiting = state.get("waiting") or {}
    terminated = state.get("terminated") or {}
    waiting_reason = waiting.get("reason")
    message = waiting.get("message")
    pull_class = None
    config_class = None
    if waiting_reason in PULL_REASONS:
        pull_class = classify_image_pull_message(message)
        if pull_class is ImagePullClass.UNKNOWN and remembered_pull is not None:
            pull_class = remembered_pull
    if waiting_reason == "CreateContainerConfigError":
        config_class = classify_config_error_message(message)
    restarts = int(cs.get("restartCount") or 0)
    return ContainerSignals(
        name=str(cs.get("name") or ""),
        init=init,
        ready=cs.get("ready") is True,
        started=cs.get("started") if isinstance(cs.get("started"), bool) else None,
        restarts=restarts,
        restarts_since_start=max(0, restarts - baseline),
        waiting_reason=waiting_reason,
        waiting_message=message,
        terminated_reason=terminated.get("reason"),
        terminated_exit_code=terminated.get("exitCode"),
        last_terminated_reason=last.get("reason"),
        last_exit_code=last.get("exitCode"),
        last_finished_at=parse_time(last.get("finishedAt")),
        image_pull_class=pull_class,
        config_error_class=config_class,
    )


def _condition(pod: KubeObject, kind: str) -> KubeObject:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return {}


def pod_signals(
    pod: KubeObject,
    baselines: Mapping[str, int],
    remembered_pulls: Mapping[str, ImagePullClass] | None = None,
) -> PodSignals:
    """Everything the policy reads about one pod, app and init containers alike."""
    uid = uid_of(pod) or ""
    status = pod.get("status") or {}
    remembered = remembered_pulls or {}
    app: list[ContainerSignals] = []
    inits: list[ContainerSignals] = []
    for init, cs in _statuses(pod):
        key = container_key(uid, str(cs.get("name")), init=init)
        signals = container_signals(
            cs, init=init, baseline=baselines.get(key, 0), remembered_pull=remembered.get(key)
        )
        (inits if init else app).append(signals)
    scheduled = _condition(pod, "PodScheduled")
    sched_status = scheduled.get("status")
    unschedulable = sched_status == "False" and scheduled.get("reason") == "Unschedulable"
    return PodSignals(
        name=str((pod.get("metadata") or {}).get("name") or ""),
        uid=uid or None,
        phase=status.get("phase"),
        reason=status.get("reason"),
        ready=_condition(pod, "Ready").get("status") == "True",
        terminating=bool((pod.get("metadata") or {}).get("deletionTimestamp")),
        scheduled=None if sched_status is None else sched_status == "True",
        unschedulable_message=str(scheduled.get("message") or "") if unschedulable else None,
        nominated_node=status.get("nominatedNodeName") or None,
        node=(pod.get("spec") or {}).get("nodeName") or None,
        containers=tuple(app),
        init_containers=tuple(inits),
    )


def remembered_pull_classes(pods: Iterable[PodSignals]) -> dict[str, ImagePullClass]:
    """Pull classes worth remembering for the next observation (anything but unknown)."""
    out: dict[str, ImagePullClass] = {}
    for pod in pods:
        for c in (*pod.init_containers, *pod.containers):
            if c.image_pull_class not in (None, ImagePullClass.UNKNOWN):
                out[container_key(pod.uid or "", c.name, init=c.init)] = c.image_pull_class
    return out


def all_containers(pod: PodSignals) -> tuple[ContainerSignals, ...]:
    return (*pod.init_containers, *pod.containers)


def analyze_pod_failures(pods: Sequence[PodSignals]) -> PodFailureSignals:
    """The seed's counters, counted per pod over new pods only; "pending" means Unschedulable."""
    live = [p for p in pods if not p.terminating]
    return PodFailureSignals(
        crashloop_pods=sum(
            any(c.waiting_reason == "CrashLoopBackOff" for c in all_containers(p)) for p in live
        ),
        image_pull_pods=sum(
            any(c.waiting_reason in PULL_REASONS for c in all_containers(p)) for p in live
        ),
        pending_scheduling_pods=sum(p.unschedulable_message is not None for p in live),
        total_pods=len(live),
        pods=tuple(live),
    )


def needs_events(pod: PodSignals) -> bool:
    """A state whose cause is only in the pod's Events (autoscaler, mounts, probe kills, pulls)."""
    if pod.terminating:
        return False
    if pod.unschedulable_message is not None:
        return True
    for c in all_containers(pod):
        if c.waiting_reason == "ContainerCreating":
            return True
        if c.waiting_reason in PULL_REASONS and c.image_pull_class is ImagePullClass.UNKNOWN:
            return True
        if c.last_exit_code in (137, 143) and c.last_terminated_reason != "OOMKilled":
            return True
    return False
