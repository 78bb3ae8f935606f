"""evaluate_deployment_phase: kubectl's success rule, the gate, deadline freshness, bookkeeping."""

from __future__ import annotations

import pytest

from deploy_assistant.kube.phase import (
    evaluate_deployment_phase,
    kubectl_rollout_status,
    template_key,
)
from deploy_assistant.models import FailureRule, RolloutStatus
from tests.kube.rollout_objects import T0, deployment, progressing, template

APPLIED = deployment()


def phase_of(**fields: object) -> RolloutStatus:
    return evaluate_deployment_phase(deployment(**fields), APPLIED, T0).status  # type: ignore[arg-type]


def test_success_needs_kubectl_counts() -> None:
    assert phase_of(updated=3, status_replicas=3, available=3) is RolloutStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("updated", "status_replicas", "available"),
    [(2, 3, 3), (3, 4, 3), (3, 3, 2)],
    ids=["not-all-updated", "old-pods-pending-termination", "updated-not-available"],
)
def test_each_kubectl_wait_condition_blocks_success(
    updated: int, status_replicas: int, available: int
) -> None:
    status = phase_of(updated=updated, status_replicas=status_replicas, available=available)
    assert status is RolloutStatus.PROGRESSING


def test_stale_status_before_the_gate_is_not_success() -> None:
    # Right after an apply the status still describes the previous, complete template.
    status = phase_of(generation=3, observed=2, updated=3, status_replicas=3, available=3)
    assert status is RolloutStatus.PENDING


def test_max_unavailable_at_or_above_replicas_is_never_early_success() -> None:
    # Helm 3's `ready >= replicas - maxUnavailable` would say ready here (3 - 3 = 0).
    status = phase_of(updated=3, status_replicas=3, available=0)
    assert status is RolloutStatus.PROGRESSING


def test_zero_replicas_succeeds_once_observed() -> None:
    status = phase_of(replicas=0, updated=0, status_replicas=0, available=0)
    assert status is RolloutStatus.SUCCEEDED


def test_fresh_progress_deadline_fails() -> None:
    cond = [progressing("ProgressDeadlineExceeded", 600)]
    phase = evaluate_deployment_phase(
        deployment(updated=3, available=0, conditions=cond), APPLIED, T0
    )
    assert (phase.status, phase.rule) == (RolloutStatus.FAILED, FailureRule.PROGRESS_DEADLINE)


def test_stale_progress_deadline_from_before_the_apply_is_ignored() -> None:
    cond = [progressing("ProgressDeadlineExceeded", -30)]
    assert phase_of(updated=3, available=0, conditions=cond) is RolloutStatus.PROGRESSING
    # kubectl as written would fail here: that is the baseline's known false FAILED.
    stale = deployment(updated=3, available=0, conditions=cond)
    assert kubectl_rollout_status(stale) is RolloutStatus.FAILED


def test_deadline_in_the_same_second_as_the_apply_counts() -> None:
    cond = [progressing("ProgressDeadlineExceeded", 0)]
    t0 = T0.replace(microsecond=700_000)
    phase = evaluate_deployment_phase(
        deployment(updated=3, available=0, conditions=cond), APPLIED, t0
    )
    assert phase.status is RolloutStatus.FAILED


def test_deleted_deployment_fails_deleted() -> None:
    phase = evaluate_deployment_phase(None, APPLIED, T0)
    assert (phase.status, phase.rule) == (RolloutStatus.FAILED, FailureRule.DELETED)


def test_recreated_deployment_is_superseded() -> None:
    assert phase_of(uid="another-uid") is RolloutStatus.SUPERSEDED


def test_template_change_is_superseded_but_a_scale_is_not() -> None:
    assert phase_of(image="registry.example.com/web:v3") is RolloutStatus.SUPERSEDED
    # HPA: replicas and generation change, the template does not; still our rollout.
    assert phase_of(replicas=6, generation=3, observed=3, updated=3) is RolloutStatus.PROGRESSING


def test_paused_deployment_gives_paused() -> None:
    assert phase_of(paused=True) is RolloutStatus.PAUSED


def test_template_key_ignores_the_pod_template_hash_only() -> None:
    assert template_key(template(hash_label="abc")) == template_key(template())
    assert template_key(template("web:v1")) != template_key(template("web:v2"))


def test_kubectl_baseline_waits_then_succeeds() -> None:
    assert kubectl_rollout_status(deployment(updated=1)) is RolloutStatus.PROGRESSING
    assert kubectl_rollout_status(deployment(updated=3)) is RolloutStatus.SUCCEEDED
    assert kubectl_rollout_status(None) is RolloutStatus.FAILED
