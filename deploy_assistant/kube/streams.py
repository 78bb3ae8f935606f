"""List-then-watch streams feeding one queue: a small reflector on top of `KubeClient.watch`.

Each stream LISTs, then WATCHes from the list's resourceVersion with bookmarks; on a normal end
it resumes from the last resourceVersion seen, on 410 Gone it relists, on a cut connection or a
5xx it backs off (0.8 s doubling to 30 s, in clock time) and relists. Forbidden/unauthorized is
reported once as fatal. The thread never raises: every outcome becomes a `StreamMessage`.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass
from typing import cast

from deploy_assistant.clock import Clock
from deploy_assistant.errors import ClusterUnavailable, ConfigError
from deploy_assistant.kube.client import KubeApiError, KubeClient, ObjectList, WatchEvent
from deploy_assistant.models import KubeObject

log = logging.getLogger(__name__)

BACKOFF_START_SECONDS = 0.8
BACKOFF_MAX_SECONDS = 30.0


@dataclass(frozen=True)
class StreamMessage:
    """One thing a stream saw. `type`: SYNC (a full list), ADDED/MODIFIED/DELETED, BOOKMARK
    (alive, no change), ERROR (transient, the stream retries), FATAL (the stream stopped)."""

    index: int
    kind: str
    type: str
    objects: tuple[KubeObject, ...] = ()
    error: Exception | None = None


class Backoff:
    """0.8 s doubling to 30 s of clock time; interruptible by `stop`."""

    def __init__(self, clock: Clock, stop: threading.Event) -> None:
        self.clock = clock
        self.stop = stop
        self.delay = BACKOFF_START_SECONDS

    def reset(self) -> None:
        self.delay = BACKOFF_START_SECONDS

    def wait(self) -> None:
        self.stop.wait(self.clock.to_real_seconds(self.delay))
        self.delay = min(self.delay * 2, BACKOFF_MAX_SECONDS)


def forbidden_error(exc: KubeApiError, verb: str, kind: str, namespace: str) -> ConfigError:
    """One sentence naming what RBAC refused."""
    return ConfigError(
        f"Kubernetes refused to {verb} {kind} in namespace {namespace!r} ({exc.status}): "
        f"grant get, list and watch on deployments, replicasets and pods (and list on events)."
    )


class WatchStream(threading.Thread):
    """A daemon thread reflecting one kind (optionally filtered) into `out`."""

    def __init__(
        self,
        client: KubeClient,
        out: queue.Queue[StreamMessage],
        stop: threading.Event,
        clock: Clock,
        *,
        index: int,
        kind: str,
        namespace: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
        watch_timeout_seconds: float = 300.0,
    ) -> None:
        super().__init__(name=f"watch-{kind}-{index}", daemon=True)
        self.client = client
        self.out = out
        self.stop = stop
        self.clock = clock
        self.index = index
        self.kind = kind
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.watch_timeout_seconds = watch_timeout_seconds

    def _emit(
        self, type_: str, objects: tuple[KubeObject, ...] = (), error: Exception | None = None
    ) -> None:
        self.out.put(StreamMessage(self.index, self.kind, type_, objects, error))

    def _list(self) -> ObjectList:
        if self.kind == "deployments":
            return self.client.list_deployments(
                self.namespace, self.label_selector, field_selector=self.field_selector
            )
        if self.kind == "replicasets":
            return self.client.list_replicasets(self.namespace, self.label_selector)
        return self.client.list_pods(self.namespace, self.label_selector, self.field_selector)

    def run(self) -> None:
        backoff = Backoff(self.clock, self.stop)
        while not self.stop.is_set():
            try:
                listing = self._list()
                self._emit("SYNC", tuple(listing.items))
                backoff.reset()
                self._watch_from(listing.resource_version)
            except KubeApiError as exc:
                if exc.status == 410:
                    continue
                if exc.status in (401, 403):
                    refused = forbidden_error(exc, "list and watch", self.kind, self.namespace)
                    self._emit("FATAL", error=refused)
                    return
                self._emit("ERROR", error=exc)
                backoff.wait()
            except ClusterUnavailable as exc:
                self._emit("ERROR", error=exc)
                backoff.wait()
            except Exception as exc:  # noqa: BLE001 - a stream thread must report, never die
                log.warning("watch on %s stopped unexpectedly: %s", self.kind, exc)
                self._emit("ERROR", error=exc)
                backoff.wait()

    def _watch_from(self, resource_version: str) -> None:
        """Watch until stopped; resume on normal stream ends; raise on 410 and errors."""
        rv = resource_version
        while not self.stop.is_set():
            timeout = int(random.uniform(1.0, 2.0) * self.watch_timeout_seconds)  # noqa: S311
            stream = cast(
                Generator[WatchEvent, None, None],
                self.client.watch(
                    self.kind,
                    self.namespace,
                    resource_version=rv,
                    timeout_seconds=timeout,
                    label_selector=self.label_selector,
                    field_selector=self.field_selector,
                ),
            )
            with closing(stream):
                for event in stream:
                    if self.stop.is_set():
                        return
                    new_rv = (event.object.get("metadata") or {}).get("resourceVersion")
                    if new_rv:
                        rv = str(new_rv)
                    # A bookmark carries no change, only proof that the stream is alive.
                    self._emit(event.type, () if event.type == "BOOKMARK" else (event.object,))
