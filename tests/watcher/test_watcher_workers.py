"""The analyze and notify loops with plain-function fakes for the injected work."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from deploy_assistant.models import Analysis, FailureRule, GitContext, RolloutStatus
from deploy_assistant.store import Store
from deploy_assistant.store.rows import (
    NewRollout,
    NotificationState,
    RolloutEnrichment,
    RolloutRow,
    Sink,
)
from deploy_assistant.watcher.metrics import WatcherMetrics
from deploy_assistant.watcher.workers import AnalyzeWorker, NotifyWorker, RetryPolicy
from tests.store.backends import T0, StepClock

RETRY = RetryPolicy(first_delay_seconds=10, max_delay_seconds=100, max_attempts=3)


def failed(store: Store, name: str = "web", mr_iid: int | None = None) -> RolloutRow:
    row, _ = store.rollouts.create(NewRollout("prod", "shop", name, "1", started_at=T0), T0)
    store.rollouts.update_status(row.id, RolloutStatus.FAILED, T0, rule=FailureRule.CRASH_LOOP)
    if mr_iid is not None:
        git = GitContext(project="shop/web", commit="c1", mr_iid=mr_iid)
        store.rollouts.update_fields(row.id, RolloutEnrichment(git, pipeline_owned=False), T0)
    return row


def analysis_of(rollout: RolloutRow) -> Analysis:
    return Analysis(summary=f"{rollout.deployment} crashed", likely_cause="a bug")


class Recorder:
    """A notify_fn that records each call and answers with a message reference."""

    def __init__(self, failures: int = 0) -> None:
        self.calls: list[tuple[int, Sink, str | None]] = []
        self.failures = failures
        self._lock = threading.Lock()

    def __call__(
        self, rollout: RolloutRow, analysis: Analysis, sink: Sink, previous: str | None
    ) -> str:
        with self._lock:
            self.calls.append((rollout.id, sink, previous))
            if self.failures:
                self.failures -= 1
                raise ConnectionError("slack is down")
        return f"{sink.value}-{rollout.id}"


def analyzer(
    store: Store, fn: Callable[[RolloutRow], Analysis] = analysis_of, name: str = "a1"
) -> AnalyzeWorker:
    return AnalyzeWorker(
        store.rollouts, store.analyses, fn, worker_id=name, clock=StepClock(), retry=RETRY
    )


def notifier(store: Store, fn: Recorder, name: str = "n1", grace: float = 900) -> NotifyWorker:
    return NotifyWorker(
        store.rollouts,
        store.analyses,
        store.notifications,
        fn,
        worker_id=name,
        pipeline_grace_seconds=grace,
        clock=StepClock(),
        retry=RETRY,
    )


def test_a_failed_rollout_is_analysed_once(store: Store) -> None:
    row = failed(store)
    worker = analyzer(store)
    assert worker.run_once(T0) == 1
    assert worker.run_once(T0 + timedelta(minutes=5)) == 0
    stored = store.rollouts.get_by_id(row.id)
    assert stored is not None
    assert stored.analysis_done
    assert stored.analysis_id is not None
    saved = store.analyses.get_by_id(stored.analysis_id)
    assert saved is not None
    assert saved.analysis.summary == "web crashed"
    assert worker.metrics.analyses_total.value(result="ok") == 1


def test_a_failing_analysis_backs_off_then_gives_up(store: Store) -> None:
    row = failed(store)
    calls: list[int] = []

    def broken(rollout: RolloutRow) -> Analysis:
        calls.append(rollout.id)
        raise TimeoutError("cluster did not answer")

    worker = analyzer(store, broken)
    assert worker.run_once(T0) == 0
    assert worker.run_once(T0 + timedelta(seconds=9)) == 0
    assert len(calls) == 1, "not retried before the first back-off (10 s) is over"
    worker.run_once(T0 + timedelta(seconds=10))
    worker.run_once(T0 + timedelta(seconds=29))
    assert len(calls) == 2, "the second back-off is 20 s"
    worker.run_once(T0 + timedelta(seconds=30))
    worker.run_once(T0 + timedelta(days=1))
    assert len(calls) == 3, "given up after three attempts"
    stored = store.rollouts.get_by_id(row.id)
    assert stored is not None
    assert stored.analysis_attempts == 3
    assert stored.analysis_id is None
    assert worker.metrics.analyses_total.value(result="gave_up") == 1


def test_a_crashed_workers_lease_expires_and_another_takes_over(store: Store) -> None:
    row = failed(store)
    assert store.rollouts.claim_for_analysis(row.id, "crashed", T0, 300)
    survivor = analyzer(store, name="survivor")
    assert survivor.run_once(T0 + timedelta(seconds=299)) == 0
    assert survivor.run_once(T0 + timedelta(seconds=300)) == 1


def analysed(store: Store, name: str = "web", mr_iid: int | None = None) -> RolloutRow:
    row = failed(store, name, mr_iid)
    analyzer(store).run_once(T0)
    return row


def test_each_sink_gets_one_message(store: Store) -> None:
    row = analysed(store, mr_iid=12)
    recorder = Recorder()
    worker = notifier(store, recorder)
    assert worker.run_once(T0) == 2
    assert worker.run_once(T0 + timedelta(hours=1)) == 0
    assert sorted(recorder.calls) == [(row.id, Sink.GITLAB, None), (row.id, Sink.SLACK, None)]
    stored = store.rollouts.get_by_id(row.id)
    assert stored is not None
    assert stored.notified
    refs = {n.sink: n.ref for n in store.notifications.list_for_rollout(row.id)}
    assert refs == {Sink.SLACK: f"slack-{row.id}", Sink.GITLAB: f"gitlab-{row.id}"}


def test_a_sink_with_nowhere_to_post_is_skipped(store: Store) -> None:
    row = analysed(store)
    worker = notifier(store, Recorder())
    worker.notify_fn = lambda rollout, analysis, sink, previous: None
    assert worker.run_once(T0) == 0
    [slack] = store.notifications.list_for_rollout(row.id)
    assert slack.state is NotificationState.SKIPPED
    assert worker.metrics.notifications_total.value(sink="slack", result="skipped") == 1


def test_a_failed_post_is_retried_with_backoff_until_it_gives_up(store: Store) -> None:
    row = analysed(store)
    recorder = Recorder(failures=5)
    worker = notifier(store, recorder)
    for seconds in (0, 9, 10, 29, 30, 10_000):
        worker.run_once(T0 + timedelta(seconds=seconds))
    assert len(recorder.calls) == 3
    [slack] = store.notifications.list_for_rollout(row.id)
    assert (slack.state, slack.attempts, slack.last_error) == (
        NotificationState.FAILED,
        3,
        "slack is down",
    )
    stored = store.rollouts.get_by_id(row.id)
    assert stored is not None
    assert stored.notified, "a given-up sink does not block the rollout"


def test_a_transient_failure_then_success_posts_once(store: Store) -> None:
    row = analysed(store)
    recorder = Recorder(failures=1)
    worker = notifier(store, recorder)
    worker.run_once(T0)
    assert worker.run_once(T0 + timedelta(seconds=10)) == 1
    assert worker.metrics.notifications_total.value(sink="slack", result="error") == 1
    [slack] = store.notifications.list_for_rollout(row.id)
    assert (slack.state, slack.attempts) == (NotificationState.SENT, 1)


def test_pipeline_owned_rollouts_wait_for_the_pipeline(store: Store) -> None:
    row = analysed(store)
    git = GitContext(project="shop/web", commit="c1")
    store.rollouts.update_fields(row.id, RolloutEnrichment(git), T0)
    recorder = Recorder()
    worker = notifier(store, recorder, grace=900)
    assert worker.run_once(T0 + timedelta(seconds=899)) == 0
    assert worker.run_once(T0 + timedelta(seconds=900)) == 1


def test_a_pipeline_that_reported_its_verdict_keeps_the_watcher_quiet(store: Store) -> None:
    row = analysed(store)
    store.rollouts.update_fields(row.id, RolloutEnrichment(GitContext(project="p", commit="c")), T0)
    store.rollouts.record_pipeline_verdict(row.id, T0 + timedelta(seconds=60))
    recorder = Recorder()
    assert notifier(store, recorder).run_once(T0 + timedelta(days=1)) == 0
    assert recorder.calls == []


def test_a_restart_after_posting_does_not_post_again(store: Store) -> None:
    row = analysed(store)
    claim = store.notifications.claim(row.id, Sink.SLACK, "gone", T0, 60)
    assert claim is not None
    store.notifications.complete(claim.id, "gone", "C1:1.2", "#web", T0)  # then the pod died
    recorder = Recorder()
    worker = notifier(store, recorder)
    assert worker.run_once(T0 + timedelta(seconds=1)) == 0
    assert recorder.calls == []
    stored = store.rollouts.get_by_id(row.id)
    assert stored is not None
    assert stored.notified


def test_two_worker_pairs_on_one_database_post_each_message_once(store: Store) -> None:
    rows = [analysed(store, f"svc-{i}", mr_iid=i + 1) for i in range(6)]
    recorder = Recorder()
    workers = [notifier(store, recorder, name=f"n{i}") for i in range(2)]
    barrier = threading.Barrier(len(workers))

    def run(worker: NotifyWorker) -> None:
        barrier.wait()
        for step in range(3):
            worker.run_once(T0 + timedelta(seconds=step))

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = sorted((r.id, sink, None) for r in rows for sink in (Sink.GITLAB, Sink.SLACK))
    assert sorted(recorder.calls) == expected


def test_two_analyzers_racing_store_one_analysis_each(store: Store) -> None:
    rows = [failed(store, f"svc-{i}") for i in range(6)]
    seen: list[int] = []
    lock = threading.Lock()

    def analyze(rollout: RolloutRow) -> Analysis:
        with lock:
            seen.append(rollout.id)
        return analysis_of(rollout)

    workers = [analyzer(store, analyze, name=f"a{i}") for i in range(2)]
    barrier = threading.Barrier(2)

    def run(worker: AnalyzeWorker) -> None:
        barrier.wait()
        worker.run_once(T0)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == sorted(r.id for r in rows)


@pytest.mark.parametrize("kind", ["analyze", "notify"])
def test_run_forever_stops_when_asked(store: Store, kind: str) -> None:
    analysed(store) if kind == "notify" else failed(store)
    stop = threading.Event()
    metrics = WatcherMetrics()

    def analyze_then_stop(rollout: RolloutRow) -> Analysis:
        stop.set()
        return analysis_of(rollout)

    def notify_then_stop(
        rollout: RolloutRow, analysis: Analysis, sink: Sink, previous: str | None
    ) -> str:
        stop.set()
        return "ts"

    worker: AnalyzeWorker | NotifyWorker
    if kind == "analyze":
        worker = AnalyzeWorker(
            store.rollouts, store.analyses, analyze_then_stop, worker_id="w", metrics=metrics
        )
    else:
        worker = NotifyWorker(
            store.rollouts,
            store.analyses,
            store.notifications,
            notify_then_stop,
            worker_id="w",
            pipeline_grace_seconds=0,
            metrics=metrics,
        )
    thread = threading.Thread(target=worker.run_forever, args=(stop, 0.01))
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert stop.is_set()
