"""Checks that a simulated cluster reached a scenario's declared end state."""

from __future__ import annotations

from typing import Any

from deploy_assistant.sim.cluster import REVISION
from deploy_assistant.sim.ownership import OwnershipIndex
from deploy_assistant.sim.scenario import EndState, Scenario
from deploy_assistant.sim.state import ClusterState, Obj


def _container_facts(status: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    return {
        f"{prefix}waiting_reason": (state.get("waiting") or {}).get("reason"),
        f"{prefix}terminated_reason": (state.get("terminated") or {}).get("reason"),
        f"{prefix}last_reason": last.get("reason"),
        f"{prefix}last_exit_code": last.get("exitCode"),
        f"{prefix}ready": bool(status.get("ready")),
        f"{prefix}running": "running" in state,
    }


def pod_facts(pod: Obj) -> dict[str, Any]:
    """Flat facts about a pod that end states talk about (first app and init container)."""
    status = pod.get("status") or {}
    scheduled: dict[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {}
    )
    containers = status.get("containerStatuses") or [{}]
    inits = status.get("initContainerStatuses") or [{}]
    return {
        "phase": status.get("phase"),
        "scheduled": scheduled.get("status") == "True",
        "unschedulable": scheduled.get("reason") == "Unschedulable",
        "min_restarts": max(int(c.get("restartCount", 0)) for c in containers),
        "init_min_restarts": max(int(c.get("restartCount", 0)) for c in inits),
        **_container_facts(containers[0]),
        **_container_facts(inits[0], "init_"),
    }


def _pod_matches(facts: dict[str, Any], wanted: dict[str, Any]) -> bool:
    for key, value in wanted.items():
        if key.endswith("min_restarts"):
            if facts.get(key, 0) < value:
                return False
        elif facts.get(key) != value:
            return False
    return True


def end_state_mismatches(
    state: ClusterState, index: OwnershipIndex, scenario: Scenario
) -> list[str]:
    """What differs from `scenario.expect.end_state` (empty when the end state holds)."""
    end: EndState = scenario.expect.end_state
    namespace, name = scenario.targets[0]
    deployment = state.get("deployments", namespace, name)
    if end.deleted:
        return [] if deployment is None else [f"deployment {name} still exists"]
    if deployment is None:
        return [f"deployment {name} is gone"]
    problems = []
    status = deployment.get("status") or {}
    for field, value in end.deployment.items():
        if int(status.get(field, 0)) != value:
            problems.append(f"status.{field} is {status.get(field, 0)}, expected {value}")
    reasons = {c["type"]: c.get("reason") for c in status.get("conditions") or []}
    for kind, reason in end.conditions.items():
        if reasons.get(kind) != reason:
            problems.append(f"condition {kind} has reason {reasons.get(kind)}, expected {reason}")
    if bool(deployment["spec"].get("paused")) != end.paused:
        problems.append(f"spec.paused is {deployment['spec'].get('paused')}, expected {end.paused}")
    if end.pods:
        facts = [pod_facts(p) for p in _newest_pods(state, index, deployment)]
        if not any(_pod_matches(f, end.pods) for f in facts):
            problems.append(f"no new pod matches {end.pods}; pods: {facts}")
    events, _ = state.list("events", namespace)
    seen = {e.get("reason") for e in events}
    problems.extend(f"no {reason} event" for reason in end.events if reason not in seen)
    return problems


def _newest_pods(state: ClusterState, index: OwnershipIndex, deployment: Obj) -> list[Obj]:
    revision = (deployment["metadata"].get("annotations") or {}).get(REVISION)
    for key in index.children(deployment["metadata"]["uid"]):
        rs = state.get("replicasets", *key)
        if rs is not None and (rs["metadata"].get("annotations") or {}).get(REVISION) == revision:
            pods = (state.get("pods", *k) for k in index.children(rs["metadata"]["uid"]))
            return [p for p in pods if p is not None and not p["metadata"].get("deletionTimestamp")]
    return []
