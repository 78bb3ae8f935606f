"""The kubelet's picture of one pod, and the API-complete `status` it writes from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deploy_assistant.sim.ownership import Key
from deploy_assistant.sim.scenario import ImageBehaviour, RunBehaviour


@dataclass
class ContainerRun:
    name: str
    image: str
    init: bool
    spec: dict[str, Any]
    image_behaviour: ImageBehaviour
    restart_count: int = 0
    state: dict[str, Any] = field(
        default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}}
    )
    last_state: dict[str, Any] = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    done: bool = False
    image_id: str = ""
    container_id: str = ""
    token: int = 0
    """Bumped on every (re)start and kill: timers of an earlier run compare it and give up."""
    backoff_seconds: float = 0.0
    image_backoff_seconds: float = 0.0
    exits: int = 0
    crashing: bool = False
    """This run will exit; unless `ready_after` says otherwise it never starts serving."""
    started_at: float = 0.0
    started_stamp: str = ""

    @property
    def behaviour(self) -> RunBehaviour:
        return self.image_behaviour.run_for(self.name)

    def field_path(self) -> str:
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"

    def api_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "name": self.name,
            "image": self.image,
            "imageID": self.image_id,
            "ready": self.ready,
            "restartCount": self.restart_count,
            "started": self.started,
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.container_id:
            status["containerID"] = self.container_id
        return status


@dataclass
class PodRun:
    key: Key
    uid: str
    node: str
    node_arch: str
    pod_ip: str
    host_ip: str
    grace_seconds: float
    inits: list[ContainerRun]
    containers: list[ContainerRun]
    start_stamp: str
    qos_class: str
    terminating: bool = False
    transitions: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def initialized(self) -> bool:
        return all(c.done for c in self.inits)

    def reference(self, container: ContainerRun | None = None) -> dict[str, Any]:
        ref = {
            "kind": "Pod",
            "namespace": self.key[0],
            "name": self.key[1],
            "uid": self.uid,
            "apiVersion": "v1",
        }
        if container is not None:
            ref["fieldPath"] = container.field_path()
        return ref

    def _condition(
        self, kind: str, ok: bool, stamp: str, reason: str = "", message: str = ""
    ) -> dict[str, Any]:
        value = "True" if ok else "False"
        previous = self.transitions.get(kind)
        if previous is None or previous[0] != value:
            self.transitions[kind] = (value, stamp)
        condition: dict[str, Any] = {
            "type": kind,
            "status": value,
            "lastProbeTime": None,
            "lastTransitionTime": self.transitions[kind][1],
        }
        if not ok and reason:
            condition["reason"], condition["message"] = reason, message
        return condition

    def api_status(self, stamp: str, scheduled_stamp: str) -> dict[str, Any]:
        unready = [c.name for c in self.containers if not c.ready]
        incomplete = [c.name for c in self.inits if not c.done]
        running_once = any(c.container_id for c in self.containers)
        phase = "Running" if self.initialized and running_once else "Pending"
        ready_message = f"containers with unready status: [{' '.join(unready)}]"
        conditions = [
            self._condition("PodReadyToStartContainers", True, stamp),
            self._condition(
                "Initialized",
                not incomplete,
                stamp,
                "ContainersNotInitialized",
                f"containers with incomplete status: [{' '.join(incomplete)}]",
            ),
            self._condition("Ready", not unready, stamp, "ContainersNotReady", ready_message),
            self._condition(
                "ContainersReady", not unready, stamp, "ContainersNotReady", ready_message
            ),
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": scheduled_stamp,
            },
        ]
        status: dict[str, Any] = {
            "phase": phase,
            "conditions": conditions,
            "hostIP": self.host_ip,
            "hostIPs": [{"ip": self.host_ip}],
            "podIP": self.pod_ip,
            "podIPs": [{"ip": self.pod_ip}],
            "startTime": self.start_stamp,
            "qosClass": self.qos_class,
            "containerStatuses": [c.api_status() for c in self.containers],
        }
        if self.inits:
            status["initContainerStatuses"] = [c.api_status() for c in self.inits]
        return status
