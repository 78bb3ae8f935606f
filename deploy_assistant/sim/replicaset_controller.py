"""The ReplicaSet controller: keeps `spec.replicas` pods, counts ready/available ones, and reports
refused pod creations (quota, PodSecurity, webhooks) as `FailedCreate` events and a
`ReplicaFailure` condition, retrying with back-off like the real controller's rate limiter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from deploy_assistant.sim.admission import admission_error
from deploy_assistant.sim.cluster import SimContext, owner_reference
from deploy_assistant.sim.engine import WorkQueue
from deploy_assistant.sim.ownership import Key, object_key
from deploy_assistant.sim.state import Obj, clone

RECONCILE_DELAY_SECONDS = 0.05
MAX_RETRY_SECONDS = 30.0


def pod_ready_since(pod: Obj) -> datetime | None:
    """When the pod's Ready condition last became True, or None if it is not Ready."""
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            return datetime.fromisoformat(str(cond["lastTransitionTime"]).replace("Z", "+00:00"))
    return None


def _is_active(pod: Obj) -> bool:
    phase = pod.get("status", {}).get("phase")
    return not pod["metadata"].get("deletionTimestamp") and phase not in ("Succeeded", "Failed")


def _deletion_rank(pod: Obj) -> tuple[int, int, int, int, str]:
    """Pods to delete first sort first (controller.ActivePods ordering, simplified)."""
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}
    restarts = sum(
        int(c.get("restartCount", 0)) for c in pod.get("status", {}).get("containerStatuses") or []
    )
    created = str(pod["metadata"].get("creationTimestamp", ""))
    return (
        1 if pod["spec"].get("nodeName") else 0,
        phase_rank.get(pod.get("status", {}).get("phase", "Pending"), 0),
        1 if pod_ready_since(pod) else 0,
        -restarts,
        "".join(chr(255 - ord(ch)) for ch in created),
    )


