"""find_new_replicaset / find_previous_replicaset: the controller's way of telling revisions."""

from __future__ import annotations

from typing import Any

from deploy_assistant.kube.revisions import (
    find_new_replicaset,
    find_previous_replicaset,
    is_controlled_by,
    revision,
    template_hash,
)

DEP_UID = "dep-uid"


def pod_template(image: str, hash_: str | None = None) -> dict[str, Any]:
    labels = {"app": "web"}
    if hash_:
        labels["pod-template-hash"] = hash_
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def deployment(image: str, rev: int) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "uid": DEP_UID,
            "annotations": {"deployment.kubernetes.io/revision": str(rev)},
        },
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": pod_template(image)},
    }


def replicaset(
    name: str,
    image: str,
    rev: int | str | None,
    *,
    owner_uid: str = DEP_UID,
    created: str = "2026-11-27T09:00:00Z",
) -> dict[str, Any]:
    annotations = {} if rev is None else {"deployment.kubernetes.io/revision": str(rev)}
    hash_ = name.rsplit("-", 1)[-1]
    return {
        "metadata": {
            "name": name,
            "uid": f"uid-{name}",
            "creationTimestamp": created,
            "labels": {"app": "web", "pod-template-hash": hash_},
            "annotations": annotations,
            "ownerReferences": [
                {"kind": "Deployment", "name": "web", "uid": owner_uid, "controller": True}
            ],
        },
        "spec": {"template": pod_template(image, hash_)},
    }


def names(obj: dict[str, Any] | None) -> str | None:
    return None if obj is None else str(obj["metadata"]["name"])


def test_new_is_template_match_and_previous_is_next_lower_revision() -> None:
    rss = [
        replicaset("web-aaa", "web:1", 1),
        replicaset("web-bbb", "web:2", 2),
        replicaset("web-ccc", "web:3", 3),
    ]
    dep = deployment("web:3", 3)
    assert names(find_new_replicaset(dep, rss)) == "web-ccc"
    assert names(find_previous_replicaset(dep, rss)) == "web-bbb"


def test_rollback_reuses_old_replicaset_and_previous_is_highest_below() -> None:
    # Rolling back to web:1 bumps the old ReplicaSet's revision to 4.
    rss = [
        replicaset("web-aaa", "web:1", 4),
        replicaset("web-bbb", "web:2", 2),
        replicaset("web-ccc", "web:3", 3),
    ]
    dep = deployment("web:1", 4)
    assert names(find_new_replicaset(dep, rss)) == "web-aaa"
    assert names(find_previous_replicaset(dep, rss)) == "web-ccc"


def test_replicasets_of_another_deployment_are_ignored() -> None:
    rss = [
        replicaset("web-aaa", "web:1", 1),
        replicaset("web-zzz", "web:2", 9, owner_uid="other-uid"),
    ]
    dep = deployment("web:2", 2)
    assert find_new_replicaset(dep, rss) is None
    assert names(find_previous_replicaset(dep, rss)) == "web-aaa"


def test_several_template_matches_pick_the_oldest() -> None:
    rss = [
        replicaset("web-young", "web:2", 2, created="2026-11-27T09:05:00Z"),
        replicaset("web-old", "web:2", 2, created="2026-11-27T09:00:00Z"),
    ]
    assert names(find_new_replicaset(deployment("web:2", 2), rss)) == "web-old"


def test_revision_annotation_is_the_fallback_when_templates_were_trimmed() -> None:
    trimmed = replicaset("web-bbb", "web:2", 2)
    del trimmed["spec"]
    rss = [replicaset("web-aaa", "web:1", 1), trimmed]
    dep = deployment("web:2", 2)
    assert names(find_new_replicaset(dep, rss)) == "web-bbb"
    assert names(find_previous_replicaset(dep, rss)) == "web-aaa"


def test_first_rollout_has_no_previous() -> None:
    rss = [replicaset("web-aaa", "web:1", 1)]
    assert find_previous_replicaset(deployment("web:1", 1), rss) is None


def test_ownership_by_name_when_uids_are_absent() -> None:
    dep = deployment("web:1", 1)
    del dep["metadata"]["uid"]
    rs = replicaset("web-aaa", "web:1", 1)
    del rs["metadata"]["ownerReferences"][0]["uid"]
    assert is_controlled_by(rs, dep)
    rs["metadata"]["ownerReferences"][0]["name"] = "other"
    assert not is_controlled_by(rs, dep)


def test_revision_and_hash_read_leniently() -> None:
    assert revision(replicaset("web-aaa", "web:1", "not-a-number")) is None
    assert revision(replicaset("web-aaa", "web:1", None)) is None
    assert revision(None) is None
    assert template_hash(replicaset("web-aaa", "web:1", 1)) == "aaa"
    assert template_hash({"metadata": None}) is None
