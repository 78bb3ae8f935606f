"""The offline cluster: a scenario's nodes and objects, its simulated history, the apply under
test at virtual t=0, scripted actions, and a loopback Kubernetes API over it all.

    with Simulator(load_scenario("crash-loop"), speed=100.0) as sim:
        ...  # point the tool at sim.url with sim.clock; sim.run_until(120) in tests
"""

from __future__ import annotations

import logging
import random
from functools import partial
from types import TracebackType
from typing import Any

from deploy_assistant.sim.autoscaler import Autoscaler
from deploy_assistant.sim.cluster import (
    HASH_LABEL,
    REVISION,
    SimContext,
    default_deployment,
    node_object,
)
from deploy_assistant.sim.deployment_controller import DeploymentController
from deploy_assistant.sim.engine import Engine, SimClock
from deploy_assistant.sim.kubelet import Kubelet
from deploy_assistant.sim.ownership import OwnershipIndex
from deploy_assistant.sim.replicaset_controller import ReplicaSetController
from deploy_assistant.sim.scenario import Action, Scenario, load_scenario
from deploy_assistant.sim.scheduler import Scheduler
from deploy_assistant.sim.server import ApiServer
from deploy_assistant.sim.state import ClusterState, Obj, clone

log = logging.getLogger(__name__)

PLURALS = {
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "ResourceQuota": "resourcequotas",
    "Namespace": "namespaces",
    "Node": "nodes",
}


