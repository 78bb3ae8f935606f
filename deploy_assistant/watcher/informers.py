"""Shared informers for the watch role: LIST+WATCH streams and the index they keep up to date.

An `Informer` thread lists one kind, then watches it from the list's resourceVersion with
bookmarks: a normal end of the watch resumes from the last resourceVersion seen, 410 Gone
relists, a cut connection or an API error backs off (0.8 s doubling to 30 s of clock time) and
relists, and a refusal (401/403) is reported once as FATAL. A cluster-wide list of ReplicaSets,
Pods or Events is read one namespace at a time (the namespaces that hold Deployments) so a
50,000-pod list is never decoded in one piece; the watch then runs cluster-wide from the first
list's resourceVersion, replaying what changed during the listing.

What the streams carry is trimmed to the fields the evaluator reads and packed as compressed
JSON (`Packed`), decoded only for rollouts being evaluated, so 50,000 idle pods cost ~30 MB.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import sys
import threading
import zlib
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from deploy_assistant.clock import Clock
from deploy_assistant.errors import ClusterUnavailable
from deploy_assistant.kube.client import KubeApiError, KubeClient
from deploy_assistant.kube.observation import SCALE_UP_REFUSED, SCALE_UP_TRIGGERED
from deploy_assistant.kube.pods import controller_owner_uid
from deploy_assistant.kube.streams import Backoff, forbidden_error
from deploy_assistant.models import KubeObject

logger = logging.getLogger(__name__)

Key = tuple[str, str]


@dataclass(frozen=True)
class Change:
    """What a stream saw: SYNC (a full list of `scope`), ADDED/MODIFIED/DELETED, ERROR, FATAL."""

    kind: str
    scope: str | None
    type: str
    objects: tuple[Packed, ...] = ()
    error: Exception | None = None


class Informer(threading.Thread):
    """A daemon thread reflecting one kind in one scope (None: all namespaces) into `out`."""

    def __init__(
        self,
        client: KubeClient,
        out: queue.Queue[Change],
        stop: threading.Event,
        clock: Clock,
        *,
        kind: str,
        scope: str | None,
        label_selector: str | None,
        namespaces: Callable[[], Iterable[str]],
        watch_timeout_seconds: float,
    ) -> None:
        super().__init__(name=f"informer-{kind}-{scope or 'all'}", daemon=True)
        self.client, self.out, self.stop, self.clock = client, out, stop, clock
        self.kind, self.scope, self.label_selector = kind, scope, label_selector
        self.namespaces = namespaces
        self.watch_timeout_seconds = watch_timeout_seconds

    def _emit(
        self, type_: str, objects: tuple[Packed, ...] = (), error: Exception | None = None
    ) -> None:
        self.out.put(Change(self.kind, self.scope, type_, objects, error))

    def run(self) -> None:
        backoff = Backoff(self.clock, self.stop)
        while not self.stop.is_set():
            try:
                objects, resource_version = self._list()
                self._emit("SYNC", objects)
                backoff.reset()
                self._watch_from(resource_version)
            except KubeApiError as exc:
                if exc.status == 410:
                    continue
                if exc.status in (401, 403):
                    where = self.scope or "all namespaces"
                    self._emit(
                        "FATAL", error=forbidden_error(exc, "list and watch", self.kind, where)
                    )
                    return
                self._failed(exc, backoff)
            except ClusterUnavailable as exc:
                self._failed(exc, backoff)
            except Exception as exc:  # noqa: BLE001 - a stream thread must report, never die
                logger.warning("the %s stream stopped unexpectedly: %s", self.kind, exc)
                self._failed(exc, backoff)

    def _failed(self, exc: Exception, backoff: Backoff) -> None:
        logger.info("the %s stream failed: %s", self.kind, exc)
        self._emit("ERROR", error=exc)
        backoff.wait()

    def _list(self) -> tuple[tuple[Packed, ...], str]:
        paged = self.scope is None and self.kind != "deployments"
        scopes: list[str | None] = [self.scope]
        if paged:
            scopes = [*sorted(self.namespaces())] or [None]
        objects: list[Packed] = []
        slim = slim_of(self.kind)
        first_version = ""
        for scope in scopes:
            listing = self.client.list_objects(self.kind, scope, self.label_selector)
            objects.extend(pack(o) for o in map(slim, listing.items) if o is not None)
            first_version = first_version or listing.resource_version
            del listing  # one namespace's objects at a time
        return tuple(objects), first_version

    def _watch_from(self, resource_version: str) -> None:
        slim = slim_of(self.kind)
        version = resource_version
        while not self.stop.is_set():
            timeout = int(random.uniform(1.0, 2.0) * self.watch_timeout_seconds)  # noqa: S311
            stream = self.client.watch(
                self.kind,
                self.scope,
                resource_version=version,
                timeout_seconds=timeout,
                label_selector=self.label_selector,
            )
            with closing(stream):  # type: ignore[type-var]
                for event in stream:
                    if self.stop.is_set():
                        return
                    version = str(
                        (event.object.get("metadata") or {}).get("resourceVersion") or version
                    )
                    if event.type == "BOOKMARK":
                        continue
                    trimmed = slim(event.object)
                    if trimmed is not None:
                        self._emit(event.type, (pack(trimmed),))


# --- trimming ----------------------------------------------------------------------------------

_POD_METADATA = (
    *("name", "namespace", "uid", "labels", "ownerReferences", "creationTimestamp"),
    *("deletionTimestamp", "resourceVersion"),
)
EVALUATED_REASONS = frozenset(
    {*SCALE_UP_TRIGGERED, *SCALE_UP_REFUSED, "FailedScheduling", "Killing", "FailedMount", "Failed"}
)
"""The Event reasons `summarize_pod_events` folds into an observation."""
_EVENT_FIELDS = (
    *("reason", "message", "type", "count", "firstTimestamp", "lastTimestamp"),
    *("eventTime", "source", "reportingComponent"),
)


def _without_managed_fields(obj: KubeObject) -> KubeObject:
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    return {**obj, "metadata": meta}


def slim_pod(pod: KubeObject) -> KubeObject:
    """A pod with what the evaluator reads: identity, owners, node, grace period, status."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    kept_spec: dict[str, Any] = {
        key: spec[key] for key in ("nodeName", "terminationGracePeriodSeconds") if key in spec
    }
    for key in ("containers", "initContainers"):
        if spec.get(key):
            kept_spec[key] = [{"name": c.get("name"), "image": c.get("image")} for c in spec[key]]
    return {
        "metadata": {key: meta[key] for key in _POD_METADATA if key in meta},
        "spec": kept_spec,
        "status": pod.get("status") or {},
    }


