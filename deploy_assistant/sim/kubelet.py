"""The kubelets of every node: start bound pods (volume mounts, init containers in order, then the
app containers), write API-complete pod status through the store, record events with counts,
and stop pods gracefully when they are deleted (deletionTimestamp, then gone)."""

from __future__ import annotations

import zlib
from typing import Any

from deploy_assistant.sim.cluster import SimContext
from deploy_assistant.sim.container_config import mount_errors
from deploy_assistant.sim.container_runtime import ContainerRuntime
from deploy_assistant.sim.ownership import Key
from deploy_assistant.sim.pod_status import ContainerRun, PodRun
from deploy_assistant.sim.probes import Prober
from deploy_assistant.sim.state import Obj

SANDBOX_SECONDS = 0.5
MAX_MOUNT_RETRY_SECONDS = 122.0
MOUNT_TIMEOUT_SECONDS = 120.0


def qos_class(spec: dict[str, Any]) -> str:
    resources = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        set(r.get("limits") or {}) >= {"cpu", "memory"}
        and all(
            (r.get("requests") or {}).get(k, v) == v for k, v in (r.get("limits") or {}).items()
        )
        for r in resources
    )
    return "Guaranteed" if guaranteed else "Burstable"


class Kubelet:
    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.runtime = ContainerRuntime(ctx, self)
        self.prober = Prober(ctx, self.runtime, self)
        self.pods: dict[Key, PodRun] = {}
        self._images: dict[str, set[str]] = {}
        self._ips: dict[str, int] = {}
        ctx.pod_terminating = self.terminate

    # -- KubeletHost ---------------------------------------------------------------------------

    def has_image(self, node: str, image: str) -> bool:
        return image in self._images.get(node, set())

    def add_image(self, node: str, image: str) -> None:
        self._images.setdefault(node, set()).add(image)

    def event(
        self, pod: PodRun, c: ContainerRun | None, reason: str, message: str, warning: bool = False
    ) -> None:
        self.ctx.state.record_event(
            pod.reference(c),
            reason,
            message,
            type="Warning" if warning else "Normal",
            component="kubelet",
            host=pod.node,
        )

    def write(self, pod: PodRun) -> None:
        """Publish the kubelet's view as the pod's status (a no-op when nothing changed)."""
        current = self.ctx.state.get("pods", *pod.key)
        if current is None:
            return
        scheduled = next(
            (
                c["lastTransitionTime"]
                for c in current.get("status", {}).get("conditions") or []
                if c["type"] == "PodScheduled"
            ),
            pod.start_stamp,
        )
        status = pod.api_status(self.ctx.stamp(), scheduled)

        def put(obj: Obj) -> None:
            obj["status"] = status

        self.ctx.state.mutate("pods", *pod.key, put)

    def container_running(self, pod: PodRun, c: ContainerRun) -> None:
        self.write(pod)
        self.prober.container_started(pod, c)

    def container_finished(self, pod: PodRun, c: ContainerRun) -> None:
        del c
        self.ctx.engine.after(0.5, lambda: self._start_containers(pod))

    # -- pod lifecycle -------------------------------------------------------------------------

    def _pod_ip(self, node: str) -> str:
        count = self._ips[node] = self._ips.get(node, 1) + 1
        return f"10.244.{zlib.crc32(node.encode()) % 250}.{count}"

    def pod_bound(self, key: Key) -> None:
        obj = self.ctx.state.get("pods", *key)
        if obj is None or obj["metadata"].get("deletionTimestamp") or key in self.pods:
            return
        node_name = obj["spec"]["nodeName"]
        node = self.ctx.state.get("nodes", None, node_name) or {"metadata": {}}
        labels = node["metadata"].get("labels") or {}

        def run(spec: dict[str, Any], init: bool) -> ContainerRun:
            image = str(spec.get("image", ""))
            c = ContainerRun(spec["name"], image, init, spec, self.ctx.scenario.image(image))
            if not init and obj["spec"].get("initContainers"):
                c.state = {"waiting": {"reason": "PodInitializing"}}
            return c

        pod = PodRun(
            key=key,
            uid=obj["metadata"]["uid"],
            node=node_name,
            node_arch=labels.get("kubernetes.io/arch", "amd64"),
            pod_ip=self._pod_ip(node_name),
            host_ip=f"10.0.{zlib.crc32(node_name.encode()) % 250}.10",
            grace_seconds=float(obj["spec"].get("terminationGracePeriodSeconds", 30)),
            inits=[run(s, True) for s in obj["spec"].get("initContainers") or []],
            containers=[run(s, False) for s in obj["spec"].get("containers") or []],
            start_stamp=self.ctx.stamp(),
            qos_class=qos_class(obj["spec"]),
        )
        self.pods[key] = pod
        self.write(pod)
        self._mount(pod, 0, self.ctx.engine.now())

    def _mount(self, pod: PodRun, attempt: int, first_seconds: float) -> None:
        if pod.terminating:
            return
        spec = (self.ctx.state.get("pods", *pod.key) or {}).get("spec") or {}
        errors = mount_errors(self.ctx, pod.key[0], spec)
        if not errors:
            self.ctx.engine.after(SANDBOX_SECONDS, lambda: self._start_containers(pod))
            return
        for _, message in errors:
            self.event(pod, None, "FailedMount", message, warning=True)
        waited = self.ctx.engine.now() - first_seconds
        if waited >= MOUNT_TIMEOUT_SECONDS:
            names = " ".join(volume for volume, _ in errors)
            self.event(
                pod,
                None,
                "FailedMount",
                f"Unable to attach or mount volumes: unmounted volumes=[{names}], unattached "
                f"volumes=[{names} kube-api-access-{pod.key[1][-5:]}]: timed out waiting for the "
                "condition",
                warning=True,
            )
            first_seconds = self.ctx.engine.now()
        delay = min(2.0 ** (attempt + 1), MAX_MOUNT_RETRY_SECONDS)
        self.ctx.engine.after(delay, lambda: self._mount(pod, attempt + 1, first_seconds))

    def _start_containers(self, pod: PodRun) -> None:
        if pod.terminating:
            return
        pending_init = next((c for c in pod.inits if not c.done), None)
        if pending_init is not None:
            if not pending_init.container_id and pending_init.restart_count == 0:
                self.runtime.start(pod, pending_init)
            return
        for c in pod.containers:
            if not c.container_id and c.restart_count == 0:
                c.state = {"waiting": {"reason": "ContainerCreating"}}
                self.runtime.start(pod, c)

    def terminate(self, key: Key) -> None:
        """The pod got a deletionTimestamp: stop its containers, then remove the object."""
        pod = self.pods.get(key)
        if pod is None:
            self.ctx.engine.after(SANDBOX_SECONDS, lambda: self._gone(key))
            return
        pod.terminating = True
        stop_seconds = 0.5
        for c in [*pod.inits, *pod.containers]:
            c.token += 1
            if "running" in c.state:
                self.event(pod, c, "Killing", f"Stopping container {c.name}")
                stop_seconds = max(stop_seconds, c.behaviour.stop_seconds)
            c.ready = False
        self.write(pod)
        self.ctx.engine.after(min(stop_seconds, pod.grace_seconds), lambda: self._gone(key))

    def _gone(self, key: Key) -> None:
        self.pods.pop(key, None)
        if self.ctx.state.get("pods", *key) is not None:
            self.ctx.state.delete("pods", *key)
