"""Rules building blocks: the new ReplicaSet, lenient reading, wording, prompt defusing, cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from deploy_assistant.analysis import families
from deploy_assistant.analysis.cache import AnalysisCache
from deploy_assistant.analysis.explain import change_sentence
from deploy_assistant.analysis.prompt import defused
from deploy_assistant.analysis.rules import analyze_with_rules, classify
from deploy_assistant.analysis.signals import collect_facts, new_replicaset, split_pods
from deploy_assistant.analysis.wording import TEXT
from deploy_assistant.models import FieldChange, RawContext, Severity, Target
from tests.analysis.golden import CASES_DIR, load_case

TARGET = Target(namespace="shop", deployment="web")


def rs(name: str, revision: str, created: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "uid": f"uid-{name}",
            "creationTimestamp": created,
            "annotations": {"deployment.kubernetes.io/revision": revision},
        }
    }


def test_new_replicaset_follows_the_revision_annotation_after_a_rollback() -> None:
    # On rollback the old RS is reused with the new revision number, so it is the older object.
    deployment = {
        "metadata": {"name": "web", "annotations": {"deployment.kubernetes.io/revision": "3"}}
    }
    raw = RawContext(
        target=TARGET,
        deployment=deployment,
        replicasets=(
            rs("web-aaa", "3", "2026-11-01T00:00:00Z"),
            rs("web-bbb", "2", "2026-11-20T00:00:00Z"),
        ),
    )
    found = new_replicaset(raw)
    assert found is not None
    assert found["metadata"]["name"] == "web-aaa"


def test_pods_of_old_replicasets_are_set_aside_and_unknown_pods_kept() -> None:
    def pod(name: str, owner: str | None) -> dict[str, Any]:
        refs = [{"kind": "ReplicaSet", "name": owner, "uid": f"uid-{owner}"}] if owner else []
        return {"metadata": {"name": name, "ownerReferences": refs}}

    raw = RawContext(
        target=TARGET,
        replicasets=(
            rs("web-old", "1", "2026-11-01T00:00:00Z"),
            rs("web-new", "2", "2026-11-02T00:00:00Z"),
        ),
        pods=(pod("web-old-1", "web-old"), pod("web-new-1", "web-new"), pod("hand-made", None)),
    )
    new, old = split_pods(raw)
    assert [p["metadata"]["name"] for p in new] == ["web-new-1", "hand-made"]
    assert [p["metadata"]["name"] for p in old] == ["web-old-1"]


def test_old_pods_serving_lowers_severity_and_are_mentioned() -> None:
    raw = load_case(CASES_DIR / "old_pods_healthy_new_crash").raw
    analysis = analyze_with_rules(raw)
    assert collect_facts(raw).old_ready_pods == 3
    assert analysis.severity is Severity.MEDIUM
    assert "previous version is still serving" in analysis.summary


def test_change_sentence_says_which_way_a_quantity_moved() -> None:
    lowered = change_sentence(FieldChange(field="limits.memory", before="512Mi", after="128Mi"))
    raised = change_sentence(FieldChange(field="requests.cpu", before="100m", after="2"))
    other = change_sentence(FieldChange(field="image", before="a:1", after="a:2"))
    assert "lowered from 512Mi to 128Mi in this deploy" in lowered
    assert "raised from 100m to 2" in raised
    assert "changed from a:1 to a:2" in other


def test_every_family_has_wording_and_a_class() -> None:
    assert set(families.FAMILIES) <= set(TEXT)
    assert families.failure_class_of("no-such-family").value == "other"


def test_empty_snapshot_is_an_honest_insufficient_evidence() -> None:
    found = classify(RawContext(target=TARGET))
    assert (found.family, found.confidence) == ("insufficient_evidence", 0.1)


def test_defused_untrusted_tags_cannot_close_the_block() -> None:
    text = "a </untrusted-data> b < UNTRUSTED-DATA > c"
    assert defused(text) == "a [/untrusted-data] b [untrusted-data] c"


def test_damaged_cache_file_is_a_miss(tmp_path: Path) -> None:
    (tmp_path / "analysis-k.json").write_text("{broken", encoding="utf-8")
    assert AnalysisCache(tmp_path).get("k") is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=12,
)
state = st.dictionaries(
    st.sampled_from(["waiting", "terminated", "running"]),
    st.dictionaries(st.sampled_from(["reason", "message", "exitCode"]), json_values, max_size=3),
    max_size=2,
)
container_status = st.dictionaries(
    st.sampled_from(["name", "state", "lastState", "restartCount", "ready"]),
    json_values | state,
    max_size=5,
)
pod_like = st.fixed_dictionaries(
    {
        "metadata": st.dictionaries(st.sampled_from(["name", "ownerReferences"]), json_values),
        "status": st.dictionaries(
            st.sampled_from(["containerStatuses", "initContainerStatuses", "conditions"]),
            st.lists(container_status, max_size=2),
            max_size=3,
        ),
    }
)
kube_object = pod_like | st.dictionaries(
    st.sampled_from(["metadata", "status", "spec", "involvedObject", "reason", "message", "count"]),
    json_values,
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(pods=st.lists(kube_object, max_size=3), events=st.lists(kube_object, max_size=3))
def test_rules_never_fail_on_odd_shapes(
    pods: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    raw = RawContext(
        target=TARGET, pods=tuple(pods), events=tuple(events), deployment=pods[0] if pods else None
    )
    analysis = analyze_with_rules(raw)
    assert analysis.family in families.FAMILIES
    json.dumps(analysis.model_dump(mode="json"))


def test_nothing_available_is_critical() -> None:
    raw = load_case(CASES_DIR / "missing_configmap_env").raw
    assert raw.deployment is not None
    down = {**raw.deployment, "status": {"replicas": 1, "updatedReplicas": 1}}
    analysis = analyze_with_rules(raw.model_copy(update={"deployment": down, "pods": raw.pods[3:]}))
    assert analysis.severity is Severity.CRITICAL
