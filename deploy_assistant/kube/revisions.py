"""Which ReplicaSet is the rollout's new one, and which came before it (controller semantics).

Pure functions over API-shaped dicts, following the Deployment controller (`FindNewReplicaSet`):
a ReplicaSet belongs to a Deployment when its controller ownerReference carries the Deployment's
uid; the new one is the owned ReplicaSet whose pod template equals the Deployment's with the
`pod-template-hash` label ignored (the oldest if several do); the revision annotation is the
cross-check and the fallback for hand-made snapshots whose templates were trimmed. The previous
ReplicaSet is the owned one with the highest revision below the new one's. The hash is read from
the label, never recomputed (`collisionCount` changes it). New pods carry the new ReplicaSet's
hash and its controller ownerReference; every other owned pod is old.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from deploy_assistant.models import KubeObject

HASH_LABEL = "pod-template-hash"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def find_new_replicaset(
    deployment: Mapping[str, Any], replicasets: Sequence[KubeObject]
) -> KubeObject | None:
    """The Deployment's current ReplicaSet, or None when the controller has not created it yet."""
    owned = owned_replicasets(deployment, replicasets)
    template = _without_hash(_mapping(_mapping(deployment.get("spec")).get("template")))
    wanted = revision(deployment)
    matches = [rs for rs in owned if _without_hash(_rs_template(rs)) == template]
    if matches:
        # Oldest first, as upstream; one carrying the Deployment's revision wins a tie.
        return min(matches, key=lambda rs: (revision(rs) != wanted, *_age_key(rs)))
    by_revision = [rs for rs in owned if wanted is not None and revision(rs) == wanted]
    return min(by_revision, key=_age_key) if by_revision else None


def find_previous_replicaset(
    deployment: Mapping[str, Any], replicasets: Sequence[KubeObject]
) -> KubeObject | None:
    """The owned ReplicaSet with the highest revision below the new one's (None on a first rollout).

    Without a new ReplicaSet (not created yet), the highest-revision owned one is the previous.
    """
    owned = owned_replicasets(deployment, replicasets)
    new = find_new_replicaset(deployment, replicasets)
    new_uid = _uid(new) if new is not None else None
    ceiling = revision(new) if new is not None else None
    candidates = [
        (rev, rs)
        for rs in owned
        if (rev := revision(rs)) is not None
        and (new is None or (_uid(rs), _name(rs)) != (new_uid, _name(new)))
        and (ceiling is None or rev < ceiling)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda pair: (pair[0], _age_key(pair[1])))[1]


def owned_replicasets(
    deployment: Mapping[str, Any], replicasets: Sequence[KubeObject]
) -> list[KubeObject]:
    """ReplicaSets whose controller is this Deployment (by uid; by name when uids are absent)."""
    return [rs for rs in replicasets if is_controlled_by(rs, deployment)]


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    """True when `obj`'s controller ownerReference points at `owner`.

    Matches on uid; a hand-made snapshot without uids matches on kind and name instead.
    """
    owner_uid = _uid(owner)
    owner_kind = owner.get("kind")
    for ref in _mapping(obj.get("metadata")).get("ownerReferences") or []:
        if not isinstance(ref, Mapping) or ref.get("controller") is False:
            continue
        if owner_uid and ref.get("uid"):
            if ref.get("uid") == owner_uid:
                return True
            continue
        same_kind = owner_kind is None or ref.get("kind") == owner_kind
        if same_kind and ref.get("name") == _name(owner):
            return True
    return False


def revision(obj: Mapping[str, Any] | None) -> int | None:
    """The `deployment.kubernetes.io/revision` annotation as an int, None when absent or bad."""
    if obj is None:
        return None
    annotations = _mapping(_mapping(obj.get("metadata")).get("annotations"))
    try:
        return int(str(annotations.get(REVISION_ANNOTATION)))
    except ValueError:
        return None


def template_hash(replicaset: Mapping[str, Any]) -> str | None:
    """The ReplicaSet's `pod-template-hash` label (read, never recomputed)."""
    labels = _mapping(_mapping(replicaset.get("metadata")).get("labels"))
    value = labels.get(HASH_LABEL)
    return str(value) if value is not None else None


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
    """(new pods, old pods best for comparison first). Without ReplicaSets every pod counts as new.

    Old pods are ranked: the previous ReplicaSet's first, then Ready ones, then not terminating.
    """
    if replicasets_unknown:
        return sorted(pods, key=_sort_name), []
    new_hash = template_hash(new_rs) if new_rs else None
    new = [
        pod
        for pod in pods
        if new_rs is not None
        and is_controlled_by(pod, new_rs)
        and (new_hash is None or _labels(pod).get(HASH_LABEL) == new_hash)
    ]
    old = [pod for pod in pods if pod not in new and any(is_controlled_by(pod, rs) for rs in owned)]

    def rank(pod: KubeObject) -> tuple[bool, bool, bool, str]:
        of_previous = previous_rs is not None and is_controlled_by(pod, previous_rs)
        terminating = bool(_mapping(pod.get("metadata")).get("deletionTimestamp"))
        return (not of_previous, not is_ready(pod), terminating, _sort_name(pod))

    return sorted(new, key=_sort_name), sorted(old, key=rank)


def is_ready(pod: Mapping[str, Any]) -> bool:
    return any(
        _mapping(c).get("type") == "Ready" and _mapping(c).get("status") == "True"
        for c in _mapping(pod.get("status")).get("conditions") or []
    )


def _rs_template(rs: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(_mapping(rs.get("spec")).get("template"))


def _without_hash(template: Mapping[str, Any]) -> dict[str, Any]:
    metadata = dict(_mapping(template.get("metadata")))
    labels = {k: v for k, v in _mapping(metadata.get("labels")).items() if k != HASH_LABEL}
    if labels:
        metadata["labels"] = labels
    else:
        metadata.pop("labels", None)
    # The API server may or may not echo an empty creationTimestamp inside templates.
    metadata.pop("creationTimestamp", None)
    return {**template, "metadata": metadata}


def _age_key(rs: Mapping[str, Any]) -> tuple[str, str]:
    metadata = _mapping(rs.get("metadata"))
    return (str(metadata.get("creationTimestamp") or ""), str(metadata.get("name") or ""))


def _uid(obj: Mapping[str, Any]) -> str | None:
    uid = _mapping(obj.get("metadata")).get("uid")
    return str(uid) if uid else None


def _name(obj: Mapping[str, Any]) -> str | None:
    name = _mapping(obj.get("metadata")).get("name")
    return str(name) if name is not None else None


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(_mapping(obj.get("metadata")).get("labels"))


def _sort_name(obj: Mapping[str, Any]) -> str:
    return _name(obj) or ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
