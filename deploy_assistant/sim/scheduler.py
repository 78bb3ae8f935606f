"""The scheduler: binds pending pods to feasible nodes (spreading a ReplicaSet's pods), or marks
them `PodScheduled=False/Unschedulable` with a `FailedScheduling` event, and retries when the
cluster changes (a pod leaves, a node joins, a claim binds) or every 30 s, like the real queue."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from deploy_assistant.sim.autoscaler import Autoscaler
from deploy_assistant.sim.cluster import SimContext
from deploy_assistant.sim.engine import WorkQueue
from deploy_assistant.sim.node_filters import fit_error, node_reasons, prefilter_error
from deploy_assistant.sim.ownership import Key, controller_uid, object_key
from deploy_assistant.sim.resources import container_resources, parse_quantity
from deploy_assistant.sim.state import Obj

SOURCE = "default-scheduler"
RETRY_SECONDS = 30.0


class NodeUsage:
    """Requests and pod counts bound to each node, kept as running sums so a scheduling decision
    costs O(nodes), not O(pods)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pods: dict[Key, tuple[str, str | None, dict[str, float]]] = {}
        self._used: dict[str, dict[str, float]] = {}
        self._count: dict[str, int] = {}
        self._siblings: dict[tuple[str, str | None], int] = {}

    def bind(self, key: Key, node: str, owner: str | None, requests: dict[str, float]) -> None:
        with self._lock:
            self._pods[key] = (node, owner, requests)
            used = self._used.setdefault(node, {})
            for name, value in requests.items():
                used[name] = used.get(name, 0.0) + value
            self._count[node] = self._count.get(node, 0) + 1
            self._siblings[(node, owner)] = self._siblings.get((node, owner), 0) + 1

    def release(self, key: Key) -> None:
        with self._lock:
            found = self._pods.pop(key, None)
            if found is None:
                return
            node, owner, requests = found
            used = self._used[node]
            for name, value in requests.items():
                used[name] -= value
            self._count[node] -= 1
            self._siblings[(node, owner)] -= 1

    def used(self, node: str) -> tuple[dict[str, float], int]:
        with self._lock:
            return dict(self._used.get(node, {})), self._count.get(node, 0)

    def siblings(self, node: str, owner: str | None) -> int:
        with self._lock:
            return self._siblings.get((node, owner), 0)


