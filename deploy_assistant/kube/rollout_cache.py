"""What the wait loop knows about one target: its objects, stream health and its tracker.

Applies stream messages, does the few direct reads (safety GET, on-demand Events, polls) and
hands snapshots to the `RolloutTracker`. Transient API failures are recorded, never raised;
only RBAC refusals are (as `ConfigError`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from deploy_assistant.clock import Clock
from deploy_assistant.errors import ClusterUnavailable
from deploy_assistant.kube.client import KubeApiError, KubeClient
from deploy_assistant.kube.phase import uid_of
from deploy_assistant.kube.pods import needs_events
from deploy_assistant.kube.streams import StreamMessage, forbidden_error
from deploy_assistant.kube.tracker import RolloutProgress, RolloutTracker
from deploy_assistant.models import KubeObject, RolloutStatus, Target, Verdict

log = logging.getLogger(__name__)

EVENT_READ_MIN_SECONDS = 10.0
EVENT_READ_MAX_SECONDS = 60.0
DELETE_GRACE_SECONDS = 5.0
"""A deletion is final only if no Deployment of that name reappears this quickly (recreate)."""


def label_selector_of(deployment: KubeObject | None) -> str:
    """`spec.selector` as a label-selector string (matchLabels and matchExpressions)."""
    selector = ((deployment or {}).get("spec") or {}).get("selector") or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key"), expr.get("operator")
        values = ",".join(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


@dataclass
class _EventReads:
    last_s: float
    interval_s: float


@dataclass
class RolloutCache:
    target: Target
    deployment: KubeObject | None
    tracker: RolloutTracker | None = None
    replicasets: dict[str, KubeObject] = field(default_factory=dict)
    pods: dict[str, KubeObject] = field(default_factory=dict)
    events: dict[str, list[KubeObject]] = field(default_factory=dict)
    failing_since_s: dict[str, float] = field(default_factory=dict)
    deployment_seen_s: float = 0.0
    deleted_at_s: float | None = None
    events_allowed: bool = True
    _event_reads: dict[str, _EventReads] = field(default_factory=dict)
    _final: Verdict | None = None

    # --- stream input --------------------------------------------------------------------------

    def apply(self, message: StreamMessage, now_s: float) -> None:
        if message.type == "ERROR":
            self.failing_since_s.setdefault(message.kind, now_s)
            return
        self.failing_since_s.pop(message.kind, None)
        if message.type == "BOOKMARK":
            if message.kind == "deployments":
                self.deployment_seen_s = now_s
            return
        if message.kind == "deployments":
            self.deployment_seen_s = now_s
            self._apply_deployment(message, now_s)
            return
        store = self.replicasets if message.kind == "replicasets" else self.pods
        if message.type == "SYNC":
            store.clear()
        for obj in message.objects:
            uid = uid_of(obj) or ""
            if message.type == "DELETED":
                store.pop(uid, None)
                self.events.pop(uid, None)
            else:
                store[uid] = obj

    def _apply_deployment(self, message: StreamMessage, now_s: float) -> None:
        if message.type == "SYNC":
            self._set_deployment(message.objects[0] if message.objects else None, now_s)
        elif message.type == "DELETED":
            self._set_deployment(None, now_s)
        elif message.objects:
            self._set_deployment(message.objects[0], now_s)

    def _set_deployment(self, deployment: KubeObject | None, now_s: float) -> None:
        if deployment is None and self.deleted_at_s is None:
            self.deleted_at_s = now_s
        elif deployment is not None:
            self.deleted_at_s = None
        self.deployment = deployment

    # --- direct reads --------------------------------------------------------------------------

    def safety_get(self, client: KubeClient, now_s: float, every_s: float) -> None:
        """GET the Deployment by name if its stream has been silent for `every_s`."""
        if now_s - self.deployment_seen_s < every_s:
            return
        self.deployment_seen_s = now_s
        try:
            found = client.read_deployment(self.target.namespace, self.target.deployment)
            self._set_deployment(found, now_s)
        except KubeApiError as exc:
            if exc.status == 404:
                self._set_deployment(None, now_s)
            elif exc.status in (401, 403):
                raise forbidden_error(exc, "get", "deployments", self.target.namespace) from exc
        except ClusterUnavailable as exc:
            log.info("safety GET of %s failed: %s", self.target.deployment, exc)

    def poll(self, client: KubeClient, clock: Clock) -> None:
        """Polling mode: GET the Deployment, LIST its ReplicaSets and pods."""
        now_s = clock.monotonic()
        selector = label_selector_of(self.deployment)
        ns = self.target.namespace
        try:
            try:
                self._set_deployment(client.read_deployment(ns, self.target.deployment), now_s)
            except KubeApiError as exc:
                if exc.status != 404:
                    raise
                self._set_deployment(None, now_s)
            self.replicasets = {
                uid_of(o) or "": o for o in client.list_replicasets(ns, selector).items
            }
            self.pods = {uid_of(o) or "": o for o in client.list_pods(ns, selector).items}
            self.failing_since_s.pop("poll", None)
        except KubeApiError as exc:
            if exc.status in (401, 403):
                raise forbidden_error(exc, "get and list", "rollout objects", ns) from exc
            self.failing_since_s.setdefault("poll", now_s)
        except ClusterUnavailable:
            self.failing_since_s.setdefault("poll", now_s)

    def read_events(self, client: KubeClient, now_s: float) -> None:
        """Events of new pods in ambiguous states, at most once per pod per 10 s (backing off)."""
        if not self.events_allowed or self.tracker is None:
            return
        for pod in self.tracker.progress.new_pods:
            if pod.uid is None or not needs_events(pod):
                continue
            reads = self._event_reads.get(pod.uid)
            if reads is not None and now_s - reads.last_s < reads.interval_s:
                continue
            try:
                listed = client.list_events(self.target.namespace, f"involvedObject.uid={pod.uid}")
            except KubeApiError as exc:
                if exc.status in (401, 403):
                    log.warning(
                        "Events are not readable in %s; deciding without them",
                        self.target.namespace,
                    )
                    self.events_allowed = False
                return
            except ClusterUnavailable:
                return
            interval = (
                EVENT_READ_MIN_SECONDS
                if reads is None
                else min(reads.interval_s * 2, EVENT_READ_MAX_SECONDS)
            )
            self._event_reads[pod.uid] = _EventReads(now_s, interval)
            self.events[pod.uid] = listed.items

    # --- verdicts ------------------------------------------------------------------------------

    def healthy(self) -> bool:
        return not self.failing_since_s

    def failing_for(self, now_s: float) -> float:
        return now_s - min(self.failing_since_s.values()) if self.failing_since_s else 0.0

    def observe(self, now: datetime, now_s: float) -> None:
        if self.tracker is None:
            return
        if self.deleted_at_s is not None and now_s - self.deleted_at_s < DELETE_GRACE_SECONDS:
            return
        events = [e for evs in self.events.values() for e in evs]
        self.tracker.observe(
            self.deployment, list(self.replicasets.values()), list(self.pods.values()), events, now
        )

    def give_up(self, now: datetime, why: str) -> None:
        self._final = Verdict(
            status=RolloutStatus.UNKNOWN, message=why, target=self.target, observed_at=now
        )

    def verdict(self) -> Verdict | None:
        if self._final is not None:
            return self._final
        return self.tracker.verdict if self.tracker is not None else None

    def progress(self) -> RolloutProgress:
        if self.tracker is None:
            return RolloutProgress(self.target, RolloutStatus.PENDING, "starting")
        return self.tracker.progress
