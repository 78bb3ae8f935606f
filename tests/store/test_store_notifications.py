"""Notifications and the notify queue on SQLite and MariaDB: one message per rollout and sink."""

from __future__ import annotations

from datetime import timedelta

from deploy_assistant.models import Analysis, GitContext
from deploy_assistant.store import Store
from deploy_assistant.store.rows import NotificationState, RolloutEnrichment, RolloutRow, Sink
from tests.store.backends import T0
from tests.store.test_store_repos import failed_rollout


def analysed(store: Store, deployment: str = "web") -> RolloutRow:
    row = failed_rollout(store, deployment)
    store.rollouts.claim_for_analysis(row.id, "w", T0, 60)
    analysis = store.analyses.create(row.id, Analysis(summary="s", likely_cause="c"), T0)
    store.rollouts.mark_analysis_done(row.id, "w", analysis.id, T0)
    return row


def test_pipeline_owned_rollouts_wait_for_the_grace_period(store: Store) -> None:
    plain = analysed(store, "web")
    owned = analysed(store, "api")
    quiet = analysed(store, "db")
    git = GitContext(project="p", commit="c")
    for row in (owned, quiet):
        store.rollouts.update_fields(row.id, RolloutEnrichment(git), T0)
    store.rollouts.record_pipeline_verdict(quiet.id, T0 + timedelta(seconds=5))

    def ready(seconds: float) -> list[int]:
        at = T0 + timedelta(seconds=seconds)
        return [r.id for r in store.rollouts.list_ready_to_notify(at, 900)]

    assert ready(899) == [plain.id]
    assert ready(900) == [plain.id, owned.id]
    assert store.rollouts.mark_notified(plain.id, T0)
    assert ready(900) == [owned.id]


def test_a_notification_is_claimed_by_one_worker_and_sent_once(store: Store) -> None:
    row = analysed(store)
    claim = store.notifications.claim(row.id, Sink.SLACK, "a", T0, 60)
    assert claim is not None
    assert claim.ref is None
    assert claim.state is NotificationState.PENDING
    assert store.notifications.claim(row.id, Sink.SLACK, "b", T0, 60) is None
    assert store.notifications.claim(row.id, Sink.GITLAB, "b", T0, 60) is not None
    assert store.notifications.complete(claim.id, "a", "C1:171.0001", "#web", T0)
    assert store.notifications.complete(claim.id, "a", "C1:171.0001", "#web", T0)
    assert store.notifications.claim(row.id, Sink.SLACK, "a", T0 + timedelta(days=1), 60) is None
    slack = [n for n in store.notifications.list_for_rollout(row.id) if n.sink is Sink.SLACK]
    assert [(n.state, n.ref, n.channel) for n in slack] == [
        (NotificationState.SENT, "C1:171.0001", "#web")
    ]


def test_a_failed_notification_is_due_again_at_its_retry_time(store: Store) -> None:
    row = analysed(store)
    claim = store.notifications.claim(row.id, Sink.SLACK, "a", T0, 60)
    assert claim is not None
    retry_at = T0 + timedelta(seconds=30)
    assert store.notifications.fail(claim.id, "a", "slack said ratelimited", T0, retry_at)
    assert (
        store.notifications.claim(row.id, Sink.SLACK, "b", retry_at - timedelta(1e-3), 60) is None
    )
    again = store.notifications.claim(row.id, Sink.SLACK, "b", retry_at, 60)
    assert again is not None
    assert (again.attempts, again.last_error) == (1, "slack said ratelimited")
    assert store.notifications.fail(again.id, "b", "still down", retry_at, None)
    [final] = store.notifications.list_for_rollout(row.id)
    assert final.state is NotificationState.FAILED
    assert store.notifications.count_by_state() == {(Sink.SLACK, NotificationState.FAILED): 1}
