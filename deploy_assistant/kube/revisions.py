"""The collector's view of a rollout's revisions: selector, new/previous ReplicaSet, pod sample.

The controller semantics (which ReplicaSet is new, which came before, which pods are whose) live
in `deploy_assistant.workloads` and are re-exported here for the collector; this module adds what
collection needs on top: the label selector to list by, and old pods ranked for comparison.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deploy_assistant import workloads
from deploy_assistant.models import KubeObject
from deploy_assistant.workloads import find_new_replicaset as find_new_replicaset
from deploy_assistant.workloads import find_previous_replicaset as find_previous_replicaset
from deploy_assistant.workloads import is_controlled_by as is_controlled_by
from deploy_assistant.workloads import is_ready as is_ready
from deploy_assistant.workloads import owned_replicasets as owned_replicasets
from deploy_assistant.workloads import revision as revision
from deploy_assistant.workloads import template_hash as template_hash


def label_selector(deployment: Mapping[str, Any]) -> str:
    """The Deployment's `spec.selector` in the API's label-selector syntax."""
    selector = _mapping(_mapping(deployment.get("spec")).get("selector"))
    terms = [f"{k}={v}" for k, v in sorted(_mapping(selector.get("matchLabels")).items())]
    operators = {"In": "in", "NotIn": "notin"}
    for expr in selector.get("matchExpressions") or []:
        key, op = _mapping(expr).get("key"), _mapping(expr).get("operator")
        if op in operators:
            terms.append(
                f"{key} {operators[op]} ({','.join(map(str, _mapping(expr).get('values') or []))})"
            )
        elif op in ("Exists", "DoesNotExist"):
            terms.append(str(key) if op == "Exists" else f"!{key}")
    return ",".join(terms)


def split_pods(
    pods: list[KubeObject],
    new_rs: KubeObject | None,
    previous_rs: KubeObject | None,
    owned: list[KubeObject],
    replicasets_unknown: bool,
) -> tuple[list[KubeObject], list[KubeObject]]:
    """(new pods by name, old pods best for comparison first). Without ReplicaSets all are new.

    Old pods are those of another owned ReplicaSet, ranked: the previous ReplicaSet's first, then
    Ready ones, then not terminating.
    """
    if replicasets_unknown:
        return sorted(pods, key=_sort_name), []
    new, rest = workloads.split_pods(pods, new_rs)
    old = [pod for pod in rest if any(is_controlled_by(pod, rs) for rs in owned)]

    def rank(pod: KubeObject) -> tuple[bool, bool, bool, str]:
        of_previous = previous_rs is not None and is_controlled_by(pod, previous_rs)
        terminating = bool(_mapping(pod.get("metadata")).get("deletionTimestamp"))
        return (not of_previous, not is_ready(pod), terminating, _sort_name(pod))

    return sorted(new, key=_sort_name), sorted(old, key=rank)


def _sort_name(obj: Mapping[str, Any]) -> str:
    return workloads.name_of(obj) or ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
