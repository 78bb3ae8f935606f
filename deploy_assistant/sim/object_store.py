"""The versioned object store under the simulated API: objects, resourceVersions and history.

One `threading.Condition` guards everything; every change bumps one resourceVersion shared by all
kinds, appends to a bounded history (older watches get 410 Expired) and wakes watchers. Stored
objects are never modified in place (every write stores a fresh copy), so history entries can share
them; callers always receive copies.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable

from deploy_assistant.clock import Clock
from deploy_assistant.sim.objects import (
    CLUSTER_SCOPED,
    GENERATION_KINDS,
    KINDS,
    ApiError,
    Obj,
    clone,
    not_found,
    qualified_resource,
    timestamp,
)
from deploy_assistant.sim.selectors import SelectorError, object_matcher

Listener = Callable[[str, str, Obj], None]
HistoryEntry = tuple[int, str, str, Obj, Obj | None]
HistoryList = list[HistoryEntry]
ChangeList = list[tuple[int, str, Obj]]


class ObjectStore:
    """API objects by kind, namespace and name, with the change history watches replay.

    Thread-safe; see the module docstring. `clock` stamps creationTimestamp.
    """

    def __init__(self, clock: Clock, history_limit: int = 10000) -> None:
        self.clock = clock
        self.cond = threading.Condition()
        self._rv = 0
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {p: {} for p in KINDS}
        self._history: deque[HistoryEntry] = deque(maxlen=history_limit)
        self._floor_rv = 0
        self._listeners: list[Listener] = []

    @property
    def resource_version(self) -> int:
        return self._rv

    # -- writes ---------------------------------------------------------------------------------

    def _key(self, plural: str, namespace: str | None, name: str) -> tuple[str, str]:
        if plural not in KINDS:
            raise ApiError(
                404, "NotFound", f'the server could not find the requested resource "{plural}"'
            )
        return ("" if plural in CLUSTER_SCOPED else (namespace or "default"), name)

    def _commit(self, plural: str, event_type: str, obj: Obj, prev: Obj | None) -> Obj:
        """Store `obj` (already carrying the new resourceVersion), record history, notify."""
        key = self._key(plural, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if event_type == "DELETED":
            self._objects[plural].pop(key, None)
        else:
            self._objects[plural][key] = obj
        if len(self._history) == self._history.maxlen:
            self._floor_rv = self._history[0][0]
        self._history.append((self._rv, plural, event_type, obj, prev))
        for listener in list(self._listeners):
            listener(plural, event_type, clone(obj))
        self.cond.notify_all()
        return clone(obj)

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def create(self, plural: str, obj: Obj) -> Obj:
        """Store a new object with server-filled metadata; 409 AlreadyExists if the name exists."""
        with self.cond:
            new = clone(obj)
            api_version, kind = KINDS.get(plural, ("v1", ""))
            new.setdefault("apiVersion", api_version)
            new.setdefault("kind", kind)
            meta = new.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            if not meta.get("name"):
                raise ApiError(422, "Invalid", f"{kind} is invalid: metadata.name: Required value")
            if plural not in CLUSTER_SCOPED:
                meta["namespace"] = meta.get("namespace") or "default"
            key = self._key(plural, meta.get("namespace"), meta["name"])
            if key in self._objects[plural]:
                raise ApiError(
                    409,
                    "AlreadyExists",
                    f'{qualified_resource(plural)} "{meta["name"]}" already exists',
                )
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = timestamp(self.clock.now())
            meta["resourceVersion"] = self._next_rv()
            if plural in GENERATION_KINDS:
                meta["generation"] = 1
            return self._commit(plural, "ADDED", new, None)

    def _store_update(self, plural: str, old: Obj, new: Obj) -> Obj:
        meta = new.setdefault("metadata", {})
        for field in ("uid", "creationTimestamp", "namespace", "name"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
        new.setdefault("apiVersion", old.get("apiVersion"))
        new.setdefault("kind", old.get("kind"))
        if plural in GENERATION_KINDS:
            generation = old["metadata"].get("generation", 1)
            meta["generation"] = (
                generation + 1 if new.get("spec") != old.get("spec") else generation
            )
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return clone(old)
        meta["resourceVersion"] = self._next_rv()
        return self._commit(plural, "MODIFIED", new, old)

    def replace(self, plural: str, obj: Obj) -> Obj:
        """Replace an existing object; 409 Conflict if a stale resourceVersion is given."""
        with self.cond:
            meta = obj.get("metadata") or {}
            old = self._existing(plural, meta.get("namespace"), meta.get("name", ""))
            given_rv = meta.get("resourceVersion")
            if given_rv and str(given_rv) != old["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f"Operation cannot be fulfilled on {qualified_resource(plural)} "
                    f'"{meta.get("name")}": the object has been modified; please apply your '
                    "changes to the latest version and try again",
                )
            return self._store_update(plural, old, clone(obj))

    def mutate(
        self, plural: str, namespace: str | None, name: str, fn: Callable[[Obj], None]
    ) -> Obj:
        """Read-modify-write under the lock: `fn` edits a copy in place; MODIFIED only on change."""
        with self.cond:
            old = self._existing(plural, namespace, name)
            new = clone(old)
            fn(new)
            return self._store_update(plural, old, new)

    def delete(self, plural: str, namespace: str | None, name: str) -> Obj:
        """Remove an object; the DELETED history entry carries a new resourceVersion."""
        with self.cond:
            old = self._existing(plural, namespace, name)
            gone = clone(old)
            gone["metadata"]["resourceVersion"] = self._next_rv()
            return self._commit(plural, "DELETED", gone, old)

    # -- reads ----------------------------------------------------------------------------------

    def _existing(self, plural: str, namespace: str | None, name: str) -> Obj:
        found = self._objects[plural].get(self._key(plural, namespace, name)) if name else None
        if found is None:
            raise not_found(plural, name)
        return found

    def get(self, plural: str, namespace: str | None, name: str) -> Obj | None:
        with self.cond:
            found = self._objects[plural].get(self._key(plural, namespace, name))
            return clone(found) if found is not None else None

    def list(
        self,
        plural: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[Obj], str]:
        """Matching objects sorted by namespace/name, and the list's resourceVersion."""
        try:
            matches = object_matcher(label_selector, field_selector)
        except SelectorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from exc
        with self.cond:
            self._key(plural, namespace, "")
            items = [
                clone(obj)
                for key, obj in sorted(self._objects[plural].items())
                if (namespace is None or plural in CLUSTER_SCOPED or key[0] == namespace)
                and matches(obj)
            ]
            return items, str(self._rv)

    # -- watch support --------------------------------------------------------------------------

    def history_entries(self, rv: int) -> HistoryList:
        """Raw history after `rv` (shared objects: do not modify); 410 Expired when compacted."""
        with self.cond:
            if rv < self._floor_rv:
                raise ApiError(410, "Expired", f"too old resource version: {rv} ({self._floor_rv})")
            return [entry for entry in self._history if entry[0] > rv]

    def history_since(self, plural: str, rv: int) -> ChangeList:
        """(rv, type, object copy) for `plural` after `rv`; ApiError 410 when `rv` is too old."""
        return [
            (entry_rv, event_type, clone(obj))
            for entry_rv, entry_plural, event_type, obj, _ in self.history_entries(rv)
            if entry_plural == plural
        ]

    def compact(self) -> None:
        """Forget all history: watches from any older resourceVersion now get 410 Expired."""
        with self.cond:
            self._history.clear()
            self._floor_rv = self._rv
            self.cond.notify_all()

    def add_listener(self, fn: Listener) -> None:
        """`fn(plural, type, copy)` runs under the lock after each change; it must only enqueue."""
        with self.cond:
            self._listeners.append(fn)