def slim_event(event: KubeObject) -> KubeObject | None:
    """A core/v1 Event about a pod that the evaluator reads, trimmed; None for the rest (most:
    Scheduled, Pulling, Started… say nothing the pod's status does not)."""
    involved = event.get("involvedObject") or {}
    if involved.get("kind") != "Pod" or event.get("reason") not in EVALUATED_REASONS:
        return None
    meta = event.get("metadata") or {}
    kept = {key: event[key] for key in _EVENT_FIELDS if key in event}
    return kept | {
        "metadata": {key: meta.get(key) for key in ("name", "namespace", "uid", "resourceVersion")},
        "involvedObject": involved,
    }


def slim_of(kind: str) -> Callable[[KubeObject], KubeObject | None]:
    if kind == "pods":
        return slim_pod
    if kind == "events":
        return slim_event
    return _without_managed_fields


# --- the index ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Packed:
    """An object kept as compressed compact JSON. `owner` is its controller's uid (for an Event:
    the uid of the object it is about), so the index never decodes an object to file it."""

    uid: str
    namespace: str
    name: str
    owner: str | None
    data: bytes

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    def decoded(self) -> KubeObject:
        value: KubeObject = json.loads(zlib.decompress(self.data))
        return value


def pack(obj: KubeObject) -> Packed:
    meta = obj.get("metadata") or {}
    owner = (obj.get("involvedObject") or {}).get("uid") or controller_owner_uid(obj)
    data = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    return Packed(
        uid=str(meta.get("uid") or ""),
        # Interned: thousands of objects share a namespace and each owner has several children.
        namespace=sys.intern(str(meta.get("namespace") or "")),
        name=str(meta.get("name") or ""),
        owner=sys.intern(str(owner)) if owner else None,
        data=zlib.compress(data, 1),  # a third of the size; 50,000 pods fit in ~30 MB
    )
