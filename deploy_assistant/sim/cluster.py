"""What the simulated cluster's components share: the store, the engine, the ownership index,
and the API server's own behaviour (defaulting, graceful deletion, the pod-template hash)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from deploy_assistant.sim.engine import Engine
from deploy_assistant.sim.ownership import Key, OwnershipIndex
from deploy_assistant.sim.scenario import NodeSpec, Scenario
from deploy_assistant.sim.state import ClusterState, Obj, clone, timestamp

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
# k8s.io/apimachinery/pkg/util/rand: consonants and digits that cannot spell bad words.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _noop(_: Key) -> None:
    return None


@dataclass
class SimContext:
    state: ClusterState
    engine: Engine
    index: OwnershipIndex
    scenario: Scenario
    rng: random.Random = field(default_factory=lambda: random.Random(7))  # noqa: S311 - names, not secrets
    pod_terminating: Callable[[Key], None] = _noop
    """Set by the kubelet: a bound pod got a deletionTimestamp and must stop its containers."""

    def now(self) -> datetime:
        """The engine's current virtual time as a wall time (see `Engine.now`)."""
        return self.engine.clock.moment(self.engine.now())

    def stamp(self, offset_seconds: float = 0.0) -> str:
        return timestamp(self.now() + timedelta(seconds=offset_seconds))

    def suffix(self, length: int = 5) -> str:
        return "".join(self.rng.choice(SAFE_ALPHABET) for _ in range(length))

    def delete_pod(self, namespace: str, name: str) -> None:
        """Graceful deletion: unbound pods go at once; bound ones get a deletionTimestamp."""
        pod = self.state.get("pods", namespace, name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        if not pod["spec"].get("nodeName"):
            self.state.delete("pods", namespace, name)
            return
        grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))

        def mark(obj: Obj) -> None:
            obj["metadata"]["deletionTimestamp"] = self.stamp(grace)
            obj["metadata"]["deletionGracePeriodSeconds"] = grace

        self.state.mutate("pods", namespace, name, mark)
        self.pod_terminating((namespace, name))


def _fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def template_without_hash(template: dict[str, Any]) -> dict[str, Any]:
    bare = clone(template)
    labels = bare.get("metadata", {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return bare


def template_hash(template: dict[str, Any], collision_count: int = 0) -> str:
    """A stable short hash of a pod template, encoded like the controller's `ComputeHash`."""
    text = json.dumps(template_without_hash(template), sort_keys=True, separators=(",", ":"))
    value = _fnv32a((text + (str(collision_count) if collision_count else "")).encode())
    return "".join(SAFE_ALPHABET[byte % len(SAFE_ALPHABET)] for byte in str(value).encode())


def templates_equal(left: dict[str, Any], right: dict[str, Any]) -> bool:
    """Pod templates compared like `EqualIgnoreHash`."""
    return template_without_hash(left) == template_without_hash(right)


def _default_probe(probe: dict[str, Any] | None) -> None:
    if probe is None:
        return
    for key, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        probe.setdefault(key, value)


def _default_container(container: dict[str, Any]) -> None:
    image = str(container.get("image", ""))
    tagless = ":" not in image.rsplit("/", 1)[-1] and "@" not in image
    latest = tagless or image.endswith(":latest")
    container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(container.get(probe))


def default_deployment(manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The manifest with the fields the API server defaults (and a selector if it is missing)."""
    obj = clone(manifest)
    obj["apiVersion"], obj["kind"] = "apps/v1", "Deployment"
    meta = obj.setdefault("metadata", {})
    meta["namespace"] = namespace
    spec = obj.setdefault("spec", {})
    template = spec.setdefault("template", {})
    labels = template.setdefault("metadata", {}).setdefault("labels", {"app": meta["name"]})
    spec.setdefault("selector", {"matchLabels": dict(labels)})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy["type"] = "RollingUpdate"
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxSurge", "25%")
        rolling.setdefault("maxUnavailable", "25%")
    pod = template.setdefault("spec", {})
    pod.setdefault("restartPolicy", "Always")
    pod.setdefault("terminationGracePeriodSeconds", 30)
    pod.setdefault("dnsPolicy", "ClusterFirst")
    pod.setdefault("schedulerName", "default-scheduler")
    pod.setdefault("securityContext", {})
    for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        _default_container(container)
    return obj


def owner_reference(owner: Obj) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def node_object(spec: NodeSpec, name: str) -> Obj:
    """A Ready node as the kubelet registers it."""
    capacity = {"cpu": spec.cpu, "memory": spec.memory, "pods": str(spec.pods)}
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/arch": spec.arch,
        "kubernetes.io/os": "linux",
        **spec.labels,
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": [dict(t) for t in spec.taints], "unschedulable": spec.unschedulable},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }
            ],
            "nodeInfo": {
                "architecture": spec.arch,
                "operatingSystem": "linux",
                "kubeletVersion": "v1.31.4",
                "containerRuntimeVersion": "containerd://1.7.24",
            },
        },
    }
