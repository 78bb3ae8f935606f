"""The rollouts the watch loop is evaluating: started, resumed from the store, recorded, decided.

`ActiveRollouts` owns one `RolloutTracker` per Deployment key and the store bookkeeping around it:
a rollout is stored once the controller stamps its revision, a superseded one gets its verdict,
and on the first list an unfinished stored rollout is resumed instead of started afresh.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from deploy_assistant.kube.phase import kubectl_rollout_status, observation_gate_met
from deploy_assistant.kube.pods import find_new_replicaset
from deploy_assistant.kube.tracker import RolloutTracker
from deploy_assistant.models import KubeObject, RolloutStatus, Target, Verdict
from deploy_assistant.settings import PolicySettings
from deploy_assistant.store.repos import RolloutRepo
from deploy_assistant.watcher.cluster_index import ClusterIndex
from deploy_assistant.watcher.metrics import WatcherMetrics
from deploy_assistant.watcher.rollouts import record_new_rollout, record_verdict

logger = logging.getLogger(__name__)

Key = tuple[str, str]


@dataclass
class ActiveRollout:
    """A rollout being evaluated; `rollout_id` is None until the controller stamps a revision."""

    tracker: RolloutTracker
    uid: str
    digest: str
    rollout_id: int | None = None


class ActiveRollouts:
    """Trackers by Deployment key; `active` is the live dict (the watch loop reads it)."""

    def __init__(
        self,
        repo: RolloutRepo,
        policy: PolicySettings,
        index: ClusterIndex,
        metrics: WatcherMetrics,
        *,
        cluster: str,
    ) -> None:
        self.repo, self.policy, self.index, self.metrics = repo, policy, index, metrics
        self.cluster = cluster
        self.active: dict[Key, ActiveRollout] = {}

    def resume(
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
        self.start(key, deployment, identity, now, infer_start=True)

    def start(
        self,
        key: Key,
        deployment: KubeObject,
        identity: tuple[str, str],
        now: datetime,
        *,
        infer_start: bool,
    ) -> None:
        """Track a new rollout of `key`; one still tracked there is recorded as superseded."""
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

    def evaluate(self, key: Key, now: datetime) -> None:
        """Feed the tracker of `key` from the index; a verdict is stored and ends tracking."""
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