class ReplicaSetController:
    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.queue: WorkQueue[Key] = WorkQueue(ctx.engine, self.sync)
        self._retry_seconds: dict[Key, float] = {}
        self._not_before: dict[Key, float] = {}
        self._last_failure: dict[Key, str] = {}

    def observe(self, plural: str, event_type: str, obj: dict[str, Any]) -> None:
        """Store listener: requeue the RS a change concerns (called under the store lock)."""
        if plural == "replicasets" and event_type != "DELETED":
            meta, status = obj["metadata"], obj.get("status") or {}
            if event_type == "ADDED" or meta.get("generation") != status.get("observedGeneration"):
                self.queue.add(object_key(obj), RECONCILE_DELAY_SECONDS)
        elif plural == "pods":
            namespace = obj["metadata"].get("namespace", "")
            for ref in obj["metadata"].get("ownerReferences") or []:
                if ref.get("controller") and ref.get("kind") == "ReplicaSet":
                    self.queue.add((namespace, ref["name"]), RECONCILE_DELAY_SECONDS)
            if event_type == "DELETED":
                # Freed quota: retry refused creations in the namespace now, as the real
                # controller does when its expectations are satisfied by the deletion.
                for key in list(self._retry_seconds):
                    if key[0] == namespace:
                        self._not_before.pop(key, None)
                        self.queue.add(key, RECONCILE_DELAY_SECONDS)

    def _pods(self, rs: Obj) -> list[Obj]:
        pods = (
            self.ctx.state.get("pods", ns, name)
            for ns, name in self.ctx.index.children(rs["metadata"]["uid"])
        )
        return [pod for pod in pods if pod is not None]

    def sync(self, key: Key) -> None:
        rs = self.ctx.state.get("replicasets", *key)
        if rs is None:
            self._forget_failure(key)
            return
        active = [pod for pod in self._pods(rs) if _is_active(pod)]
        diff = len(active) - int(rs["spec"].get("replicas", 0))
        failure: str | None = None
        if diff < 0 and self.ctx.engine.now() < self._not_before.get(key, -1e18):
            failure = self._last_failure.get(key)  # backing off after a refused create
        elif diff < 0:
            created, failure = self._create_pods(rs, -diff)
            active.extend(created)
        elif diff > 0:
            for pod in sorted(active, key=_deletion_rank)[:diff]:
                self.ctx.delete_pod(*object_key(pod))
                self.ctx.state.record_event(
                    rs,
                    "SuccessfulDelete",
                    f"Deleted pod: {pod['metadata']['name']}",
                    component="replicaset-controller",
                )
            active = sorted(active, key=_deletion_rank)[diff:]
        self._write_status(rs, active, failure)
        if failure is None:
            self._forget_failure(key)
        elif self.ctx.engine.now() >= self._not_before.get(key, -1e18):
            delay = min(self._retry_seconds.get(key, 1.0) * 2, MAX_RETRY_SECONDS)
            self._retry_seconds[key], self._last_failure[key] = delay, failure
            self._not_before[key] = self.ctx.engine.now() + delay
            self.queue.add(key, delay)

    def _forget_failure(self, key: Key) -> None:
        self._retry_seconds.pop(key, None)
        self._not_before.pop(key, None)
        self._last_failure.pop(key, None)

    def _create_pods(self, rs: Obj, count: int) -> tuple[list[Obj], str | None]:
        created: list[Obj] = []
        for _ in range(count):
            pod = self._new_pod(rs)
            error = admission_error(self.ctx, pod)
            if error is not None:
                self.ctx.state.record_event(
                    rs,
                    "FailedCreate",
                    f"Error creating: {error}",
                    type="Warning",
                    component="replicaset-controller",
                )
                return created, error
            stored = self.ctx.state.create("pods", pod)
            created.append(stored)
            self.ctx.state.record_event(
                rs,
                "SuccessfulCreate",
                f"Created pod: {stored['metadata']['name']}",
                component="replicaset-controller",
            )
        return created, None

    def _new_pod(self, rs: Obj) -> Obj:
        template = clone(rs["spec"]["template"])
        meta = template.get("metadata") or {}
        base = rs["metadata"]["name"]
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{base}-{self.ctx.suffix()}",
                "generateName": f"{base}-",
                "namespace": rs["metadata"]["namespace"],
                "labels": dict(meta.get("labels") or {}),
                "annotations": dict(meta.get("annotations") or {}),
                "ownerReferences": [owner_reference(rs)],
            },
            "spec": template.get("spec") or {},
            "status": {"phase": "Pending", "qosClass": "BestEffort"},
        }

    def _write_status(self, rs: Obj, active: list[Obj], failure: str | None) -> None:
        min_ready = int(rs["spec"].get("minReadySeconds", 0))
        now = self.ctx.now()
        ready = available = 0
        next_available: float | None = None
        for pod in active:
            since = pod_ready_since(pod)
            if since is None:
                continue
            ready += 1
            waited = (now - since).total_seconds()
            if waited >= min_ready:
                available += 1
            else:
                remaining = min_ready - waited
                next_available = min(next_available or remaining, remaining)
        if next_available is not None:
            self.queue.add(object_key(rs), next_available + 0.01)
        counts = {
            "replicas": len(active),
            "fullyLabeledReplicas": len(active),
            "readyReplicas": ready,
            "availableReplicas": available,
        }
        status: dict[str, Any] = {k: v for k, v in counts.items() if v or k == "replicas"}
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        old_conditions = [
            c
            for c in (rs.get("status") or {}).get("conditions") or []
            if c.get("type") == "ReplicaFailure"
        ]
        if failure is not None:
            same = old_conditions and old_conditions[0].get("message") == failure
            status["conditions"] = (
                old_conditions
                if same
                else [
                    {
                        "type": "ReplicaFailure",
                        "status": "True",
                        "reason": "FailedCreate",
                        "message": failure,
                        "lastTransitionTime": self.ctx.stamp(),
                    }
                ]
            )

        def put(obj: Obj) -> None:
            obj["status"] = status

        if (rs.get("status") or {}) != status:
            self.ctx.state.mutate("replicasets", *object_key(rs), put)
