"""Hand-built Deployment / ReplicaSet / Pod / Event dicts in API JSON shape for the kube tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
DEP_UID = "dep-uid"
NEW_RS_UID = "rs-new-uid"
OLD_RS_UID = "rs-old-uid"
NEW_HASH = "5d8f7c9b6"
OLD_HASH = "7f6c5d4e3"

Obj = dict[str, Any]


def stamp(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def template(image: str = "registry.example.com/web:v2", hash_label: str | None = None) -> Obj:
    labels = {"app": "web"}
    if hash_label:
        labels["pod-template-hash"] = hash_label
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def deployment(
    *,
    replicas: int = 3,
    updated: int = 0,
    status_replicas: int = 3,
    available: int = 3,
    generation: int = 2,
    observed: int = 2,
    image: str = "registry.example.com/web:v2",
    revision: str = "2",
    conditions: list[Obj] | None = None,
    paused: bool = False,
    uid: str = DEP_UID,
    deadline_seconds: int = 600,
    strategy: str = "RollingUpdate",
) -> Obj:
    spec: Obj = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": "web"}},
        "template": template(image),
        "progressDeadlineSeconds": deadline_seconds,
        "strategy": {"type": strategy},
    }
    if paused:
        spec["paused"] = True
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": uid,
            "generation": generation,
            "annotations": {"deployment.kubernetes.io/revision": revision},
        },
        "spec": spec,
        "status": {
            "observedGeneration": observed,
            "replicas": status_replicas,
            "updatedReplicas": updated,
            "availableReplicas": available,
            "readyReplicas": available,
            "conditions": conditions or [],
        },
    }


def progressing(reason: str, updated_at: float) -> Obj:
    status = "False" if reason == "ProgressDeadlineExceeded" else "True"
    return {
        "type": "Progressing",
        "status": status,
        "reason": reason,
        "lastUpdateTime": stamp(updated_at),
        "lastTransitionTime": stamp(updated_at),
    }


def replicaset(
    *,
    new: bool = True,
    replicas: int = 3,
    revision: str | None = None,
    created: float = -1,
    image: str | None = None,
    conditions: list[Obj] | None = None,
    uid: str | None = None,
    owner: str = DEP_UID,
) -> Obj:
    rs_hash = NEW_HASH if new else OLD_HASH
    img = image or ("registry.example.com/web:v2" if new else "registry.example.com/web:v1")
    return {
        "metadata": {
            "name": f"web-{rs_hash}",
            "uid": uid or (NEW_RS_UID if new else OLD_RS_UID),
            "creationTimestamp": stamp(created),
            "labels": {"app": "web", "pod-template-hash": rs_hash},
            "annotations": {"deployment.kubernetes.io/revision": revision or ("2" if new else "1")},
            "ownerReferences": [{"kind": "Deployment", "uid": owner, "controller": True}],
        },
        "spec": {"replicas": replicas, "template": template(img, rs_hash)},
        "status": {"replicas": replicas, "conditions": conditions or []},
    }


def running(
    *, ready: bool = True, restarts: int = 0, last: tuple[str, int, float] | None = None
) -> Obj:
    cs: Obj = {
        "name": "app",
        "ready": ready,
        "started": True,
        "restartCount": restarts,
        "state": {"running": {"startedAt": stamp(0)}},
    }
    if last:
        cs["lastState"] = {
            "terminated": {"reason": last[0], "exitCode": last[1], "finishedAt": stamp(last[2])}
        }
    return cs


def waiting(
    reason: str,
    message: str = "",
    *,
    restarts: int = 0,
    last: tuple[str, int, float] | None = None,
    name: str = "app",
) -> Obj:
    cs: Obj = {
        "name": name,
        "ready": False,
        "started": False,
        "restartCount": restarts,
        "state": {"waiting": {"reason": reason, "message": message}},
    }
    if last:
        cs["lastState"] = {
            "terminated": {"reason": last[0], "exitCode": last[1], "finishedAt": stamp(last[2])}
        }
    return cs


def pod(
    name: str,
    *,
    new: bool = True,
    containers: list[Obj] | None = None,
    init: list[Obj] | None = None,
    ready: bool = False,
    phase: str = "Running",
    created: float = 1,
    unschedulable: str | None = None,
    deleting: bool = False,
    reason: str | None = None,
) -> Obj:
    rs_hash = NEW_HASH if new else OLD_HASH
    conditions: list[Obj] = [{"type": "Ready", "status": "True" if ready else "False"}]
    if unschedulable is not None:
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": unschedulable,
            }
        )
        phase = "Pending"
    else:
        conditions.append({"type": "PodScheduled", "status": "True"})
    metadata: Obj = {
        "name": name,
        "uid": f"uid-{name}",
        "creationTimestamp": stamp(created),
        "labels": {"app": "web", "pod-template-hash": rs_hash},
        "ownerReferences": [
            {"kind": "ReplicaSet", "uid": NEW_RS_UID if new else OLD_RS_UID, "controller": True}
        ],
    }
    if deleting:
        metadata["deletionTimestamp"] = stamp(created + 1)
    status: Obj = {"phase": phase, "conditions": conditions}
    if reason:
        status["reason"] = reason
    if containers is not None:
        status["containerStatuses"] = containers
    if init is not None:
        status["initContainerStatuses"] = init
    return {"metadata": metadata, "spec": {"nodeName": "node-1"}, "status": status}


def event(pod_name: str, reason: str, message: str, *, seconds: float = 5, count: int = 1) -> Obj:
    return {
        "involvedObject": {
            "kind": "Pod",
            "name": pod_name,
            "uid": f"uid-{pod_name}",
            "fieldPath": "spec.containers{app}",
        },
        "reason": reason,
        "message": message,
        "count": count,
        "lastTimestamp": stamp(seconds),
        "type": "Warning",
    }
