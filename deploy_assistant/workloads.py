"""Reading Deployments, ReplicaSets and Pods: revisions, ownership, the new ReplicaSet, new pods.

Pure, lenient functions over API-shaped dicts (snapshots may be partial or hand-made, so every
lookup tolerates missing or odd fields). They follow the Deployment controller
(`FindNewReplicaSet`): a ReplicaSet belongs to a Deployment when its controller ownerReference
carries the Deployment's uid (kind and name when uids are absent); the new one is the owned
ReplicaSet whose pod template equals the Deployment's with the `pod-template-hash` label ignored,
the oldest if several do. The revision annotation is the cross-check, and the fallback for
snapshots whose templates were trimmed. The hash is read from the label, never recomputed
(`collisionCount` changes it). New pods carry the new ReplicaSet's hash and its controller
ownerReference.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from deploy_assistant.models import KubeObject

HASH_LABEL = "pod-template-hash"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def uid_of(obj: Mapping[str, Any] | None) -> str | None:
    """`metadata.uid`, None when absent or empty."""
    uid = _metadata(obj).get("uid")
    return str(uid) if uid else None


def name_of(obj: Mapping[str, Any] | None) -> str | None:
    name = _metadata(obj).get("name")
    return str(name) if name is not None else None


def revision(obj: Mapping[str, Any] | None) -> int | None:
    """The `deployment.kubernetes.io/revision` annotation as an int, None when absent or bad."""
    value = _mapping(_metadata(obj).get("annotations")).get(REVISION_ANNOTATION)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def revisions_agree(deployment: Mapping[str, Any], replicaset: Mapping[str, Any]) -> bool:
    """The ReplicaSet's revision is the Deployment's; False while the annotation lags."""
    return revision(replicaset) == revision(deployment)


def template_hash(replicaset: Mapping[str, Any] | None) -> str | None:
    """The `pod-template-hash` label (read, never recomputed); None when absent."""
    value = _mapping(_metadata(replicaset).get("labels")).get(HASH_LABEL)
    return str(value) if value else None


def template_key(template: Any) -> str:
    """A canonical form of a pod template that ignores the `pod-template-hash` label.

    The API server may or may not echo an empty `creationTimestamp` inside templates, so that is
    ignored too; empty labels and metadata equal absent ones.
    """
    body: dict[str, Any] = json.loads(json.dumps(_mapping(template), default=str))
    metadata = _mapping(body.pop("metadata", None))
    metadata = {k: v for k, v in metadata.items() if k != "creationTimestamp"}
    labels = {k: v for k, v in _mapping(metadata.pop("labels", None)).items() if k != HASH_LABEL}
    if labels:
        metadata["labels"] = labels
    if metadata:
        body["metadata"] = metadata
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def controller_uid(obj: Mapping[str, Any] | None) -> str | None:
    """The uid of the ownerReference marked `controller: true`, None when there is none."""
    for ref in _owner_refs(obj):
        if ref.get("controller") is True:
            return str(ref.get("uid") or "") or None
    return None


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    """True when an ownerReference of `obj` not marked `controller: false` points at `owner`.

    Matches on uid; a hand-made snapshot without uids matches on kind and name instead.
    """
    owner_uid = uid_of(owner)
    owner_kind = owner.get("kind")
    for ref in _owner_refs(obj):
        if ref.get("controller") is False:
            continue
        if owner_uid and ref.get("uid"):
            if ref.get("uid") == owner_uid:
                return True
            continue
        same_kind = owner_kind is None or ref.get("kind") == owner_kind
        if same_kind and ref.get("name") == name_of(owner):
            return True
    return False


def owned_replicasets(
    deployment: Mapping[str, Any], replicasets: Iterable[KubeObject]
) -> list[KubeObject]:
    """The ReplicaSets whose controller is this Deployment, in input order."""
    return [rs for rs in replicasets if is_controlled_by(rs, deployment)]


def find_new_replicaset(
    deployment: Mapping[str, Any], replicasets: Iterable[KubeObject]
) -> KubeObject | None:
    """The Deployment's current ReplicaSet, or None when the controller has not created it yet.

    Template equality decides (the oldest match wins, as upstream). Only when templates are
    missing (a trimmed snapshot) does the revision annotation pick instead; a ReplicaSet whose
    full template differs is never the new one, whatever its revision says.
    """
    owned = owned_replicasets(deployment, replicasets)
    wanted_template = _template(deployment)
    if wanted_template:
        key = template_key(wanted_template)
        matches = [rs for rs in owned if _template(rs) and template_key(_template(rs)) == key]
        if matches:
            return min(matches, key=_age_key)
    wanted = revision(deployment)
    by_revision = [
        rs
        for rs in owned
        if wanted is not None and revision(rs) == wanted and not (wanted_template and _template(rs))
    ]
    return min(by_revision, key=_age_key) if by_revision else None


def find_previous_replicaset(
    deployment: Mapping[str, Any], replicasets: Sequence[KubeObject]
) -> KubeObject | None:
    """The owned ReplicaSet with the highest revision below the new one's (None on a first rollout).

    Without a new ReplicaSet (not created yet), the highest-revision owned one is the previous.
    """
    new = find_new_replicaset(deployment, replicasets)
    ceiling = revision(new) if new is not None else None
    candidates = [
        (rev, rs)
        for rs in owned_replicasets(deployment, replicasets)
        if (rev := revision(rs)) is not None
        and (new is None or (uid_of(rs), name_of(rs)) != (uid_of(new), name_of(new)))
        and (ceiling is None or rev < ceiling)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda pair: (pair[0], _age_key(pair[1])))[1]


def snapshot_new_replicaset(
    deployment: Mapping[str, Any] | None, replicasets: Sequence[KubeObject]
) -> KubeObject | None:
    """The new ReplicaSet of a snapshot whose ReplicaSets are already the Deployment's own.

    The controller's answer when the objects say enough; else the ReplicaSet carrying the
    Deployment's revision; else the highest revision (newest on ties). None without ReplicaSets.
    """
    if not replicasets:
        return None
    if deployment is not None:
        found = find_new_replicaset(deployment, replicasets)
        if found is not None:
            return found
    wanted = revision(deployment)
    for rs in replicasets:
        if wanted is not None and revision(rs) == wanted:
            return rs
    return max(replicasets, key=lambda rs: (revision(rs) or 0, _age_key(rs)[0]))


def is_pod_of(pod: Mapping[str, Any], replicaset: Mapping[str, Any]) -> bool | None:
    """Whether `pod` belongs to `replicaset`; None when the pod records nothing to tell by.

    A pod with ownerReferences belongs when one points at the ReplicaSet and, where both carry
    one, its `pod-template-hash` equals the ReplicaSet's. A pod without ownerReferences is told by
    the hash label alone.
    """
    pod_hash = _mapping(_metadata(pod).get("labels")).get(HASH_LABEL)
    rs_hash = template_hash(replicaset)
    same_hash = pod_hash is None or rs_hash is None or str(pod_hash) == rs_hash
    if _owner_refs(pod):
        return is_controlled_by(pod, replicaset) and same_hash
    if pod_hash is not None and rs_hash is not None:
        return same_hash
    return None


def split_pods(
    pods: Iterable[KubeObject], new_rs: Mapping[str, Any] | None, *, unknown_are_new: bool = False
) -> tuple[list[KubeObject], list[KubeObject]]:
    """(new pods, other pods), each in input order. Without a new ReplicaSet no pod is new.

    Pods that record no owner and no hash count as new only with `unknown_are_new`.
    """
    new: list[KubeObject] = []
    old: list[KubeObject] = []
    for pod in pods:
        belongs = is_pod_of(pod, new_rs) if new_rs is not None else False
        (new if belongs or (belongs is None and unknown_are_new) else old).append(pod)
    return new, old


def is_ready(pod: Mapping[str, Any]) -> bool:
    """The pod's Ready condition is True."""
    return any(
        _mapping(c).get("type") == "Ready" and _mapping(c).get("status") == "True"
        for c in _list(_mapping(pod.get("status")).get("conditions"))
    )


def _template(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(_mapping(obj.get("spec")).get("template"))


def _age_key(rs: Mapping[str, Any]) -> tuple[str, str]:
    return (str(_metadata(rs).get("creationTimestamp") or ""), name_of(rs) or "")


def _owner_refs(obj: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return [ref for ref in _list(_metadata(obj).get("ownerReferences")) if isinstance(ref, Mapping)]


def _metadata(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return _mapping(_mapping(obj).get("metadata"))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
