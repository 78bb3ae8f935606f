"""The watch role's picture of the cluster, kept up to date from the informers' changes.

Deployments by (namespace, name), ReplicaSets and Pods by uid, children by owner uid, and the
Events of pods that the evaluator reads. Objects stay packed (`informers.Packed`) until a rollout
being evaluated needs them. Used from the watch loop's thread only, except `namespaces()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from deploy_assistant.models import KubeObject
from deploy_assistant.watcher.informers import Change, Key, Packed


class Everything:
    """Every active rollout may be affected (a relist)."""


ALL: Final = Everything()


def _namespace_of(events: dict[str, KubeObject]) -> str | None:
    for event in events.values():
        return str((event.get("metadata") or {}).get("namespace") or "")
    return None


@dataclass
class ClusterIndex:
    """Deployments by (namespace, name); ReplicaSets, Pods by uid; children by owner uid."""

    excluded: frozenset[str]
    deployments: dict[Key, Packed] = field(default_factory=dict)
    deployment_keys: dict[str, Key] = field(default_factory=dict)
    objects: dict[str, dict[str, Packed]] = field(
        default_factory=lambda: {"replicasets": {}, "pods": {}}
    )
    children: dict[str, set[str]] = field(default_factory=dict)
    events: dict[str, dict[str, KubeObject]] = field(default_factory=dict)
    _namespaces: frozenset[str] = frozenset()
    _orphans: set[str] = field(default_factory=set)

    def namespaces(self) -> frozenset[str]:
        """Namespaces holding Deployments (read from the stream threads: an immutable value)."""
        return self._namespaces

    def deployment(self, key: Key) -> KubeObject | None:
        packed = self.deployments.get(key)
        return packed.decoded() if packed is not None else None

    def put_deployment(self, packed: Packed) -> None:
        self.deployments[packed.key] = packed
        self.deployment_keys[packed.uid] = packed.key
        if packed.namespace not in self._namespaces:
            self._namespaces = self._namespaces | {packed.namespace}

    def remove_deployment(self, key: Key) -> None:
        gone = self.deployments.pop(key, None)
        if gone is not None:
            self.deployment_keys.pop(gone.uid, None)

    def apply(self, change: Change) -> set[Key] | Everything:
        """Apply one stream change; the Deployments whose rollouts it may affect."""
        if change.kind == "events":
            return self._apply_events(change)
        store = self.objects[change.kind]
        if change.type == "SYNC":
            for uid in [u for u, p in store.items() if change.scope in (None, p.namespace)]:
                self._forget(store, uid)
        touched: set[Key] = set()
        for packed in change.objects:
            if packed.namespace in self.excluded:
                continue
            if change.type == "DELETED":
                self._forget(store, packed.uid)
            else:
                store[packed.uid] = packed
                if packed.owner:
                    self.children.setdefault(packed.owner, set()).add(packed.uid)
            key = self._deployment_of(change.kind, packed.owner)
            if key is not None:
                touched.add(key)
        return ALL if change.type == "SYNC" else touched

    def _forget(self, store: dict[str, Packed], uid: str) -> None:
        packed = store.pop(uid, None)
        if packed is not None and packed.owner in self.children:
            self.children[packed.owner].discard(uid)
            if not self.children[packed.owner]:
                del self.children[packed.owner]
        self.events.pop(uid, None)

    def _apply_events(self, change: Change) -> set[Key] | Everything:
        if change.type == "SYNC":
            self.events = {
                uid: bucket
                for uid, bucket in self.events.items()
                if change.scope is not None and _namespace_of(bucket) != change.scope
            }
        touched: set[Key] = set()
        for packed in change.objects:
            if packed.namespace in self.excluded:
                continue
            pod_uid = packed.owner or ""
            bucket = self.events.setdefault(pod_uid, {})
            if change.type == "DELETED":
                bucket.pop(packed.uid, None)
            else:
                bucket[packed.uid] = packed.decoded()
            pod = self.objects["pods"].get(pod_uid)
            key = self._deployment_of("pods", pod.owner) if pod is not None else None
            if key is not None:
                touched.add(key)
        return ALL if change.type == "SYNC" else touched

    def prune_events(self) -> None:
        """Drop Events of pods unknown now and at the previous prune (deleted pods, mostly)."""
        pods = self.objects["pods"]
        orphans = {uid for uid in self.events if uid not in pods}
        for uid in orphans & self._orphans:
            del self.events[uid]
        self._orphans = orphans - self._orphans

    def _deployment_of(self, kind: str, owner: str | None) -> Key | None:
        """The Deployment key of a ReplicaSet's owner, or of a pod's owner's owner."""
        if owner is None:
            return None
        if kind == "replicasets":
            return self.deployment_keys.get(owner)
        replicaset = self.objects["replicasets"].get(owner)
        if replicaset is None or replicaset.owner is None:
            return None
        return self.deployment_keys.get(replicaset.owner)

    def rollout_objects(
        self, deployment_uid: str
    ) -> tuple[list[KubeObject], list[KubeObject], list[KubeObject]]:
        """The Deployment's ReplicaSets, their Pods and those Pods' Events."""
        rs_store, pod_store = self.objects["replicasets"], self.objects["pods"]
        rs_uids = [u for u in self.children.get(deployment_uid, ()) if u in rs_store]
        pod_uids = [u for rs in rs_uids for u in self.children.get(rs, ()) if u in pod_store]
        events = [e for u in pod_uids for e in self.events.get(u, {}).values()]
        replicasets = [rs_store[u].decoded() for u in rs_uids]
        return replicasets, [pod_store[u].decoded() for u in pod_uids], events
