"""The shared Deployment / ReplicaSet / Pod accessors: controller semantics, lenient on gaps."""

from __future__ import annotations

from typing import Any

import pytest

from deploy_assistant.workloads import (
    controller_uid,
    find_new_replicaset,
    find_previous_replicaset,
    is_controlled_by,
    is_pod_of,
    is_ready,
    owned_replicasets,
    revision,
    revisions_agree,
    snapshot_new_replicaset,
    split_pods,
    template_hash,
    template_key,
    uid_of,
)

Obj = dict[str, Any]
DEP_UID = "uid-dep"


def pod_template(image: str, hash_: str | None = None) -> Obj:
    labels = {"app": "web"} | ({"pod-template-hash": hash_} if hash_ else {})
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def deployment(image: str, rev: int | None) -> Obj:
    annotations = {} if rev is None else {"deployment.kubernetes.io/revision": str(rev)}
    return {
        "kind": "Deployment",
        "metadata": {"name": "web", "uid": DEP_UID, "annotations": annotations},
        "spec": {"template": pod_template(image)},
    }


def replicaset(
    hash_: str, image: str, rev: int | None, *, created: str = "2026-11-27T09:00:00Z"
) -> Obj:
    annotations = {} if rev is None else {"deployment.kubernetes.io/revision": str(rev)}
    return {
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"web-{hash_}",
            "uid": f"uid-rs-{hash_}",
            "creationTimestamp": created,
            "labels": {"app": "web", "pod-template-hash": hash_},
            "annotations": annotations,
            "ownerReferences": [
                {"kind": "Deployment", "name": "web", "uid": DEP_UID, "controller": True}
            ],
        },
        "spec": {"template": pod_template(image, hash_)},
    }


def pod(name: str, rs: Obj | None, hash_: str | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {"app": "web"}}
    if rs is not None:
        rs_meta = rs["metadata"]
        meta["ownerReferences"] = [
            {
                "kind": "ReplicaSet",
                "name": rs_meta["name"],
                "uid": rs_meta["uid"],
                "controller": True,
            }
        ]
        hash_ = hash_ or rs_meta["labels"]["pod-template-hash"]
    if hash_:
        meta["labels"]["pod-template-hash"] = hash_
    return {"metadata": meta}


def name(obj: Obj | None) -> str | None:
    return None if obj is None else str(obj["metadata"]["name"])


def test_rollback_makes_the_old_replicaset_new_again() -> None:
    # Rolling back to web:1 re-uses its ReplicaSet, which the controller bumps to revision 4.
    rss = [replicaset("aaa", "web:1", 4), replicaset("bbb", "web:2", 2)]
    rss.append(replicaset("ccc", "web:3", 3, created="2026-11-27T09:30:00Z"))
    dep = deployment("web:1", 4)
    new = find_new_replicaset(dep, rss)
    assert name(new) == "web-aaa"
    assert new is not None
    assert revisions_agree(dep, new)
    assert name(find_previous_replicaset(dep, rss)) == "web-ccc"


def test_equal_templates_pick_the_oldest_replicaset() -> None:
    young = replicaset("young", "web:2", 2, created="2026-11-27T09:05:00Z")
    old = replicaset("old", "web:2", 1, created="2026-11-27T09:00:00Z")
    dep = deployment("web:2", 2)
    found = find_new_replicaset(dep, [young, old])
    assert name(found) == "web-old"
    # The oldest wins even when a younger one carries the Deployment's revision; the
    # cross-check then says "not yet", as it does while the controller catches up.
    assert found is not None
    assert not revisions_agree(dep, found)


def test_revision_lag_is_found_but_flagged() -> None:
    dep = deployment("web:2", 3)
    found = find_new_replicaset(dep, [replicaset("bbb", "web:2", 2)])
    assert name(found) == "web-bbb"
    assert found is not None
    assert not revisions_agree(dep, found)


def test_no_template_match_means_not_created_yet_even_with_a_matching_revision() -> None:
    # Before the controller syncs, the Deployment still carries the old revision number.
    dep = deployment("web:2", 1)
    rss = [replicaset("aaa", "web:1", 1)]
    assert find_new_replicaset(dep, rss) is None
    assert name(find_previous_replicaset(dep, rss)) == "web-aaa"


def test_trimmed_templates_fall_back_to_the_revision() -> None:
    trimmed = replicaset("bbb", "web:2", 2)
    del trimmed["spec"]
    dep = deployment("web:2", 2)
    assert name(find_new_replicaset(dep, [replicaset("aaa", "web:1", 1), trimmed])) == "web-bbb"
    no_template = {"metadata": dep["metadata"]}
    assert name(find_new_replicaset(no_template, [replicaset("aaa", "web:1", 2)])) == "web-aaa"


