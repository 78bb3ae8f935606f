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
from dataclasses import dataclass
from datetime import datetime

from deploy_assistant.clock import Clock
from deploy_assistant.errors import ConfigError, StoreUnavailable
from deploy_assistant.kube.client import KubeClient
from deploy_assistant.kube.phase import kubectl_rollout_status, observation_gate_met
from deploy_assistant.kube.pods import find_new_replicaset
from deploy_assistant.kube.tracker import RolloutTracker
from deploy_assistant.models import KubeObject, RolloutStatus, Target, Verdict
from deploy_assistant.settings import PolicySettings, WatcherSettings
from deploy_assistant.store.repos import RolloutRepo
from deploy_assistant.watcher.cluster_index import ClusterIndex, Everything
from deploy_assistant.watcher.informers import Change, Informer, Packed
from deploy_assistant.watcher.metrics import WatcherMetrics
from deploy_assistant.watcher.rollouts import (
    pod_template_digest,
    record_new_rollout,
    record_verdict,
)

logger = logging.getLogger(__name__)

Key = tuple[str, str]
CHILD_KINDS = ("replicasets", "pods", "events")
PRUNE_EVERY_TICKS = 60


@dataclass
class ActiveRollout:
    """A rollout being evaluated; `rollout_id` is None until the controller stamps a revision."""

    tracker: RolloutTracker
    uid: str
    digest: str
    rollout_id: int | None = None


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
        self.active: dict[Key, ActiveRollout] = {}
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
                self._evaluate(key, now)
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
            self._resume(key, deployment, identity, now)
        else:
            self._start(key, deployment, identity, now, infer_start=False)
        return {key}

    # --- rollouts ----------------------------------------------------------------------------

    def _resume(
        self, key: Key, deployment: KubeObject, identity: tuple[str, str], now: datetime
    ) -> None:
        """First sight after a start: pick up the stored rollout, or one we missed."""
        row = self.repo.get_latest_for_deployment(self.cluster, *key)
        if row is not None and row.template_hash == identity[1] and row.uid in (None, identity[0]):
            if not row.status.is_final:
                t0 = row.started_at or now
                tracker = RolloutTracker(_target(key), deployment, t0, self.policy)
                self.active[key] = ActiveRollout(tracker, identity[0], identity[1], row.id)
            return
        if row is None and kubectl_rollout_status(deployment) is RolloutStatus.SUCCEEDED:
            return  # settled before we ever saw it: not a rollout
        self._start(key, deployment, identity, now, infer_start=True)

    def _start(
        self,
        key: Key,
        deployment: KubeObject,
        identity: tuple[str, str],
        now: datetime,
        *,
        infer_start: bool,
    ) -> None:
        previous = self.active.pop(key, None)
        if previous is not None and previous.rollout_id is not None:
            why = f'the pod template of "{key[1]}" changed again'
            verdict = Verdict(status=RolloutStatus.SUPERSEDED, message=why, observed_at=now)
            record_verdict(self.repo, previous.rollout_id, verdict, now, self.metrics)
        tracker = RolloutTracker(
            _target(key), deployment, now, self.policy, infer_start=infer_start
        )
        self.active[key] = ActiveRollout(tracker, identity[0], identity[1])
        logger.info("rollout of %s/%s started", *key)

    def _evaluate(self, key: Key, now: datetime) -> None:
        active = self.active[key]
        deployment = self.index.deployment(key)
        replicasets, pods, events = self.index.rollout_objects(active.uid)
        if active.rollout_id is None and deployment is not None:
            self._record(key, active, deployment, replicasets, now)
            if key not in self.active:
                return
        verdict = active.tracker.observe(deployment, replicasets, pods, events, now)
        if verdict is None:
            return
        if active.rollout_id is not None:
            record_verdict(self.repo, active.rollout_id, verdict, now, self.metrics)
            logger.info("rollout of %s/%s: %s", key[0], key[1], verdict.status.value)
        del self.active[key]

    def _record(
        self,
        key: Key,
        active: ActiveRollout,
        deployment: KubeObject,
        replicasets: list[KubeObject],
        now: datetime,
    ) -> None:
        """Store the rollout once the controller has stamped its revision on the new RS."""
        new_rs = find_new_replicaset(deployment, replicasets)
        if not observation_gate_met(deployment) or new_rs is None or not new_rs.revision_matches:
            return
        row = record_new_rollout(
            self.repo, self.cluster, deployment, now, template_hash=active.digest
        )
        if row is None:
            return
        active.rollout_id = row.id
        logger.info("rollout of %s/%s recorded as revision %s", key[0], key[1], row.revision)
        if row.status.is_final:  # another watcher instance already decided it
            del self.active[key]


def _target(key: Key) -> Target:
    return Target(namespace=key[0], deployment=key[1])
