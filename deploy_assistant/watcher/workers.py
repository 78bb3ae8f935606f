"""The analyze and notify loops (seed §13.3, §14.3), safe to run in several replicas at once.

Each worker leases a row before working on it (a compare-and-set in the store), so two workers
never analyze or notify the same rollout; a crashed worker's lease expires and another takes the
row over. Failures are retried with exponential back-off (the row's `next_attempt_at` or
`claim_expires_at`), and given up after `RetryPolicy.max_attempts`. A sink's message reference
(Slack ts, GitLab note id) is stored with its SENT state, and the rollout is marked notified only
after every sink is final, so a restart finds the message and never posts a second one.

The work itself is injected: `analyze_fn(rollout) -> Analysis` (collect → reduce → analyze) and
`notify_fn(rollout, analysis, sink, previous_ref) -> ref | None` (None: nothing to post to). A Slack
ref should carry the channel too (`C0123:1700000000.000100`) so an edit can find the message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from deploy_assistant.clock import Clock, SystemClock
from deploy_assistant.errors import StoreUnavailable
from deploy_assistant.models import Analysis
from deploy_assistant.store.repos import AnalysisRepo, NotificationRepo, RolloutRepo
from deploy_assistant.store.rows import RolloutRow, Sink
from deploy_assistant.watcher.metrics import WatcherMetrics

logger = logging.getLogger(__name__)

AnalyzeFn = Callable[[RolloutRow], Analysis]
NotifyFn = Callable[[RolloutRow, Analysis, Sink, str | None], str | None]
SinksFn = Callable[[RolloutRow], Sequence[Sink]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_delay_seconds: float = 30.0
    max_delay_seconds: float = 900.0
    max_attempts: int = 6

    def delay_seconds(self, failed_attempts: int) -> float:
        """Wait after the `failed_attempts`-th failure: 30 s, 60 s, 120 s… capped."""
        exponent = max(failed_attempts - 1, 0)
        return float(min(self.first_delay_seconds * 2**exponent, self.max_delay_seconds))


def default_sinks(rollout: RolloutRow) -> list[Sink]:
    """Slack always (the notifier may find no channel); GitLab when there is a merge request."""
    if rollout.git is not None and rollout.git.mr_iid is not None:
        return [Sink.SLACK, Sink.GITLAB]
    return [Sink.SLACK]


class _Loop:
    """`run_forever` around a `run_once`, sleeping `interval_seconds` between passes."""

    component = "worker"

    def __init__(self, clock: Clock | None, metrics: WatcherMetrics | None) -> None:
        self.clock = clock or SystemClock()
        self.metrics = metrics or WatcherMetrics()

    def run_once(self, now: datetime) -> int:
        raise NotImplementedError

    def run_forever(self, stop_event: threading.Event, interval_seconds: float = 5.0) -> None:
        while not stop_event.is_set():
            try:
                self.run_once(self.clock.now())
            except StoreUnavailable as exc:
                self.metrics.errors_total.inc(component=self.component)
                logger.warning("%s: %s", self.component, exc)
            except Exception:  # a bug must not stop the loop for good; the next pass may work
                self.metrics.errors_total.inc(component=self.component)
                logger.exception("%s: unexpected error", self.component)
            stop_event.wait(self.clock.to_real_seconds(interval_seconds))

    def _later(self, now: datetime, started: float) -> datetime:
        """`now` moved on by the time this pass has taken, so late leases are not born stale."""
        return now + timedelta(seconds=self.clock.monotonic() - started)


class AnalyzeWorker(_Loop):
    component = "analyze"

    def __init__(
        self,
        rollouts: RolloutRepo,
        analyses: AnalysisRepo,
        analyze_fn: AnalyzeFn,
        *,
        worker_id: str,
        clock: Clock | None = None,
        metrics: WatcherMetrics | None = None,
        lease_seconds: float = 300.0,
        retry: RetryPolicy | None = None,
        batch_size: int = 20,
    ) -> None:
        super().__init__(clock, metrics)
        self.rollouts, self.analyses, self.analyze_fn = rollouts, analyses, analyze_fn
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size

    def run_once(self, now: datetime) -> int:
        """Analyze what is due; returns how many analyses this worker stored."""
        started = self.clock.monotonic()
        done = 0
        for rollout in self.rollouts.list_failed_without_analysis(now, self.batch_size):
            done += self._analyze(rollout, self._later(now, started))
        return done

    def _analyze(self, rollout: RolloutRow, now: datetime) -> int:
        if not self.rollouts.claim_for_analysis(
            rollout.id, self.worker_id, now, self.lease_seconds
        ):
            return 0  # another worker has it
        try:
            analysis = self.analyze_fn(rollout)
        except Exception as exc:  # noqa: BLE001 - any failure of the injected work is retried
            self._failed(rollout, now, exc)
            return 0
        stored = self.analyses.create(rollout.id, analysis, now)
        if not self.rollouts.mark_analysis_done(rollout.id, self.worker_id, stored.id, now):
            return 0  # our lease ran out and another worker finished first
        self.metrics.analyses_total.inc(result="ok")
        return 1

    def _failed(self, rollout: RolloutRow, now: datetime, exc: Exception) -> None:
        attempts = rollout.analysis_attempts + 1
        give_up = attempts >= self.retry.max_attempts
        retry_at = now + timedelta(seconds=self.retry.delay_seconds(attempts))
        self.rollouts.release_analysis_claim(
            rollout.id, self.worker_id, now, retry_at, give_up=give_up
        )
        self.metrics.analyses_total.inc(result="gave_up" if give_up else "error")
        self.metrics.errors_total.inc(component=self.component)
        logger.warning(
            "analysis of rollout %d failed (attempt %d%s): %s",
            rollout.id,
            attempts,
            ", giving up" if give_up else "",
            exc,
        )


class NotifyWorker(_Loop):
    component = "notify"

    def __init__(
        self,
        rollouts: RolloutRepo,
        analyses: AnalysisRepo,
        notifications: NotificationRepo,
        notify_fn: NotifyFn,
        *,
        worker_id: str,
        pipeline_grace_seconds: float,
        sinks_fn: SinksFn = default_sinks,
        clock: Clock | None = None,
        metrics: WatcherMetrics | None = None,
        lease_seconds: float = 120.0,
        retry: RetryPolicy | None = None,
        batch_size: int = 20,
    ) -> None:
        super().__init__(clock, metrics)
        self.rollouts, self.analyses, self.notifications = rollouts, analyses, notifications
        self.notify_fn, self.sinks_fn = notify_fn, sinks_fn
        self.worker_id = worker_id
        self.pipeline_grace_seconds = pipeline_grace_seconds
        self.lease_seconds = lease_seconds
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size

    def run_once(self, now: datetime) -> int:
        """Deliver what is due; returns how many messages this worker posted."""
        started = self.clock.monotonic()
        ready = self.rollouts.list_ready_to_notify(
            now, self.pipeline_grace_seconds, self.batch_size
        )
        sent = 0
        for rollout in ready:
            analysis = self.analyses.get_by_id(rollout.analysis_id or 0)
            if analysis is None:
                continue
            sinks = list(self.sinks_fn(rollout))
            for sink in sinks:
                sent += self._deliver(rollout, analysis.analysis, sink, self._later(now, started))
            self._finish(rollout, sinks, self._later(now, started))
        return sent

    def _deliver(self, rollout: RolloutRow, analysis: Analysis, sink: Sink, now: datetime) -> int:
        claim = self.notifications.claim(rollout.id, sink, self.worker_id, now, self.lease_seconds)
        if claim is None:
            return 0  # delivered, given up, not due yet, or another worker holds it
        try:
            ref = self.notify_fn(rollout, analysis, sink, claim.ref)
        except Exception as exc:  # noqa: BLE001 - any failure of the injected work is retried
            attempts = claim.attempts + 1
            give_up = attempts >= self.retry.max_attempts
            retry_at = now + timedelta(seconds=self.retry.delay_seconds(attempts))
            self.notifications.fail(
                claim.id, self.worker_id, str(exc), now, None if give_up else retry_at
            )
            result = "gave_up" if give_up else "error"
            self.metrics.notifications_total.inc(sink=sink.value, result=result)
            self.metrics.errors_total.inc(component=self.component)
            logger.warning("%s message for rollout %d failed: %s", sink.value, rollout.id, exc)
            return 0
        channel = rollout.slack_channel if sink is Sink.SLACK else None
        self.notifications.complete(claim.id, self.worker_id, ref, channel, now)
        result = "sent" if ref is not None else "skipped"
        self.metrics.notifications_total.inc(sink=sink.value, result=result)
        return 1 if ref is not None else 0

    def _finish(self, rollout: RolloutRow, sinks: list[Sink], now: datetime) -> None:
        states = {row.sink: row.state for row in self.notifications.list_for_rollout(rollout.id)}
        if all(sink in states and states[sink].is_final for sink in sinks):
            self.rollouts.mark_notified(rollout.id, now)