def test_other_owners_and_non_controller_refs_are_not_owned() -> None:
    foreign = replicaset("zzz", "web:2", 2)
    foreign["metadata"]["ownerReferences"][0]["uid"] = "uid-other"
    loose = replicaset("yyy", "web:2", 2)
    loose["metadata"]["ownerReferences"][0]["controller"] = False
    dep = deployment("web:2", 2)
    assert owned_replicasets(dep, [foreign, loose]) == []
    assert find_new_replicaset(dep, [foreign, loose]) is None
    assert controller_uid(loose) is None
    assert controller_uid(foreign) == "uid-other"


def test_ownership_by_kind_and_name_without_uids() -> None:
    dep = deployment("web:1", 1)
    del dep["metadata"]["uid"]
    rs = replicaset("aaa", "web:1", 1)
    del rs["metadata"]["ownerReferences"][0]["uid"]
    assert is_controlled_by(rs, dep)
    rs["metadata"]["ownerReferences"][0]["kind"] = "StatefulSet"
    assert not is_controlled_by(rs, dep)


@pytest.mark.parametrize(
    "obj",
    [{}, {"metadata": None}, {"metadata": []}, {"metadata": {"annotations": "x", "labels": 3}}],
)
def test_missing_or_odd_fields_read_as_absent(obj: Obj) -> None:
    assert revision(obj) is None
    assert template_hash(obj) is None
    assert uid_of(obj) is None
    assert controller_uid(obj) is None
    assert not is_ready(obj)
    assert owned_replicasets(obj, [obj]) == []
    assert find_new_replicaset(obj, [obj]) is None
    assert find_previous_replicaset(obj, [obj]) is None


def test_revision_reads_only_whole_numbers() -> None:
    def annotated(value: object) -> Obj:
        return {"metadata": {"annotations": {"deployment.kubernetes.io/revision": value}}}

    assert revision(annotated("12")) == 12
    assert revision(annotated("twelve")) is None
    assert revision(annotated(True)) is None
    assert revision(None) is None


def test_template_key_ignores_the_hash_and_an_echoed_creation_timestamp() -> None:
    echoed = pod_template("web:1", "abc")
    echoed["metadata"]["creationTimestamp"] = None
    assert template_key(echoed) == template_key(pod_template("web:1"))
    assert template_key(pod_template("web:1")) != template_key(pod_template("web:2"))
    assert template_key(None) == template_key({"metadata": {}})


def test_new_pods_need_the_owner_and_the_hash() -> None:
    new_rs, old_rs = replicaset("bbb", "web:2", 2), replicaset("aaa", "web:1", 1)
    pods = [pod("web-bbb-1", new_rs), pod("web-aaa-1", old_rs), pod("odd", new_rs, hash_="zzz")]
    new, old = split_pods(pods, new_rs)
    assert [name(p) for p in new] == ["web-bbb-1"]
    assert [name(p) for p in old] == ["web-aaa-1", "odd"]
    assert split_pods(pods, None) == ([], pods)


def test_pods_without_owner_refs_are_told_by_hash_or_left_unknown() -> None:
    new_rs = replicaset("bbb", "web:2", 2)
    by_hash, other_hash, bare = pod("h", None, "bbb"), pod("o", None, "aaa"), pod("bare", None)
    assert is_pod_of(by_hash, new_rs) is True
    assert is_pod_of(other_hash, new_rs) is False
    assert is_pod_of(bare, new_rs) is None
    assert split_pods([bare], new_rs) == ([], [bare])
    assert split_pods([bare], new_rs, unknown_are_new=True) == ([bare], [])


def test_snapshot_new_replicaset_without_deployment_or_replicasets() -> None:
    rss = [replicaset("aaa", "web:1", 1), replicaset("bbb", "web:2", 2)]
    assert snapshot_new_replicaset(None, rss) is rss[1]
    assert snapshot_new_replicaset(deployment("web:9", None), rss) is rss[1]
    assert snapshot_new_replicaset(deployment("web:1", 3), []) is None
    # Unowned ReplicaSets (a hand-made snapshot) still answer by the revision.
    for rs in rss:
        del rs["metadata"]["ownerReferences"]
    assert snapshot_new_replicaset(deployment("web:9", 1), rss) is rss[0]


def test_ready_means_the_ready_condition_is_true() -> None:
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    unready = {"status": {"conditions": [{"type": "Ready", "status": "False"}, "junk"]}}
    assert is_ready(ready)
    assert not is_ready(unready)
