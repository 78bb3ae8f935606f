"""Pipeline reports and watcher sightings meeting in one rollout row, in either order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from deploy_assistant.models import (
    DeploymentNotifyRequest,
    FailureRule,
    GitContext,
    RolloutStatus,
    Verdict,
)
from deploy_assistant.store import Store
from deploy_assistant.watcher.metrics import WatcherMetrics
from deploy_assistant.watcher.rollouts import (
    pod_template_digest,
    record_new_rollout,
    record_pipeline_report,
    record_verdict,
)
from tests.store.backends import T0


def deployment(revision: str | None = "4", image: str = "shop/web:2") -> dict[str, Any]:
    annotations = {"deployment.kubernetes.io/revision": revision} if revision else {}
    return {
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "uid-1",
            "annotations": annotations,
        },
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
    }


def report(commit: str = "c1", channel: str | None = "#web") -> DeploymentNotifyRequest:
    return DeploymentNotifyRequest(
        cluster="prod",
        namespace="shop",
        deployment="web",
        git=GitContext(project="shop/web", commit=commit, mr_iid=12),
        slack_channel=channel,
    )


def rows(store: Store) -> int:
    return sum(store.rollouts.count_by_status().values())


def test_report_first_then_the_watcher_links_the_placeholder(store: Store) -> None:
    parked = record_pipeline_report(store.rollouts, report(), T0)
    assert parked.is_placeholder
    assert parked.status is RolloutStatus.PENDING
    seen = record_new_rollout(store.rollouts, "prod", deployment(), T0 + timedelta(seconds=2))
    assert seen is not None
    assert seen.id == parked.id
    assert (seen.revision, seen.status, seen.uid) == ("4", RolloutStatus.PROGRESSING, "uid-1")
    assert seen.git is not None
    assert seen.git.commit == "c1"
    assert seen.slack_channel == "#web"
    assert seen.pipeline_owned
    assert rows(store) == 1


def test_watcher_first_then_the_report_enriches_the_rollout(store: Store) -> None:
    seen = record_new_rollout(store.rollouts, "prod", deployment(), T0)
    assert seen is not None
    assert seen.git is None
    enriched = record_pipeline_report(store.rollouts, report(), T0 + timedelta(seconds=3))
    assert enriched.id == seen.id
    assert enriched.git is not None
    assert enriched.pipeline_owned
    assert rows(store) == 1


def test_a_repeated_report_lands_in_the_same_row(store: Store) -> None:
    first = record_pipeline_report(store.rollouts, report(), T0)
    second = record_pipeline_report(store.rollouts, report(), T0 + timedelta(seconds=1))
    assert first.id == second.id
    record_new_rollout(store.rollouts, "prod", deployment(), T0 + timedelta(seconds=2))
    third = record_pipeline_report(store.rollouts, report(), T0 + timedelta(hours=2))
    assert third.id == first.id, "a late retry still finds the rollout by its commit"
    assert rows(store) == 1


def test_a_report_for_a_new_commit_does_not_touch_the_previous_rollout(store: Store) -> None:
    old = record_new_rollout(store.rollouts, "prod", deployment("3"), T0)
    record_pipeline_report(store.rollouts, report("c1"), T0)
    newer = record_pipeline_report(store.rollouts, report("c2"), T0 + timedelta(seconds=30))
    assert old is not None
    assert newer.id != old.id
    assert newer.is_placeholder
    linked = record_new_rollout(store.rollouts, "prod", deployment("4"), T0 + timedelta(seconds=31))
    assert linked is not None
    assert linked.id == newer.id
    assert linked.git is not None
    assert linked.git.commit == "c2"
    previous = store.rollouts.get_by_id(old.id)
    assert previous is not None
    assert previous.status is RolloutStatus.SUPERSEDED
    assert previous.git is not None
    assert previous.git.commit == "c1"


def test_an_old_unlabelled_rollout_is_not_claimed_by_a_report(store: Store) -> None:
    old = record_new_rollout(store.rollouts, "prod", deployment("3"), T0)
    later = T0 + timedelta(hours=1)
    parked = record_pipeline_report(store.rollouts, report(), later)
    assert old is not None
    assert parked.id != old.id
    assert parked.is_placeholder


def test_a_stale_placeholder_is_not_linked(store: Store) -> None:
    parked = record_pipeline_report(store.rollouts, report(), T0)
    seen = record_new_rollout(store.rollouts, "prod", deployment(), T0 + timedelta(hours=1))
    assert seen is not None
    assert seen.id != parked.id
    assert seen.git is None
    assert store.rollouts.get_pending_for_deployment("prod", "shop", "web") is not None


def test_seeing_a_revision_again_is_idempotent(store: Store) -> None:
    first = record_new_rollout(store.rollouts, "prod", deployment(), T0)
    again = record_new_rollout(store.rollouts, "prod", deployment(), T0 + timedelta(seconds=9))
    assert first == again


def test_no_revision_annotation_yet_records_nothing(store: Store) -> None:
    assert record_new_rollout(store.rollouts, "prod", deployment(revision=None), T0) is None
    assert rows(store) == 0


def test_template_digest_follows_the_template() -> None:
    assert pod_template_digest(deployment()) == pod_template_digest(deployment())
    assert pod_template_digest(deployment()) != pod_template_digest(deployment(image="x:1"))


def test_record_verdict_observes_latency_and_never_revises(store: Store) -> None:
    seen = record_new_rollout(store.rollouts, "prod", deployment(), T0)
    assert seen is not None
    metrics = WatcherMetrics()
    failed = Verdict(status=RolloutStatus.FAILED, rule=FailureRule.CRASH_LOOP, message="crash")
    at = T0 + timedelta(seconds=12.5)
    assert record_verdict(store.rollouts, seen.id, failed, at, metrics)
    succeeded = Verdict(status=RolloutStatus.SUCCEEDED)
    assert not record_verdict(store.rollouts, seen.id, succeeded, at, metrics)
    text = metrics.render()
    assert 'deploy_assistant_verdict_latency_seconds_sum{status="FAILED"} 12.5' in text
    assert 'deploy_assistant_verdict_latency_seconds_count{status="FAILED"} 1' in text
