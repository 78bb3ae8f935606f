"""The scheduler's filter plugins, in the default profile's order; each node reports the reasons of
the first plugin that rejects it, worded like `FitError`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deploy_assistant.sim.resources import container_resources, parse_quantity
from deploy_assistant.sim.state import Obj

UNRESOLVABLE_PREFIXES = (
    "node(s) were unschedulable",
    "node(s) had untolerated",
    "node(s) didn't match Pod's",
)


def _tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists" and (not tol.get("key") or tol["key"] == taint["key"]):
            return True
        if tol.get("key") == taint["key"] and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def taint_reasons(pod: Obj, node: Obj) -> list[str]:
    tolerations = pod["spec"].get("tolerations") or []
    for taint in node.get("spec", {}).get("taints") or []:
        if taint.get("effect") == "PreferNoSchedule" or _tolerates(tolerations, taint):
            continue
        return [f"node(s) had untolerated taint {{{taint['key']}: {taint.get('value', '')}}}"]
    return []


def _expression_matches(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, operator, values = expr["key"], expr["operator"], expr.get("values") or []
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


def affinity_reasons(pod: Obj, node: Obj) -> list[str]:
    labels = node["metadata"].get("labels") or {}
    selector = pod["spec"].get("nodeSelector") or {}
    ok = all(labels.get(k) == v for k, v in selector.items())
    required = ((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms") or []
    if terms:
        ok = ok and any(
            all(_expression_matches(e, labels) for e in term.get("matchExpressions") or [])
            for term in terms
        )
    return [] if ok else ["node(s) didn't match Pod's node affinity/selector"]


def resource_reasons(
    requests: dict[str, float], node: Obj, used: dict[str, float], pod_count: int
) -> list[str]:
    allocatable = node.get("status", {}).get("allocatable") or {}
    reasons = []
    if pod_count + 1 > int(allocatable.get("pods", 110)):
        reasons.append("Too many pods")
    for name, value in sorted(requests.items()):
        if name in allocatable and used.get(name, 0.0) + value > parse_quantity(allocatable[name]):
            reasons.append(f"Insufficient {name}")
    return reasons


def anti_affinity_reasons(pod: Obj, neighbours: Callable[[], list[dict[str, str]]]) -> list[str]:
    anti = (pod["spec"].get("affinity") or {}).get("podAntiAffinity") or {}
    terms = anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []
    labels_on_node = neighbours() if terms else []
    for term in terms:
        wanted = (term.get("labelSelector") or {}).get("matchLabels") or {}
        for labels in labels_on_node:
            if all(labels.get(k) == v for k, v in wanted.items()):
                return ["node(s) didn't match pod anti-affinity rules"]
    return []


def node_reasons(
    pod: Obj,
    node: Obj,
    used: dict[str, float],
    pod_count: int,
    neighbours: Callable[[], list[dict[str, str]]],
    requests: dict[str, float] | None = None,
) -> list[str]:
    """Why `pod` cannot run on `node` (empty when it fits); `requests` saves re-summing them."""
    if requests is None:
        requests = container_resources(pod["spec"], "requests")
    if node.get("spec", {}).get("unschedulable"):
        return ["node(s) were unschedulable"]
    return (
        taint_reasons(pod, node)
        or affinity_reasons(pod, node)
        or resource_reasons(requests, node, used, pod_count)
        or anti_affinity_reasons(pod, neighbours)
    )


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items()))


def fit_error(total_nodes: int, per_node: list[list[str]]) -> str:
    """`0/N nodes are available: …. preemption: 0/N nodes are available: ….`"""
    counts: dict[str, int] = {}
    preemption: dict[str, int] = {}
    for reasons in per_node:
        for reason in reasons:
            counts[reason] = counts.get(reason, 0) + 1
        hopeless = any(r.startswith(UNRESOLVABLE_PREFIXES) for r in reasons)
        verdict = (
            "Preemption is not helpful for scheduling"
            if hopeless
            else "No preemption victims found for incoming pod"
        )
        preemption[verdict] = preemption.get(verdict, 0) + 1
    return (
        f"0/{total_nodes} nodes are available: {_summary(counts)}. "
        f"preemption: 0/{total_nodes} nodes are available: {_summary(preemption)}."
    )


def prefilter_error(total_nodes: int, reason: str) -> str:
    """A PreFilter rejection (unbound PVCs): no per-node counts, preemption never helps."""
    return (
        f"0/{total_nodes} nodes are available: {reason}. preemption: 0/{total_nodes} nodes are "
        f"available: {total_nodes} Preemption is not helpful for scheduling."
    )
