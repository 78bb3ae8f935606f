"""The simulated cluster's state: the versioned object store plus what the API server adds.

`ClusterState` is an `ObjectStore` (objects, resourceVersions, history for watches) with RBAC
denials, injected request failures and dropped watches, the event recorder, container logs and
graceful pod deletion. Names that moved to smaller modules are re-exported here unchanged.

Deleting a pod through the API is graceful once a deletion handler is registered (the simulated
kubelet): a bound, unfinished pod with a grace period gets `deletionTimestamp` and
`deletionGracePeriodSeconds` (MODIFIED), and the handler finishes the deletion with `delete`.
Without a handler every deletion removes the object at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from deploy_assistant.clock import Clock
from deploy_assistant.sim.events import EventRecorder, involved_reference
from deploy_assistant.sim.logs import LogKey, LogLine, PodLogs
from deploy_assistant.sim.object_store import (
    ChangeList,
    HistoryEntry,
    HistoryList,
    Listener,
    ObjectStore,
)
from deploy_assistant.sim.objects import (
    CLUSTER_SCOPED,
    GENERATION_KINDS,
    KINDS,
    ApiError,
    Obj,
    T,
    api_group,
    clone,
    micro_timestamp,
    micro_timestamp_of,
    not_found,
    qualified_resource,
    timestamp,
)
from deploy_assistant.sim.views import forbidden

__all__ = [
    "CLUSTER_SCOPED",
    "DEFAULT_USER",
    "GENERATION_KINDS",
    "KINDS",
    "VERBS",
    "ApiError",
    "ChangeList",
    "ClusterState",
    "DeletionHandler",
    "HistoryEntry",
    "HistoryList",
    "Listener",
    "LogKey",
    "LogLine",
    "Obj",
    "PodLogs",
    "T",
    "api_group",
    "clone",
    "deletion_grace_seconds",
    "involved_reference",
    "micro_timestamp",
    "micro_timestamp_of",
    "not_found",
    "qualified_resource",
    "timestamp",
]

DeletionHandler = Callable[[Obj], None]
VERBS = {"get", "list", "watch", "create", "update", "patch", "delete", "log"}
DEFAULT_USER = "system:serviceaccount:ci:deployer"
TERMINAL_PHASES = ("Succeeded", "Failed")


def deletion_grace_seconds(pod: Obj, requested_seconds: int | None) -> int:
    """The grace period the API server grants a pod's deletion (0: remove at once).

    As the pod strategy decides: the request's gracePeriodSeconds, else the pod's
    terminationGracePeriodSeconds, else 0; 0 for an unscheduled or finished pod; negative is 1.
    """
    spec = pod.get("spec") or {}
    if not spec.get("nodeName") or (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
        return 0
    if requested_seconds is None:
        requested_seconds = int(spec.get("terminationGracePeriodSeconds") or 0)
    return 1 if requested_seconds < 0 else requested_seconds


class ClusterState(ObjectStore):
    """In-memory API objects for one simulated cluster, with what the API server adds around them:
    RBAC denials, injected failures, events, container logs and graceful pod deletion.

    Thread-safe: everything runs under the store's `cond` (see `ObjectStore`).
    """

    def __init__(self, clock: Clock, history_limit: int = 10000) -> None:
        super().__init__(clock, history_limit)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.user = DEFAULT_USER
        self.logs = PodLogs(clock)
        self._deletion_handlers: list[DeletionHandler] = []
        self._denied: set[tuple[str, str, str | None]] = set()
        self._events = EventRecorder(self)
        self.watch_epoch = 0
        self.failures_left = 0
        self.failure_status = 503

    # -- faults and RBAC ------------------------------------------------------------------------

    def cut_watches(self) -> None:
        """Make the server drop every open watch connection abruptly."""
        with self.cond:
            self.watch_epoch += 1
            self.cond.notify_all()

    def fail_requests(self, n: int, status: int = 503) -> None:
        """The next `n` HTTP requests fail with `status`."""
        with self.cond:
            self.failures_left, self.failure_status = n, status

    def deny(self, verb: str, plural: str, namespace: str | None = None) -> None:
        """Forbid `verb` on `plural` (in `namespace`, or everywhere when None) for the API user."""
        if verb not in VERBS:
            raise ValueError(f"unknown verb {verb!r}; use one of {sorted(VERBS)}")
        with self.cond:
            self._denied.add((verb, plural, namespace))

    def authorize(self, verb: str, plural: str, namespace: str | None, name: str = "") -> None:
        """Raise 403 Forbidden, worded like the API server, if `deny` forbade this request."""
        with self.cond:
            denied = {(verb, plural, namespace), (verb, plural, None)} & self._denied
        if denied:
            raise forbidden(self.user, verb, plural, namespace, name)

    # -- events and logs ------------------------------------------------------------------------

    def record_event(
        self,
        involved: Obj,
        reason: str,
        message: str,
        type: str = "Normal",
        component: str = "kubelet",
        host: str | None = None,
        field_path: str | None = None,
    ) -> Obj:
        """A core/v1 Event as the real recorder writes it; repeats aggregate (count+1).

        `involved` is the full object (or an ObjectReference dict); `field_path` names a container
        as the kubelet does (`spec.containers{app}`).
        """
        return self._events.record(involved, reason, message, type, component, host, field_path)

    def write_log(self, namespace: str, pod: str, container: str, text: str) -> None:
        """Append lines to the container's current log, each stamped with the clock's time."""
        with self.cond:
            self.logs.write(namespace, pod, container, text)
            self.cond.notify_all()

    def restart_log(self, namespace: str, pod: str, container: str) -> None:
        """The current log becomes the previous one (a container restart); current is empty."""
        with self.cond:
            self.logs.restart(namespace, pod, container)
            self.cond.notify_all()

    # -- graceful deletion ----------------------------------------------------------------------

    def add_deletion_handler(self, fn: DeletionHandler) -> None:
        """From now on API deletions of running pods are graceful and `fn` must finish them.

        `fn(pod copy)` runs each time a pod's graceful deletion begins or its grace period
        shortens, after the pod got `deletionTimestamp`; it runs in the deleting thread, outside
        this call's hold of the lock, and must call `delete` once the pod has stopped.
        """
        with self.cond:
            self._deletion_handlers.append(fn)

    def request_deletion(
        self,
        plural: str,
        namespace: str | None,
        name: str,
        grace_period_seconds: int | None = None,
    ) -> tuple[Obj, bool]:
        """What an API DELETE does: (the removed object, True), or (the pod now terminating,
        False) when its deletion is graceful (see `deletion_grace_seconds`) and a deletion handler
        is registered. A pod already terminating keeps its deadline unless the new grace period
        is shorter; 0 removes it at once."""
        with self.cond:
            old = self._existing(plural, namespace, name)
            graceful = plural == "pods" and bool(self._deletion_handlers)
            grace = deletion_grace_seconds(old, grace_period_seconds) if graceful else 0
            if grace == 0:
                return self.delete(plural, namespace, name), True
            meta = old["metadata"]
            pending = meta.get("deletionGracePeriodSeconds")
            if meta.get("deletionTimestamp") and (pending is None or grace >= int(pending)):
                return clone(old), False
            deadline = timestamp(self.clock.now() + timedelta(seconds=grace))

            def mark(pod: Obj) -> None:
                pod["metadata"]["deletionTimestamp"] = deadline
                pod["metadata"]["deletionGracePeriodSeconds"] = grace

            marked = self.mutate(plural, namespace, name, mark)
            handlers = list(self._deletion_handlers)
        for handler in handlers:
            handler(clone(marked))
        return marked, False
