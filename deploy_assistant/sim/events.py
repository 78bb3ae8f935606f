"""core/v1 Events as the client-go event recorder writes them.

A repeat of the same (object, fieldPath, reason, message, type) bumps `count` and `lastTimestamp`
of the first Event instead of creating another; names are `<object>.<hex nanoseconds>`.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from deploy_assistant.sim.objects import Obj, timestamp

if TYPE_CHECKING:  # the store owns a recorder; importing it here at run time would be a cycle
    from deploy_assistant.sim.state import ClusterState

AggregationKey = tuple[str, str, str, str, str]


def involved_reference(involved: Obj) -> Obj:
    """An ObjectReference from a full object or from a reference-shaped dict."""
    if "metadata" not in involved:
        return {k: v for k, v in involved.items() if v is not None}
    meta = involved["metadata"]
    ref = {
        "kind": involved.get("kind"),
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "apiVersion": involved.get("apiVersion"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    return {k: v for k, v in ref.items() if v is not None}


class EventRecorder:
    """Writes and aggregates Events in one store; `record` may be called with its lock held."""

    def __init__(self, state: ClusterState) -> None:
        self._state = state
        self._names: dict[AggregationKey, tuple[str, str]] = {}
        self._sequence = itertools.count(1)

    def record(
        self,
        involved: Obj,
        reason: str,
        message: str,
        type: str,
        component: str,
        host: str | None,
        field_path: str | None,
    ) -> Obj:
        """The created or bumped Event (a copy); see `ClusterState.record_event`."""
        ref = involved_reference(involved)
        if field_path:
            ref["fieldPath"] = field_path
        key = (ref.get("uid", ""), ref.get("fieldPath", ""), reason, message, type)
        state = self._state
        with state.cond:
            now = state.clock.now()
            existing = self._names.get(key)
            if existing and state.get("events", *existing) is not None:

                def bump(event: Obj) -> None:
                    event["count"] = int(event.get("count") or 1) + 1
                    event["lastTimestamp"] = timestamp(now)

                return state.mutate("events", existing[0], existing[1], bump)
            stamp = int(now.timestamp() * 1e9) + next(self._sequence)
            namespace = ref.get("namespace") or "default"
            event = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": f"{ref.get('name', 'unknown')}.{stamp:x}",
                    "namespace": namespace,
                },
                "involvedObject": ref,
                "reason": reason,
                "message": message,
                "type": type,
                "source": {"component": component, **({"host": host} if host else {})},
                "firstTimestamp": timestamp(now),
                "lastTimestamp": timestamp(now),
                "count": 1,
                "eventTime": None,
                "reportingComponent": component,
                "reportingInstance": host or "",
            }
            created = state.create("events", event)
            self._names[key] = (namespace, created["metadata"]["name"])
            return created
