"""A cluster autoscaler: an unschedulable pod that a new node would fit triggers a scale-up (a
node joins after `provision_seconds`); otherwise `NotTriggerScaleUp` says why not."""

from __future__ import annotations

from typing import Protocol

from deploy_assistant.sim.cluster import SimContext, node_object
from deploy_assistant.sim.node_filters import node_reasons
from deploy_assistant.sim.ownership import Key, object_key
from deploy_assistant.sim.resources import container_resources, parse_quantity
from deploy_assistant.sim.scenario import AutoscalerSpec
from deploy_assistant.sim.state import Obj

SOURCE = "cluster-autoscaler"


class NodeJudge(Protocol):
    def reasons(self, pod: Obj, node: Obj) -> list[str]: ...


class Autoscaler:
    def __init__(self, ctx: SimContext, spec: AutoscalerSpec) -> None:
        self.ctx = ctx
        self.spec = spec
        self._upcoming: list[dict[str, float]] = []
        """Requests already promised to each node being provisioned."""
        self._covered: set[Key] = set()

    def consider(self, pod: Obj, judge: NodeJudge | None) -> None:
        """Called by the scheduler for each unschedulable pod (None: a new node cannot help)."""
        key = object_key(pod)
        if judge is None or key in self._covered:
            return
        template = node_object(self.spec.node, f"{self.spec.group}-template")
        reasons = node_reasons(pod, template, {}, 0, list)
        if reasons:
            self._not_triggered(pod, ", ".join(f"1 {r}" for r in reasons))
            return
        requests = container_resources(pod["spec"], "requests")
        allocatable = template["status"]["allocatable"]
        for promised in self._upcoming:
            if all(
                promised.get(k, 0.0) + v <= parse_quantity(allocatable.get(k, "0"))
                for k, v in requests.items()
                if k in allocatable
            ):
                for k, v in requests.items():
                    promised[k] = promised.get(k, 0.0) + v
                self._covered.add(key)
                return
        nodes, _ = self.ctx.state.list("nodes")
        size = len(nodes) + len(self._upcoming)
        if size >= self.spec.max_nodes:
            self._not_triggered(pod, "1 max node group size reached")
            return
        self._upcoming.append(dict(requests))
        self._covered.add(key)
        self.ctx.state.record_event(
            pod,
            "TriggeredScaleUp",
            f"pod triggered scale-up: [{{{self.spec.group} {size}->{size + 1} "
            f"(max: {self.spec.max_nodes})}}]",
            component=SOURCE,
        )
        self.ctx.engine.after(self.spec.provision_seconds, self._provisioned)

    def _not_triggered(self, pod: Obj, why: str) -> None:
        self.ctx.state.record_event(
            pod, "NotTriggerScaleUp", f"pod didn't trigger scale-up: {why}", component=SOURCE
        )

    def _provisioned(self) -> None:
        if self._upcoming:
            self._upcoming.pop(0)
        name = f"{self.spec.group}-{self.ctx.suffix(4)}"
        self.ctx.state.create("nodes", node_object(self.spec.node, name))
