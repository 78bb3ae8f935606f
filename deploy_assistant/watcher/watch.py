"""The watch role: shared informers, an index of the cluster, one tracker per active rollout.

One LIST+WATCH stream per kind (Deployments, ReplicaSets, Pods, and pod Events, which the
evaluator's image-pull and mount rules read), cluster-wide or one per listed namespace, feeds a
single loop. The loop keeps an in-memory index (objects by uid, children by owner uid), notices a
new rollout when a Deployment's pod template changes (the template, not the generation: an HPA
bumps the generation too), gives it a `RolloutTracker` (the evaluator `da-ci wait` uses) and
feeds that tracker from the index on every change to the rollout's objects and on every
`policy.tick_seconds` of the injected clock. No request is made per rollout.

Restart-safe: on its first list the loop resumes unfinished rollouts from the store and records
rollouts that started while it was away; a Deployment that is settled and unknown to the store is
not a rollout. Store failures are retried on the next pass (a tracker repeats its verdict).
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime

from deploy_assistant.clock import Clock
from deploy_assistant.errors import ConfigError, StoreUnavailable
from deploy_assistant.kube.client import KubeClient
from deploy_assistant.settings import PolicySettings, WatcherSettings
from deploy_assistant.store.repos import RolloutRepo
from deploy_assistant.watcher.active_rollouts import ActiveRollout as ActiveRollout
from deploy_assistant.watcher.active_rollouts import ActiveRollouts
from deploy_assistant.watcher.active_rollouts import Key as Key
from deploy_assistant.watcher.cluster_index import ClusterIndex, Everything
from deploy_assistant.watcher.informers import Change, Informer, Packed
from deploy_assistant.watcher.metrics import WatcherMetrics
from deploy_assistant.watcher.rollouts import pod_template_digest

logger = logging.getLogger(__name__)

CHILD_KINDS = ("replicasets", "pods", "events")
PRUNE_EVERY_TICKS = 60


class WatchLoop:
    """Run with `run(stop)` on a thread of its own; see the module docstring."""

    def __init__(
        self,
        client: KubeClient,
        repo: RolloutRepo,
        policy: PolicySettings,
        clock: Clock,
        settings: WatcherSettings,
        *,
        cluster: str = "default",
        metrics: WatcherMetrics | None = None,
        watch_timeout_seconds: float = 300.0,
    ) -> None:
        self.client, self.repo, self.policy, self.clock = client, repo, policy, clock
        self.cluster = cluster
        self.scopes: list[str | None] = list(settings.namespaces) or [None]
        self.excluded = frozenset(settings.exclude_namespaces)
        self.label_selector = settings.label_selector
        self.metrics = metrics or WatcherMetrics()
        self.watch_timeout_seconds = watch_timeout_seconds
        self.index = ClusterIndex(self.excluded)
        self.rollouts = ActiveRollouts(repo, policy, self.index, self.metrics, cluster=cluster)
        self.active = self.rollouts.active
        self.seen: dict[Key, tuple[str, str]] = {}
        """(uid, template digest) of each Deployment: a change of either is a new rollout."""
        self.queue: queue.Queue[Change] = queue.Queue()
        self.stop = threading.Event()
        self.failing: set[tuple[str, str | None]] = set()
        self.synced: set[str | None] = set()
        self.listed: set[tuple[str, str | None]] = set()
        self.next_tick_s = clock.monotonic()
        self.ticks = 0
        self.announced = False

    # --- lifecycle ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set. Raises `ConfigError` when RBAC refuses a stream."""
        self.stop = stop
        for scope in self.scopes:
            self._informer("deployments", scope, self.label_selector).start()
        while not stop.is_set():
            try:
                self.step()
            except ConfigError:
                raise
            except Exception:  # a bug must not stop watching; the next change or tick retries
                self.metrics.errors_total.inc(component="watch")
                logger.exception("watch: unexpected error")
                stop.wait(self.clock.to_real_seconds(self.policy.tick_seconds))

    @property
    def ready(self) -> bool:
        """Every stream has delivered its first list."""
        kinds = ("deployments", *CHILD_KINDS)
        return all((kind, scope) in self.listed for kind in kinds for scope in self.scopes)

    def _informer(self, kind: str, scope: str | None, selector: str | None = None) -> Informer:
        return Informer(
            self.client,
            self.queue,
            self.stop,
            self.clock,
            kind=kind,
            scope=scope,
            label_selector=selector,
            namespaces=self.index.namespaces,
            watch_timeout_seconds=self.watch_timeout_seconds,
        )

    def step(self) -> None:
        """Apply what the streams sent until the next tick or arming window, then evaluate."""
        until_s = min(self.next_tick_s, self._window_end_s())
        changes = self._drain(until_s)
        now = self.clock.now()
        dirty: set[Key] = set()
        for change in changes:
            dirty |= self._apply(change, now)
        if changes and not self.announced and self.ready:
            self.announced = True
            logger.info(
                "watching %d deployments (%d pods)",
                len(self.index.deployments),
                len(self.index.objects["pods"]),
            )
        now_s = self.clock.monotonic()
        if now_s >= until_s:
            dirty |= set(self.active)
        if now_s >= self.next_tick_s:
            self.next_tick_s = now_s + self.policy.tick_seconds
            self.ticks += 1
            if self.ticks % PRUNE_EVERY_TICKS == 0:
                self.index.prune_events()
        if self.failing:
            return  # deciding on a stale picture could invent a verdict; wait for the relist
        for key in sorted(dirty & set(self.active)):
            try:
                self.rollouts.evaluate(key, now)
            except StoreUnavailable as exc:
                self.metrics.errors_total.inc(component="watch")
                logger.warning("watch: %s", exc)

    def _drain(self, until_s: float) -> list[Change]:
        wait_s = max(0.0, until_s - self.clock.monotonic())
        try:
            changes = [self.queue.get(timeout=self.clock.to_real_seconds(wait_s))]
        except queue.Empty:
            return []
        while True:
            try:
                changes.append(self.queue.get_nowait())
            except queue.Empty:
                return changes

    def _window_end_s(self) -> float:
        """Clock seconds at which the earliest arming window of a tracker runs out."""
        now_s, now = self.clock.monotonic(), self.clock.now()
        ends = [
            now_s + (arming.since - now).total_seconds() + arming.hit.window_seconds + 0.01
            for active in self.active.values()
            for arming in active.tracker.progress.arming
        ]
        return min([end for end in ends if end > now_s], default=float("inf"))

    # --- stream input ------------------------------------------------------------------------

    def _apply(self, change: Change, now: datetime) -> set[Key]:
        if change.type == "FATAL":
            raise change.error or ConfigError(f"the {change.kind} stream stopped")
        if change.type == "ERROR":
            self.failing.add((change.kind, change.scope))
            self.metrics.errors_total.inc(component="watch")
            return set()
        self.failing.discard((change.kind, change.scope))
        if change.type == "SYNC":
            self.listed.add((change.kind, change.scope))
        if change.kind != "deployments":
            touched = self.index.apply(change)
            return set(self.active) if isinstance(touched, Everything) else touched
        if change.type == "SYNC":
            return self._sync_deployments(change, now)
        dirty: set[Key] = set()
        for packed in change.objects:
            dirty |= self._deployment_changed(packed, now, deleted=change.type == "DELETED")
        return dirty

    def _sync_deployments(self, change: Change, now: datetime) -> set[Key]:
        first = change.scope not in self.synced
        listed = {packed.key for packed in change.objects}
        gone = [
            key
            for key in self.index.deployments
            if key not in listed and (change.scope is None or key[0] == change.scope)
        ]
        dirty: set[Key] = set()
        for key in gone:
            dirty |= self._deployment_changed(self.index.deployments[key], now, deleted=True)
        for packed in change.objects:
            dirty |= self._deployment_changed(packed, now, resuming=first)
        if first:
            self.synced.add(change.scope)
            for kind in CHILD_KINDS:
                self._informer(kind, change.scope).start()
        return dirty

    def _deployment_changed(
        self,
        packed: Packed,
        now: datetime,
        *,
        deleted: bool = False,
        resuming: bool = False,
    ) -> set[Key]:
        key = packed.key
        if key[0] in self.excluded:
            return set()
        if deleted:
            self.index.remove_deployment(key)
            self.seen.pop(key, None)
            return {key}
        self.index.put_deployment(packed)
        deployment = packed.decoded()
        identity = (packed.uid, pod_template_digest(deployment))
        if self.seen.get(key) == identity:
            return {key}
        self.seen[key] = identity
        if resuming:
            self.rollouts.resume(key, deployment, identity, now)
        else:
            self.rollouts.start(key, deployment, identity, now, infer_start=False)
        return {key}