class Simulator:
    """A running simulated cluster; see the module docstring. Not reusable after `stop()`."""

    def __init__(
        self,
        scenario: Scenario | str,
        speed: float = 100.0,
        *,
        observe_delay_seconds: float = 0.5,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.scenario = load_scenario(scenario) if isinstance(scenario, str) else scenario
        self.clock = SimClock(speed, start_seconds=self.scenario.start_seconds)
        self.state = ClusterState(self.clock)
        self.engine = Engine(self.clock)
        self.ctx = SimContext(
            self.state,
            self.engine,
            OwnershipIndex(),
            self.scenario,
            random.Random(self.scenario.name),  # noqa: S311 - reproducible names
        )
        self.kubelet = Kubelet(self.ctx)
        self.scheduler = Scheduler(self.ctx, self.kubelet.pod_bound)
        if self.scenario.cluster.autoscaler is not None:
            self.scheduler.autoscaler = Autoscaler(self.ctx, self.scenario.cluster.autoscaler)
        self.replicasets = ReplicaSetController(self.ctx)
        self.deployments = DeploymentController(self.ctx, observe_delay_seconds)
        self.state.add_listener(self._observe)
        self.server = ApiServer(self.state, host=host, port=port, watch_time_scale=speed)
        self.url = ""
        self.apply_resource_version = "0"
        """The resourceVersion just before the first apply: a watch from it replays everything
        the apply caused, however late the watcher connects."""

    def _observe(self, plural: str, event_type: str, obj: dict[str, Any]) -> None:
        self.ctx.index.observe(plural, event_type, obj)
        self.replicasets.observe(plural, event_type, obj)
        self.deployments.observe(plural, event_type, obj)
        self.scheduler.observe(plural, event_type, obj)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Build the cluster, simulate the history, apply at t=0, then run in real time."""
        self._create_cluster()
        for item in self.scenario.applies:
            if item.at != 0:
                self.engine.at(item.at, partial(self.apply_manifest, item.manifest))
        for action in self.scenario.actions:
            self.engine.at(action.at, partial(self.perform, action))
        self.engine.run_until(0.0)
        self.apply_resource_version = str(self.state.resource_version)
        for item in self.scenario.applies:
            if item.at == 0:
                self.apply_manifest(item.manifest)
        self.engine.start()
        self.server.start()
        self.url = self.server.url
        return self

    def stop(self) -> None:
        self.engine.stop()
        self.server.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def cut_watches(self) -> None:
        """Drop every open watch connection abruptly (clients must resume or relist)."""
        self.server.cut_watches()

    def compact(self) -> None:
        """Forget the change history: watches from older resourceVersions get 410 Expired."""
        self.state.compact()

    def run_until(self, virtual_seconds: float) -> None:
        """Block until the virtual clock reaches `virtual_seconds` (relative to the apply)."""
        while (remaining := virtual_seconds - self.clock.monotonic()) > 0:
            self.clock.sleep(min(remaining, 5.0))
        self.engine.wait_processed(virtual_seconds)

    # -- cluster and scripted changes ----------------------------------------------------------

    def _create_cluster(self) -> None:
        cluster = self.scenario.cluster
        namespaces = {"default": {}, **{ns.name: ns.labels for ns in cluster.namespaces}}
        for item in self.scenario.applies:
            namespaces.setdefault(item.manifest.get("metadata", {}).get("namespace", "default"), {})
        for name, labels in namespaces.items():
            self.state.create(
                "namespaces",
                {
                    "metadata": {
                        "name": name,
                        "labels": {"kubernetes.io/metadata.name": name, **labels},
                    }
                },
            )
        for spec in cluster.nodes:
            for name in spec.names():
                self.state.create("nodes", node_object(spec, name))
        for quota in cluster.quotas:
            self.state.create(
                "resourcequotas",
                {
                    "metadata": {"name": quota.name, "namespace": quota.namespace},
                    "spec": {"hard": dict(quota.hard)},
                    "status": {"hard": dict(quota.hard)},
                },
            )
        for obj in self.scenario.objects:
            self._create_object(obj)

    def _create_object(self, obj: Obj) -> None:
        if obj.get("kind") == "Deployment":
            self.apply_manifest(obj)
            return
        self.state.create(PLURALS[str(obj.get("kind"))], clone(obj))

    def apply_manifest(self, manifest: Obj) -> None:
        namespace = str(manifest.get("metadata", {}).get("namespace") or "default")
        self.apply(namespace, manifest)

    def apply(self, namespace: str, deployment: Obj) -> Obj:
        """Like `kubectl apply`: create the Deployment or replace its spec (status untouched)."""
        desired = default_deployment(deployment, namespace)
        name = desired["metadata"]["name"]
        if self.state.get("deployments", namespace, name) is None:
            return self.state.create("deployments", desired)

        def merge(current: Obj) -> None:
            current["spec"] = desired["spec"]
            meta = current["metadata"]
            meta["labels"] = {
                **(meta.get("labels") or {}),
                **(desired["metadata"].get("labels") or {}),
            }
            notes = desired["metadata"].get("annotations") or {}
            meta["annotations"] = {**(meta.get("annotations") or {}), **notes}

        return self.state.mutate("deployments", namespace, name, merge)

    def perform(self, action: Action) -> None:
        """Run one scripted action (also usable directly from tests)."""
        ns, name = action.namespace, action.name
        if action.do == "create":
            self._create_object(
                dict(
                    action.object or {},
                    metadata={"namespace": ns, **(action.object or {}).get("metadata", {})},
                )
            )
        elif action.do == "delete":
            self.state.delete(action.plural or "pods", ns, name)
        elif action.do == "delete_deployment":
            self.state.delete("deployments", ns, name)
        elif action.do == "scale":
            self._edit_spec(ns, name, replicas=action.replicas)
        elif action.do in ("pause", "resume"):
            self._edit_spec(ns, name, paused=action.do == "pause")
        elif action.do == "rollback":
            self.rollback(ns, name, action.revision)
        elif action.do == "bind_pvc":
            self.state.mutate("persistentvolumeclaims", ns, name, _bind_claim)

    def _edit_spec(self, namespace: str, name: str, **fields: Any) -> None:
        def edit(obj: Obj) -> None:
            obj["spec"].update(fields)

        self.state.mutate("deployments", namespace, name, edit)

    def rollback(self, namespace: str, name: str, revision: int | None = None) -> None:
        """`kubectl rollout undo [--to-revision]`: copy an older ReplicaSet's template back."""
        deployment = self.state.get("deployments", namespace, name)
        if deployment is None:
            return
        owned = [
            rs
            for key in self.ctx.index.children(deployment["metadata"]["uid"])
            if (rs := self.state.get("replicasets", *key)) is not None
        ]
        by_revision = sorted(owned, key=lambda rs: int(rs["metadata"]["annotations"][REVISION]))
        if revision is None:
            target = by_revision[-2] if len(by_revision) >= 2 else None
        else:
            target = next(
                (
                    rs
                    for rs in by_revision
                    if int(rs["metadata"]["annotations"][REVISION]) == revision
                ),
                None,
            )
        if target is None:
            return
        template = clone(target["spec"]["template"])
        template["metadata"]["labels"].pop(HASH_LABEL, None)
        self._edit_spec(namespace, name, template=template)


def _bind_claim(claim: Obj) -> None:
    claim.setdefault("status", {})["phase"] = "Bound"
    claim["spec"].setdefault("volumeName", f"pvc-{claim['metadata']['uid']}")
