"""Who owns what: controller ownerReferences and pod placement, indexed from store changes.

The store's listener keeps this index current under the store's lock, so a controller that just
created a pod sees it at once; the controllers read it instead of listing (a LIST scans every
object of the kind, which would not scale to tens of thousands of pods).
"""

from __future__ import annotations

import threading
from typing import Any

Key = tuple[str, str]
"""(namespace, name)"""


def controller_uid(obj: dict[str, Any]) -> str | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


def object_key(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata", {})
    return (str(meta.get("namespace") or ""), str(meta["name"]))


class OwnershipIndex:
    """Children by controller uid, and pods by node. Safe to read from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._children: dict[str, set[Key]] = {}
        self._owner: dict[tuple[str, Key], str] = {}
        self._pods_on_node: dict[str, set[Key]] = {}
        self._node_of: dict[Key, str] = {}

    def observe(self, plural: str, event_type: str, obj: dict[str, Any]) -> None:
        if plural not in ("replicasets", "pods"):
            return
        key = object_key(obj)
        owner = controller_uid(obj)
        with self._lock:
            old_owner = self._owner.pop((plural, key), None)
            if old_owner is not None:
                self._children.get(old_owner, set()).discard(key)
            if event_type != "DELETED" and owner is not None:
                self._owner[(plural, key)] = owner
                self._children.setdefault(owner, set()).add(key)
            if plural == "pods":
                self._place(key, None if event_type == "DELETED" else obj["spec"].get("nodeName"))

    def _place(self, key: Key, node: str | None) -> None:
        old = self._node_of.pop(key, None)
        if old is not None:
            self._pods_on_node.get(old, set()).discard(key)
        if node:
            self._node_of[key] = node
            self._pods_on_node.setdefault(node, set()).add(key)

    def children(self, owner_uid: str) -> list[Key]:
        with self._lock:
            return sorted(self._children.get(owner_uid, ()))

    def pods_on_node(self, node: str) -> list[Key]:
        with self._lock:
            return sorted(self._pods_on_node.get(node, ()))