class Scheduler:
    def __init__(self, ctx: SimContext, on_bound: Callable[[Key], None]) -> None:
        self.ctx = ctx
        self.on_bound = on_bound
        self.queue: WorkQueue[Key] = WorkQueue(ctx.engine, self.schedule)
        self.autoscaler: Autoscaler | None = None
        self.usage = NodeUsage()
        self._pending: set[Key] = set()
        self._retry_armed = False
        self._nodes: list[Obj] | None = None
        """Cached node list, dropped whenever a node changes."""

    def observe(self, plural: str, event_type: str, obj: dict[str, Any]) -> None:
        """Store listener (under the store lock)."""
        if plural == "pods":
            key, node = object_key(obj), obj["spec"].get("nodeName")
            if event_type == "ADDED" and not node:
                self.queue.add(key, 0.05)
            elif event_type == "DELETED" and node:
                self.usage.release(key)
                self.ctx.engine.after(0.5, self._retry_pending)
        elif plural == "nodes" or (plural == "persistentvolumeclaims" and event_type == "MODIFIED"):
            if plural == "nodes":
                self._nodes = None
            self.ctx.engine.after(0.5, self._retry_pending)

    def _retry_pending(self) -> None:
        for key in sorted(self._pending):
            self.queue.add(key)

    def _periodic_retry(self) -> None:
        self._retry_armed = False
        self._retry_pending()

    def _neighbour_labels(self, node: str) -> list[dict[str, str]]:
        pods = (self.ctx.state.get("pods", *key) for key in self.ctx.index.pods_on_node(node))
        return [pod["metadata"].get("labels") or {} for pod in pods if pod is not None]

    def reasons(self, pod: Obj, node: Obj, requests: dict[str, float] | None = None) -> list[str]:
        name = node["metadata"]["name"]
        used, count = self.usage.used(name)
        return node_reasons(pod, node, used, count, lambda: self._neighbour_labels(name), requests)

    def _claim_problem(self, pod: Obj) -> str | None:
        for volume in pod["spec"].get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            pvc = self.ctx.state.get("persistentvolumeclaims", pod["metadata"]["namespace"], claim)
            if pvc is None:
                return f'persistentvolumeclaim "{claim}" not found'
            if (pvc.get("status") or {}).get("phase") != "Bound":
                return "pod has unbound immediate PersistentVolumeClaims"
        return None

    def schedule(self, key: Key) -> None:
        pod = self.ctx.state.get("pods", *key)
        if pod is None or pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            self._pending.discard(key)
            return
        if self._nodes is None:
            self._nodes = self.ctx.state.list("nodes")[0]
        nodes = self._nodes
        claim = self._claim_problem(pod)
        if claim is not None:
            self._unschedulable(pod, prefilter_error(len(nodes), claim), fits_new_node=False)
            return
        requests = container_resources(pod["spec"], "requests")
        verdicts = [(node, self.reasons(pod, node, requests)) for node in nodes]
        feasible = [node for node, reasons in verdicts if not reasons]
        if not feasible:
            message = fit_error(len(nodes), [reasons for _, reasons in verdicts])
            self._unschedulable(pod, message, fits_new_node=True)
            return
        self._bind(pod, min(feasible, key=lambda node: self._score(pod, node)))

    def _score(self, pod: Obj, node: Obj) -> tuple[int, float, str]:
        """Lower is better: fewest pods of the same owner, then most free memory."""
        name = node["metadata"]["name"]
        siblings = self.usage.siblings(name, controller_uid(pod))
        used, _ = self.usage.used(name)
        memory = parse_quantity(node["status"]["allocatable"].get("memory", "0"))
        return (siblings, -(memory - used.get("memory", 0.0)), name)

    def _bind(self, pod: Obj, node: Obj) -> None:
        key, name = object_key(pod), node["metadata"]["name"]
        requests = container_resources(pod["spec"], "requests")
        self.usage.bind(key, name, controller_uid(pod), requests)
        self._pending.discard(key)
        stamp = self.ctx.stamp()

        def bind(obj: Obj) -> None:
            obj["spec"]["nodeName"] = name
            obj.setdefault("status", {})["conditions"] = [
                {
                    "type": "PodScheduled",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": stamp,
                }
            ]

        self.ctx.state.mutate("pods", *key, bind)
        self.ctx.state.record_event(
            pod, "Scheduled", f"Successfully assigned {key[0]}/{key[1]} to {name}", component=SOURCE
        )
        self.ctx.engine.after(0.3, lambda: self.on_bound(key))

    def _unschedulable(self, pod: Obj, message: str, *, fits_new_node: bool) -> None:
        key = object_key(pod)
        self._pending.add(key)
        stamp = self.ctx.stamp()

        def mark(obj: Obj) -> None:
            obj.setdefault("status", {})["phase"] = "Pending"
            old = next(
                (c for c in obj["status"].get("conditions") or [] if c["type"] == "PodScheduled"),
                None,
            )
            obj["status"]["conditions"] = [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": (old or {}).get("lastTransitionTime", stamp),
                    "reason": "Unschedulable",
                    "message": message,
                }
            ]

        self.ctx.state.mutate("pods", *key, mark)
        self.ctx.state.record_event(
            pod, "FailedScheduling", message, type="Warning", component=SOURCE
        )
        if self.autoscaler is not None:
            self.autoscaler.consider(pod, self if fits_new_node else None)
        if not self._retry_armed:
            self._retry_armed = True
            self.ctx.engine.after(RETRY_SECONDS, self._periodic_retry)
