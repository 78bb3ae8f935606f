"""Status evidence: what the pods, events and Deployment say, summarised for the analysis.

Also tells new pods from old ones, with `deploy_assistant.workloads` (this module reads objects
only; it never talks to a cluster).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from deploy_assistant.models import (
    ContainerSummary,
    EventSummary,
    KubeObject,
    PodSummary,
    RawContext,
)
from deploy_assistant.workloads import (
    REVISION_ANNOTATION,
    name_of,
    snapshot_new_replicaset,
    split_pods,
)

# Warning reasons whose message names the problem (scheduler, kubelet, controllers).
PROBLEM_REASONS = frozenset(
    {
        "FailedScheduling",
        "Failed",
        "BackOff",
        "FailedMount",
        "FailedAttachVolume",
        "FailedCreate",
        "FailedCreatePodSandBox",
        "Unhealthy",
        "OOMKilling",
        "ErrImagePull",
        "InspectFailed",
        "ErrImageNeverPull",
        "FailedPostStartHook",
        "FailedPreStopHook",
        "ProgressDeadlineExceeded",
        "Evicted",
        "FailedKillPod",
        "NetworkNotReady",
    }
)


def event_summaries(events: Sequence[KubeObject]) -> list[EventSummary]:
    """One EventSummary per event (core/v1 or events.k8s.io/v1 shape), in input order."""
    summaries = []
    for event in events:
        involved = event.get("involvedObject") or event.get("regarding") or {}
        obj = "/".join(str(x) for x in (involved.get("kind"), involved.get("name")) if x)
        series = event.get("series") or {}
        summaries.append(
            EventSummary(
                object=obj,
                reason=str(event.get("reason") or ""),
                message=str(event.get("message") or event.get("note") or ""),
                type=str(event.get("type") or "Normal"),
                count=int(event.get("count") or series.get("count") or 1),
                first_seen=_time(event.get("firstTimestamp") or event.get("eventTime")),
                last_seen=_time(event.get("lastTimestamp") or series.get("lastObservedTime")),
            )
        )
    return summaries


def pinned_event_indexes(events: Sequence[EventSummary]) -> set[int]:
    """The first Warning event of each problem reason: the message that names the problem."""
    seen: set[str] = set()
    pinned = set()
    for index, event in enumerate(events):
        if event.type == "Warning" and event.reason in PROBLEM_REASONS and event.reason not in seen:
            seen.add(event.reason)
            pinned.add(index)
    return pinned


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def container_summaries(statuses: Sequence[KubeObject], init: bool) -> list[ContainerSummary]:
    """State, last exit reason/code and messages of each container status.

    A container waiting in CrashLoopBackOff reports `state="waiting: CrashLoopBackOff"` and the
    reason/exit code/termination message of its last termination (the actual failure).
    """
    summaries = []
    for status in statuses:
        state = status.get("state") or {}
        current = next(iter(state), "")
        detail = state.get(current) or {}
        terminated = state.get("terminated") or (status.get("lastState") or {}).get("terminated")
        terminated = terminated or {}
        label = f"{current}: {detail['reason']}" if detail.get("reason") else current
        reason = terminated.get("reason") or detail.get("reason")
        messages = [m for m in (terminated.get("message"), detail.get("message")) if m]
        exit_code = terminated.get("exitCode")
        summaries.append(
            ContainerSummary(
                name=str(status.get("name") or "?"),
                init=init,
                state=label,
                reason=str(reason) if reason else None,
                exit_code=int(exit_code) if isinstance(exit_code, int) else None,
                restarts=int(status.get("restartCount") or 0),
                message=" | ".join(str(m) for m in dict.fromkeys(messages)) or None,
            )
        )
    return summaries


def pod_is_healthy(pod: KubeObject) -> bool:
    """Ready, and no container ever restarted or waits."""
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    return bool(statuses) and all(
        s.get("ready") and not s.get("restartCount") and "waiting" not in (s.get("state") or {})
        for s in statuses
    )


def new_pod_names(raw: RawContext) -> set[str] | None:
    """Pods of the Deployment's current ReplicaSet; None when the snapshot has no ReplicaSet.

    Pods that record neither an owner nor a hash count as new (only known old pods are set aside).
    """
    new_rs = snapshot_new_replicaset(raw.deployment, raw.replicasets)
    if new_rs is None:
        return None
    new, _ = split_pods(raw.pods, new_rs, unknown_are_new=True)
    return {name_of(pod) or "?" for pod in new}


def pod_summaries(raw: RawContext) -> list[PodSummary]:
    """One PodSummary per pod; `new` is False only for pods known to be of an older revision."""
    new_names = new_pod_names(raw)
    summaries = []
    for pod in raw.pods:
        meta = pod.get("metadata") or {}
        status = pod.get("status") or {}
        name = str(meta.get("name") or "?")
        conditions = tuple(
            f"{c.get('type')}={c.get('status')}"
            + (f" ({c.get('reason')}: {c.get('message') or ''})" if c.get("reason") else "")
            for c in status.get("conditions") or []
            if c.get("status") != "True"
        )
        containers = container_summaries(status.get("initContainerStatuses") or [], init=True)
        containers += container_summaries(status.get("containerStatuses") or [], init=False)
        summaries.append(
            PodSummary(
                name=name,
                new=new_names is None or name in new_names,
                phase=status.get("phase"),
                node=(pod.get("spec") or {}).get("nodeName"),
                conditions=conditions,
                containers=tuple(containers),
            )
        )
    return summaries


def healthy_pod_names(pods: Sequence[KubeObject]) -> set[str]:
    return {str((p.get("metadata") or {}).get("name")) for p in pods if pod_is_healthy(p)}


def deployment_summary(deployment: KubeObject | None) -> dict[str, Any]:
    """Name, revision, replica counts, failing conditions and container images/resources."""
    if not deployment:
        return {}
    meta = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    return {
        "name": meta.get("name"),
        "revision": (meta.get("annotations") or {}).get(REVISION_ANNOTATION),
        "replicas": {
            k: status.get(k)
            for k in (
                "replicas",
                "updatedReplicas",
                "readyReplicas",
                "availableReplicas",
                "unavailableReplicas",
            )
            if status.get(k) is not None
        }
        | {"desired": spec.get("replicas")},
        "conditions": [
            f"{c.get('type')}={c.get('status')} {c.get('reason') or ''}: {c.get('message') or ''}"
            for c in status.get("conditions") or []
        ],
        "containers": [
            {"name": c.get("name"), "image": c.get("image"), "resources": c.get("resources") or {}}
            for c in pod_spec.get("containers") or []
        ],
    }
