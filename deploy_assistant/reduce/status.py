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


def _dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else empty: snapshots may hold any type anywhere."""
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The JSON objects of a list; other items and non-lists are skipped."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _count(value: Any) -> int | None:
    """A non-negative integer count, None for any other type (`"many"`, `true`, `-1`)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def event_summaries(events: Sequence[Any]) -> list[EventSummary]:
    """One EventSummary per event (core/v1 or events.k8s.io/v1 shape), in input order; items
    that are not objects are skipped and fields of the wrong type read as absent."""
    summaries = []
    for event in _dicts(list(events)):
        involved = _dict(event.get("involvedObject") or event.get("regarding"))
        obj = "/".join(str(x) for x in (involved.get("kind"), involved.get("name")) if x)
        series = _dict(event.get("series"))
        summaries.append(
            EventSummary(
                object=obj,
                reason=str(event.get("reason") or ""),
                message=str(event.get("message") or event.get("note") or ""),
                type=str(event.get("type") or "Normal"),
                count=_count(event.get("count")) or _count(series.get("count")) or 1,
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


def container_summaries(statuses: Any, init: bool) -> list[ContainerSummary]:
    """State, last exit reason/code and messages of each container status.

    A container waiting in CrashLoopBackOff reports `state="waiting: CrashLoopBackOff"` and the
    reason/exit code/termination message of its last termination (the actual failure). Statuses
    that are not objects are skipped; fields of the wrong type read as absent.
    """
    summaries = []
    for status in _dicts(statuses):
        state = _dict(status.get("state"))
        current = str(next(iter(state), ""))
        detail = _dict(state.get(current))
        terminated = _dict(
            state.get("terminated") or _dict(status.get("lastState")).get("terminated")
        )
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
                restarts=_count(status.get("restartCount")) or 0,
                message=" | ".join(str(m) for m in dict.fromkeys(messages)) or None,
            )
        )
    return summaries


def pod_is_healthy(pod: KubeObject) -> bool:
    """Ready, and no container ever restarted or waits (odd shapes count as not healthy)."""
    statuses = _dict(pod.get("status")).get("containerStatuses")
    if not isinstance(statuses, list) or not statuses:
        return False
    return all(
        isinstance(s, dict)
        and s.get("ready") is True
        and not s.get("restartCount")
        and "waiting" not in _dict(s.get("state"))
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
    for pod in _dicts(list(raw.pods)):
        meta = _dict(pod.get("metadata"))
        status = _dict(pod.get("status"))
        name = str(meta.get("name") or "?")
        conditions = tuple(
            f"{c.get('type')}={c.get('status')}"
            + (f" ({c.get('reason')}: {c.get('message') or ''})" if c.get("reason") else "")
            for c in _dicts(status.get("conditions"))
            if c.get("status") != "True"
        )
        containers = container_summaries(status.get("initContainerStatuses"), init=True)
        containers += container_summaries(status.get("containerStatuses"), init=False)
        phase, node = status.get("phase"), _dict(pod.get("spec")).get("nodeName")
        summaries.append(
            PodSummary(
                name=name,
                new=new_names is None or name in new_names,
                phase=phase if isinstance(phase, str) else None,
                node=node if isinstance(node, str) else None,
                conditions=conditions,
                containers=tuple(containers),
            )
        )
    return summaries


def healthy_pod_names(pods: Sequence[Any]) -> set[str]:
    return {
        str(_dict(p.get("metadata")).get("name")) for p in _dicts(list(pods)) if pod_is_healthy(p)
    }


def deployment_summary(deployment: KubeObject | None) -> dict[str, Any]:
    """Name, revision, replica counts, failing conditions and container images/resources."""
    if not deployment:
        return {}
    meta = _dict(deployment.get("metadata"))
    spec = _dict(deployment.get("spec"))
    status = _dict(deployment.get("status"))
    pod_spec = _dict(_dict(spec.get("template")).get("spec"))
    return {
        "name": meta.get("name"),
        "revision": _dict(meta.get("annotations")).get(REVISION_ANNOTATION),
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
            for c in _dicts(status.get("conditions"))
        ],
        "containers": [
            {"name": c.get("name"), "image": c.get("image"), "resources": c.get("resources") or {}}
            for c in _dicts(pod_spec.get("containers"))
        ],
    }
