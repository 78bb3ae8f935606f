"""The Deployment controller: finds or creates the new ReplicaSet, rolls pods over (RollingUpdate
with maxSurge/maxUnavailable, or Recreate), honours pause, and writes status and conditions with
the real reasons and timings (observedGeneration after a short delay, progress deadline)."""

from __future__ import annotations

from typing import Any

from deploy_assistant.sim.cluster import (
    HASH_LABEL,
    REVISION,
    REVISION_HISTORY,
    SimContext,
    owner_reference,
    template_hash,
    templates_equal,
)
from deploy_assistant.sim.deployment_status import (
    rollout_status,
    set_condition,
    surge_and_unavailable,
)
from deploy_assistant.sim.engine import WorkQueue
from deploy_assistant.sim.ownership import Key, object_key
from deploy_assistant.sim.state import Obj, clone

EVENT_SOURCE = "deployment-controller"


def _revision(rs: Obj) -> int:
    return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))


def _replicas(rs: Obj) -> int:
    return int(rs["spec"].get("replicas", 0))


def _available(rs: Obj) -> int:
    return int((rs.get("status") or {}).get("availableReplicas", 0))


class DeploymentController:
    def __init__(self, ctx: SimContext, observe_delay_seconds: float = 0.5) -> None:
        self.ctx = ctx
        self.observe_delay_seconds = observe_delay_seconds
        self.queue: WorkQueue[Key] = WorkQueue(ctx.engine, self.sync)
        self._uids: dict[Key, str] = {}

    def observe(self, plural: str, event_type: str, obj: dict[str, Any]) -> None:
        """Store listener (under the store lock): requeue the Deployment a change concerns."""
        meta = obj["metadata"]
        if plural == "deployments":
            if event_type == "DELETED":
                self.queue.add(object_key(obj), 0.1)
            elif meta.get("generation") != (obj.get("status") or {}).get("observedGeneration"):
                self.queue.add(object_key(obj), self.observe_delay_seconds)
        elif plural == "replicasets":
            for ref in meta.get("ownerReferences") or []:
                if ref.get("controller") and ref.get("kind") == "Deployment":
                    self.queue.add((meta["namespace"], ref["name"]), 0.05)
        elif plural == "pods" and event_type == "DELETED":
            # Recreate waits for old pods to be gone; a deletion changes no RS status.
            for ref in meta.get("ownerReferences") or []:
                if ref.get("controller") and ref.get("kind") == "ReplicaSet":
                    self._after_pod_gone(meta["namespace"], ref["name"])

    def _after_pod_gone(self, namespace: str, rs_name: str) -> None:
        self.ctx.engine.after(0.0, lambda: self._pod_gone(namespace, rs_name))

    def _pod_gone(self, namespace: str, rs_name: str) -> None:
        rs = self.ctx.state.get("replicasets", namespace, rs_name)
        for ref in (rs or {}).get("metadata", {}).get("ownerReferences") or []:
            if ref.get("controller") and ref.get("kind") == "Deployment":
                self.queue.add((namespace, ref["name"]), 0.05)

    def _owned(self, uid: str) -> list[Obj]:
        found = (self.ctx.state.get("replicasets", *key) for key in self.ctx.index.children(uid))
        owned = [rs for rs in found if rs is not None]
        return sorted(
            owned, key=lambda rs: (rs["metadata"]["creationTimestamp"], rs["metadata"]["name"])
        )

    def sync(self, key: Key) -> None:
        deployment = self.ctx.state.get("deployments", *key)
        if deployment is None:
            self._delete_dependents(key)
            return
        self._uids[key] = deployment["metadata"]["uid"]
        all_rss = self._owned(deployment["metadata"]["uid"])
        new_rs = next(
            (
                rs
                for rs in all_rss
                if templates_equal(rs["spec"]["template"], deployment["spec"]["template"])
            ),
            None,
        )
        paused = bool(deployment["spec"].get("paused"))
        if not paused:
            if new_rs is None:
                new_rs = self._create_new_rs(deployment, all_rss)
                all_rss.append(new_rs)
                deployment = self._progress_note(
                    deployment,
                    "NewReplicaSetCreated",
                    f'Created new replica set "{new_rs["metadata"]["name"]}"',
                )
            else:
                new_rs, deployment = self._adopt_revision(deployment, new_rs, all_rss)
            old_rss = [rs for rs in all_rss if rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
            if deployment["spec"]["strategy"].get("type") == "Recreate":
                self._recreate(deployment, new_rs, old_rss)
            else:
                self._rolling(deployment, new_rs, old_rss)
            all_rss = self._owned(deployment["metadata"]["uid"])
            new_rs = next(
                (rs for rs in all_rss if rs["metadata"]["uid"] == new_rs["metadata"]["uid"]), new_rs
            )
        status, recheck_seconds = rollout_status(self.ctx, deployment, all_rss, new_rs)
        if status != deployment.get("status"):

            def put(obj: Obj) -> None:
                obj["status"] = status

            self.ctx.state.mutate("deployments", *key, put)
        if recheck_seconds is not None:
            self.queue.add(key, recheck_seconds)

    # -- ReplicaSets --------------------------------------------------------------------------

    def _create_new_rs(self, deployment: Obj, all_rss: list[Obj]) -> Obj:
        spec = deployment["spec"]
        collisions = int((deployment.get("status") or {}).get("collisionCount", 0))
        pod_hash = template_hash(spec["template"], collisions)
        template = clone(spec["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        selector = clone(spec["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        surge, _ = surge_and_unavailable(deployment)
        revision = max([_revision(rs) for rs in all_rss] or [0]) + 1
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{deployment['metadata']['name']}-{pod_hash}",
                "namespace": deployment["metadata"]["namespace"],
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {
                    REVISION: str(revision),
                    "deployment.kubernetes.io/desired-replicas": str(spec["replicas"]),
                    "deployment.kubernetes.io/max-replicas": str(spec["replicas"] + surge),
                },
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": int(spec.get("minReadySeconds", 0)),
                "selector": selector,
                "template": template,
            },
            "status": {"replicas": 0},
        }
        created = self.ctx.state.create("replicasets", rs)
        self._set_deployment_revision(deployment, str(revision))
        return created

    def _adopt_revision(self, deployment: Obj, new_rs: Obj, all_rss: list[Obj]) -> tuple[Obj, Obj]:
        """A rollback or re-apply of an older template: its RS becomes the newest revision."""
        top = max(_revision(rs) for rs in all_rss)
        if _revision(new_rs) < top:
            old_revision = str(_revision(new_rs))

            def bump(obj: Obj) -> None:
                notes = obj["metadata"].setdefault("annotations", {})
                history = [h for h in notes.get(REVISION_HISTORY, "").split(",") if h]
                notes[REVISION_HISTORY] = ",".join([*history, old_revision])
                notes[REVISION] = str(top + 1)

            new_rs = self.ctx.state.mutate("replicasets", *object_key(new_rs), bump)
        revision = (new_rs["metadata"].get("annotations") or {}).get(REVISION, "1")
        deployment = self._set_deployment_revision(deployment, revision)
        if not any(
            c.get("type") == "Progressing"
            for c in (deployment.get("status") or {}).get("conditions") or []
        ):
            deployment = self._progress_note(
                deployment,
                "FoundNewReplicaSet",
                f'Found new replica set "{new_rs["metadata"]["name"]}"',
            )
        return new_rs, deployment

    def _set_deployment_revision(self, deployment: Obj, revision: str) -> Obj:
        if (deployment["metadata"].get("annotations") or {}).get(REVISION) == revision:
            return deployment

        def note(obj: Obj) -> None:
            obj["metadata"].setdefault("annotations", {})[REVISION] = revision

        return self.ctx.state.mutate("deployments", *object_key(deployment), note)

    def _progress_note(self, deployment: Obj, reason: str, message: str) -> Obj:
        def note(obj: Obj) -> None:
            status = obj.setdefault("status", {})
            set_condition(self.ctx, status, "Progressing", "True", reason, message)

        return self.ctx.state.mutate("deployments", *object_key(deployment), note)

    def _scale(self, deployment: Obj, rs: Obj, replicas: int) -> Obj:
        before = _replicas(rs)
        if before == replicas:
            return rs
        surge, _ = surge_and_unavailable(deployment)
        desired = int(deployment["spec"]["replicas"])

        def scale(obj: Obj) -> None:
            obj["spec"]["replicas"] = replicas
            notes = obj["metadata"].setdefault("annotations", {})
            notes["deployment.kubernetes.io/desired-replicas"] = str(desired)
            notes["deployment.kubernetes.io/max-replicas"] = str(desired + surge)

        scaled = self.ctx.state.mutate("replicasets", *object_key(rs), scale)
        verb = "up" if replicas > before else "down"
        self.ctx.state.record_event(
            deployment,
            "ScalingReplicaSet",
            f"Scaled {verb} replica set {rs['metadata']['name']} from {before} to {replicas}",
            component=EVENT_SOURCE,
        )
        return scaled

    # -- strategies ---------------------------------------------------------------------------

    def _rolling(self, deployment: Obj, new_rs: Obj, old_rss: list[Obj]) -> None:
        replicas = int(deployment["spec"]["replicas"])
        surge, unavailable = surge_and_unavailable(deployment)
        current = sum(_replicas(rs) for rs in [new_rs, *old_rss])
        if _replicas(new_rs) > replicas:
            self._scale(deployment, new_rs, replicas)
            return
        if _replicas(new_rs) < replicas and current < replicas + surge:
            target = min(_replicas(new_rs) + replicas + surge - current, replicas)
            self._scale(deployment, new_rs, target)
            return
        old_total = sum(_replicas(rs) for rs in old_rss)
        if old_total == 0:
            return
        min_available = replicas - min(unavailable, replicas)
        new_unavailable = _replicas(new_rs) - _available(new_rs)
        budget = old_total + _replicas(new_rs) - min_available - new_unavailable
        if budget <= 0:
            return
        for rs in old_rss:  # cleanupUnhealthyReplicas: unhealthy old pods go first
            unhealthy = _replicas(rs) - _available(rs)
            if budget <= 0 or unhealthy <= 0:
                continue
            cut = min(budget, unhealthy)
            self._scale(deployment, rs, _replicas(rs) - cut)
            budget -= cut
            rs["spec"]["replicas"] = _replicas(rs) - cut
        available = sum(_available(rs) for rs in [new_rs, *old_rss])
        remaining = available - min_available
        for rs in old_rss:
            if remaining <= 0:
                break
            cut = min(_replicas(rs), remaining)
            if cut:
                self._scale(deployment, rs, _replicas(rs) - cut)
                remaining -= cut

    def _recreate(self, deployment: Obj, new_rs: Obj, old_rss: list[Obj]) -> None:
        scaled_down = False
        for rs in old_rss:
            if _replicas(rs):
                self._scale(deployment, rs, 0)
                scaled_down = True
        if scaled_down:
            return
        for rs in old_rss:
            if self.ctx.index.children(rs["metadata"]["uid"]):
                return  # old pods still terminating
        self._scale(deployment, new_rs, int(deployment["spec"]["replicas"]))

    def _delete_dependents(self, key: Key) -> None:
        """Background cascading deletion by the garbage collector."""
        uid = self._uids.pop(key, None)
        if uid is None:
            return
        for rs_key in self.ctx.index.children(uid):
            rs = self.ctx.state.get("replicasets", *rs_key)
            if rs is None:
                continue
            self.ctx.state.delete("replicasets", *rs_key)
            for pod_key in self.ctx.index.children(rs["metadata"]["uid"]):
                self.ctx.delete_pod(*pod_key)
