"""The repositories on SQLite and MariaDB: keys, timestamps, compare-and-set, leases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from deploy_assistant.models import (
    Analysis,
    Evidence,
    FailureRule,
    GitContext,
    RolloutStatus,
)
from deploy_assistant.store import Store
from deploy_assistant.store.rows import (
    PENDING_REVISION,
    NewRollout,
    RolloutEnrichment,
    RolloutRow,
)
from tests.store.backends import T0


def new_rollout(store: Store, revision: str = "2", deployment: str = "web") -> RolloutRow:
    row, created = store.rollouts.create(
        NewRollout("prod", "shop", deployment, revision, started_at=T0), T0
    )
    assert created
    return row


def failed_rollout(store: Store, deployment: str = "web") -> RolloutRow:
    row = new_rollout(store, deployment=deployment)
    assert store.rollouts.update_status(row.id, RolloutStatus.FAILED, T0, rule=FailureRule.OOM_LOOP)
    return row


def test_create_is_idempotent_on_deployment_and_revision(store: Store) -> None:
    first = new_rollout(store)
    again, created = store.rollouts.create(NewRollout("prod", "shop", "web", "2"), T0)
    assert not created
    assert again.id == first.id
    other, created = store.rollouts.create(NewRollout("prod", "shop", "Web", "2"), T0)
    assert created, "names are case-sensitive on both backends"
    assert other.id != first.id


def test_timestamps_come_back_aware_utc_with_microseconds(store: Store) -> None:
    started = datetime(2026, 3, 1, 13, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    row, _ = store.rollouts.create(NewRollout("prod", "shop", "web", "1", started_at=started), T0)
    assert row.started_at == datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert row.started_at.tzinfo is UTC
    assert row.created_at == T0


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.rollouts.create(NewRollout("prod", "shop", "web", "1"), datetime(2026, 1, 1))  # noqa: DTZ001


def test_update_fields_attaches_git_and_keeps_earlier_team(store: Store) -> None:
    row = new_rollout(store)
    git = GitContext(project="shop/web", commit="a" * 40, mr_iid=7, mr_url="https://g/mr/7")
    store.rollouts.update_fields(row.id, RolloutEnrichment(git, team="payments ☕"), T0)
    updated = store.rollouts.update_fields(row.id, RolloutEnrichment(git, slack_channel="#w"), T0)
    assert updated is not None
    assert updated.git == git
    assert updated.team == "payments ☕"
    assert updated.slack_channel == "#w"
    assert updated.pipeline_owned
    assert updated.pipeline_seen_at == T0
    assert updated.version == row.version + 2


def test_update_fields_of_missing_rollout_is_none(store: Store) -> None:
    git = GitContext(project="p", commit="c")
    assert store.rollouts.update_fields(999_999, RolloutEnrichment(git), T0) is None


def test_a_final_verdict_is_never_revised(store: Store) -> None:
    row = new_rollout(store)
    later = T0 + timedelta(seconds=42)
    assert store.rollouts.update_status(
        row.id, RolloutStatus.FAILED, later, rule=FailureRule.CRASH_LOOP, message="boom 💥"
    )
    assert store.rollouts.update_status(
        row.id, RolloutStatus.FAILED, later, rule=FailureRule.CRASH_LOOP, message="boom 💥"
    ), "repeating the same verdict (a retry) reports success"
    assert not store.rollouts.update_status(row.id, RolloutStatus.SUCCEEDED, later)
    stored = store.rollouts.get_by_id(row.id)
    assert stored is not None
    assert (stored.status, stored.rule, stored.message) == (
        RolloutStatus.FAILED,
        FailureRule.CRASH_LOOP,
        "boom 💥",
    )
    assert stored.finished_at == later


def test_latest_excludes_the_placeholder_and_pending_finds_it(store: Store) -> None:
    real = new_rollout(store, revision="3")
    placeholder, _ = store.rollouts.create(
        NewRollout("prod", "shop", "web", PENDING_REVISION, status=RolloutStatus.PENDING), T0
    )
    latest = store.rollouts.get_latest_for_deployment("prod", "shop", "web")
    pending = store.rollouts.get_pending_for_deployment("prod", "shop", "web")
    assert latest is not None
    assert latest.id == real.id
    assert pending is not None
    assert pending.id == placeholder.id
    assert pending.is_placeholder


def test_a_placeholder_is_linked_once(store: Store) -> None:
    placeholder, _ = store.rollouts.create(
        NewRollout("prod", "shop", "web", PENDING_REVISION, status=RolloutStatus.PENDING), T0
    )
    seen = NewRollout("prod", "shop", "web", "5", uid="u-1", template_hash="h", started_at=T0)
    assert store.rollouts.link_placeholder(placeholder.id, seen, T0)
    assert store.rollouts.link_placeholder(placeholder.id, seen, T0), "a retry is a success"
    other = NewRollout("prod", "shop", "web", "6", started_at=T0)
    assert not store.rollouts.link_placeholder(placeholder.id, other, T0)
    linked = store.rollouts.get_by_revision("prod", "shop", "web", "5")
    assert linked is not None
    assert linked.id == placeholder.id
    assert (linked.status, linked.uid) == (RolloutStatus.PROGRESSING, "u-1")


def test_linking_onto_a_revision_that_already_has_a_row_fails_cleanly(store: Store) -> None:
    new_rollout(store, revision="5")
    placeholder, _ = store.rollouts.create(
        NewRollout("prod", "shop", "web", PENDING_REVISION, status=RolloutStatus.PENDING), T0
    )
    assert not store.rollouts.link_placeholder(
        placeholder.id, NewRollout("prod", "shop", "web", "5"), T0
    )


def test_supersede_older_closes_only_earlier_open_rollouts(store: Store) -> None:
    old = new_rollout(store, revision="1")
    done = new_rollout(store, revision="2")
    store.rollouts.update_status(done.id, RolloutStatus.SUCCEEDED, T0)
    newer = new_rollout(store, revision="3")
    assert store.rollouts.supersede_older(newer, T0) == 1
    statuses = {r: store.rollouts.get_by_id(r.id).status for r in (old, done, newer)}  # type: ignore[union-attr]
    assert statuses == {
        old: RolloutStatus.SUPERSEDED,
        done: RolloutStatus.SUCCEEDED,
        newer: RolloutStatus.PROGRESSING,
    }


def test_two_workers_claiming_one_rollout_exactly_one_wins(store: Store) -> None:
    row = failed_rollout(store)
    workers = 8
    barrier = threading.Barrier(workers)
    wins: list[str] = []

    def claim(name: str) -> None:
        barrier.wait()
        if store.rollouts.claim_for_analysis(row.id, name, T0, 60):
            wins.append(name)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1


def test_an_expired_lease_can_be_reclaimed(store: Store) -> None:
    row = failed_rollout(store)
    assert store.rollouts.claim_for_analysis(row.id, "a", T0, 60)
    assert store.rollouts.claim_for_analysis(row.id, "a", T0, 60), "the holder may renew"
    assert not store.rollouts.claim_for_analysis(row.id, "b", T0 + timedelta(seconds=59), 60)
    assert store.rollouts.list_failed_without_analysis(T0 + timedelta(seconds=59)) == []
    after = T0 + timedelta(seconds=61)
    assert [r.id for r in store.rollouts.list_failed_without_analysis(after)] == [row.id]
    assert store.rollouts.claim_for_analysis(row.id, "b", after, 60)
    assert not store.rollouts.mark_analysis_done(row.id, "a", 1, after), "a lost its lease"


def test_analysis_is_stored_once_per_rollout_and_round_trips(store: Store) -> None:
    row = failed_rollout(store)
    analysis = Analysis(
        summary="The container ran out of memory ✂",
        likely_cause="limit 64Mi",
        next_steps=("raise the limit",),
        evidence=(Evidence(source="status", text="OOMKilled"),),
        confidence=0.9,
    )
    first = store.analyses.create(row.id, analysis, T0)
    second = store.analyses.create(row.id, analysis.model_copy(update={"summary": "other"}), T0)
    assert second.id == first.id
    assert store.analyses.get_by_id(first.id) == first
    assert first.analysis == analysis
    assert store.analyses.get_for_rollout(row.id) == first
    assert store.analyses.get_by_id(999_999) is None


def test_mark_analysis_done_needs_the_lease(store: Store) -> None:
    row = failed_rollout(store)
    analysis = store.analyses.create(row.id, Analysis(summary="s", likely_cause="c"), T0)
    assert not store.rollouts.mark_analysis_done(row.id, "w", analysis.id, T0)
    assert store.rollouts.claim_for_analysis(row.id, "w", T0, 60)
    assert store.rollouts.mark_analysis_done(row.id, "w", analysis.id, T0)
    assert store.rollouts.mark_analysis_done(row.id, "w", analysis.id, T0), "a retry succeeds"
    assert store.rollouts.list_failed_without_analysis(T0 + timedelta(hours=1)) == []


def test_a_released_claim_waits_for_its_retry_time_and_can_give_up(store: Store) -> None:
    row = failed_rollout(store)
    store.rollouts.claim_for_analysis(row.id, "w", T0, 60)
    retry_at = T0 + timedelta(seconds=30)
    assert store.rollouts.release_analysis_claim(row.id, "w", T0, retry_at)
    assert store.rollouts.list_failed_without_analysis(T0 + timedelta(seconds=29)) == []
    [again] = store.rollouts.list_failed_without_analysis(retry_at)
    assert again.analysis_attempts == 1
    store.rollouts.claim_for_analysis(row.id, "w", retry_at, 60)
    store.rollouts.release_analysis_claim(row.id, "w", retry_at, retry_at, give_up=True)
    assert store.rollouts.list_failed_without_analysis(T0 + timedelta(days=1)) == []


def test_count_by_status(store: Store) -> None:
    failed_rollout(store, "a")
    failed_rollout(store, "b")
    new_rollout(store, deployment="c")
    assert store.rollouts.count_by_status() == {
        RolloutStatus.FAILED: 2,
        RolloutStatus.PROGRESSING: 1,
    }


def test_latest_and_pending_in_one_query(store: Store) -> None:
    assert store.rollouts.get_latest_and_pending("prod", "shop", "web") == (None, None)
    first = new_rollout(store, revision="1")
    second = new_rollout(store, revision="2")
    assert store.rollouts.get_latest_and_pending("prod", "shop", "web") == (second, None)
    placeholder, _ = store.rollouts.create(
        NewRollout("prod", "shop", "web", PENDING_REVISION, status=RolloutStatus.PENDING), T0
    )
    latest, pending = store.rollouts.get_latest_and_pending("prod", "shop", "web")
    assert (latest, pending) == (second, placeholder)
    assert first.id < second.id


def test_create_returns_exactly_what_a_read_returns(store: Store) -> None:
    started = datetime(2026, 3, 1, 13, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    seen = NewRollout("prod", "shop", "web", "8", uid="u", template_hash="h", started_at=started)
    created, _ = store.rollouts.create(seen, T0)
    assert store.rollouts.get_by_id(created.id) == created
