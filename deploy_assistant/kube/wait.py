"""Waiting on rollouts: watches (or polls) feed `RolloutTracker`s until every target has a verdict.

One watch thread per stream (the Deployment by name, its ReplicaSets and its pods by the
Deployment's selector) feeds a queue; this loop applies what arrives to a per-target cache and
evaluates on every change and every `policy.tick_seconds` of clock time. It adds, on top of the
streams: a safety GET of a Deployment whose stream has been silent for `safety_get_seconds`,
Event reads only for pods in ambiguous states (at most once per pod per 10 s, backing off), and
a retry budget after which the verdict is UNKNOWN. Polling mode (`poll_interval_seconds`) reads
the same three things on a timer instead, for networks that cut long watches.

Raises `ConfigError` for an unknown Deployment or namespace and for RBAC refusals; every other
problem ends as a verdict.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from deploy_assistant.clock import Clock
from deploy_assistant.errors import ClusterUnavailable, ConfigError
from deploy_assistant.kube.client import KubeApiError, KubeClient, NotKubernetesError
from deploy_assistant.kube.policy import aggregate_verdicts
from deploy_assistant.kube.rollout_cache import RolloutCache, label_selector_of
from deploy_assistant.kube.streams import Backoff, StreamMessage, WatchStream, forbidden_error
from deploy_assistant.kube.tracker import RolloutProgress, RolloutTracker
from deploy_assistant.models import RolloutStatus, Target, Verdict
from deploy_assistant.settings import KubeSettings, PolicySettings

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Sequence[RolloutProgress]], None]


@dataclass(frozen=True)
class RolloutOutcome:
    verdict: Verdict
    verdicts: tuple[Verdict, ...]
    requests: int


def wait_for_rollout(
    client: KubeClient,
    targets: list[Target],
    policy: PolicySettings,
    clock: Clock,
    *,
    timeout_seconds: float | None = None,
    on_progress: ProgressCallback | None = None,
    kube: KubeSettings | None = None,
) -> Verdict:
    """The aggregate verdict (see `wait_for_rollouts` for per-target verdicts)."""
    outcome = wait_for_rollouts(
        client,
        targets,
        policy,
        clock,
        timeout_seconds=timeout_seconds,
        on_progress=on_progress,
        kube=kube,
    )
    return outcome.verdict


def read_applied(
    client: KubeClient,
    target: Target,
    clock: Clock,
    stop: threading.Event,
    retry_budget_seconds: float = 120.0,
) -> RolloutCache | None:
    """The Deployment as it is now (our `applied` reference); None if the API stays unreachable."""
    backoff = Backoff(clock, stop)
    started = clock.monotonic()
    while True:
        try:
            deployment = client.read_deployment(target.namespace, target.deployment)
            return RolloutCache(target, deployment)
        except KubeApiError as exc:
            if exc.status == 404:
                raise ConfigError(
                    f"Deployment {target.deployment!r} was not found in namespace "
                    f"{target.namespace!r} (check the name, the namespace and the kube context)."
                ) from exc
            if exc.status in (401, 403):
                raise forbidden_error(exc, "get", "deployments", target.namespace) from exc
            failure: ClusterUnavailable = exc
        except NotKubernetesError as exc:
            raise ConfigError(str(exc)) from exc
        except ClusterUnavailable as exc:
            failure = exc
        if clock.monotonic() - started > retry_budget_seconds:
            log.warning("giving up on the Kubernetes API: %s", failure)
            return None
        backoff.wait()


def wait_for_rollouts(
    client: KubeClient,
    targets: list[Target],
    policy: PolicySettings,
    clock: Clock,
    *,
    timeout_seconds: float | None = None,
    on_progress: ProgressCallback | None = None,
    kube: KubeSettings | None = None,
) -> RolloutOutcome:
    """Wait until the targets' aggregate verdict is known; FAILED ends the wait at once."""
    if timeout_seconds is not None:
        policy = policy.model_copy(update={"timeout_seconds": timeout_seconds})
    kube = kube or KubeSettings()
    budget_seconds = min(kube.retry_budget_seconds, policy.timeout_seconds)
    caches = start_caches(client, targets, policy, clock, budget_seconds)
    if caches is None:
        return _unknown(targets, client, clock, "the Kubernetes API stayed unreachable")
    loop = RolloutLoop(client, caches, policy, kube, clock, on_progress)
    try:
        loop.start()
        verdict = loop.step()
        while verdict is None:
            verdict = loop.step()
    finally:
        loop.close()
    finals = tuple(v for v in (c.verdict() for c in caches) if v is not None)
    return RolloutOutcome(verdict, finals, client.requests)


def start_caches(
    client: KubeClient,
    targets: list[Target],
    policy: PolicySettings,
    clock: Clock,
    retry_budget_seconds: float = 120.0,
) -> list[RolloutCache] | None:
    """Read each target once and give it a tracker (T0 = now); None if the API stays down."""
    t0 = clock.now()
    caches: list[RolloutCache] = []
    for target in targets:
        cache = read_applied(client, target, clock, threading.Event(), retry_budget_seconds)
        if cache is None:
            return None
        cache.tracker = RolloutTracker(target, cache.deployment or {}, t0, policy, infer_start=True)
        caches.append(cache)
    return caches


def _unknown(targets: list[Target], client: KubeClient, clock: Clock, why: str) -> RolloutOutcome:
    verdicts = tuple(
        Verdict(status=RolloutStatus.UNKNOWN, message=why, target=t, observed_at=clock.now())
        for t in targets
    )
    return RolloutOutcome(
        verdicts[0]
        if len(verdicts) == 1
        else Verdict(status=RolloutStatus.UNKNOWN, message=why, observed_at=clock.now()),
        verdicts,
        client.requests,
    )


class RolloutLoop:
    """The evaluator loop over all targets (watch or poll): `start()`, then `step()` until it
    returns the aggregate verdict, then `close()`. Caches keep being updated by `step()` after
    the verdict (the benchmark uses that to run baselines on the same stream)."""

    def __init__(
        self,
        client: KubeClient,
        caches: list[RolloutCache],
        policy: PolicySettings,
        kube: KubeSettings,
        clock: Clock,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.client = client
        self.caches = caches
        self.policy = policy
        self.kube = kube
        self.clock = clock
        self.stop = threading.Event()
        self.on_progress = on_progress
        self.queue: queue.Queue[StreamMessage] = queue.Queue()
        self.polling = kube.poll_interval_seconds is not None
        self.next_tick = self.next_poll = clock.monotonic()

    def start(self) -> None:
        if not self.polling:
            self._start_streams()

    def close(self) -> None:
        self.stop.set()

    def step(self) -> Verdict | None:
        """Wait for changes or the next tick, evaluate; the aggregate verdict or None."""
        now_s = self.clock.monotonic()
        if self.polling and now_s >= self.next_poll:
            for cache in self.caches:
                cache.poll(self.client, self.clock)
            self.next_poll = now_s + float(self.kube.poll_interval_seconds or 0)
        ticked = now_s >= self.next_tick
        if ticked:
            self.next_tick = now_s + self.policy.tick_seconds
        # Wake when an arming rule's window runs out, not at the next tick after it.
        until = min(self.next_tick, self._window_end_s())
        if self.polling:
            until = min(until, self.next_poll)
        dirty = self._drain(until)
        if not ticked and self.clock.monotonic() >= self._window_end_s(include_past=True):
            ticked = True
        return self._evaluate(dirty, ticked)

    def _window_end_s(self, *, include_past: bool = False) -> float:
        """Clock seconds at which the earliest arming window runs out (inf if none)."""
        now_s, now = self.clock.monotonic(), self.clock.now()
        ends = [
            now_s + (a.since - now).total_seconds() + a.hit.window_seconds + 0.01
            for cache in self.caches
            if cache.verdict() is None
            for a in cache.progress().arming
        ]
        due = [end for end in ends if include_past or end > now_s]
        return min(due, default=float("inf"))

    def _start_streams(self) -> None:
        for index, cache in enumerate(self.caches):
            ns = cache.target.namespace
            selector = label_selector_of(cache.deployment)
            for kind, labels, fields in (
                ("deployments", None, f"metadata.name={cache.target.deployment}"),
                ("replicasets", selector, None),
                ("pods", selector, None),
            ):
                WatchStream(
                    self.client,
                    self.queue,
                    self.stop,
                    self.clock,
                    index=index,
                    kind=kind,
                    namespace=ns,
                    label_selector=labels,
                    field_selector=fields,
                    watch_timeout_seconds=self.kube.watch_timeout_seconds,
                ).start()

    def _drain(self, until_s: float) -> set[int]:
        """Apply queued messages until `until_s` (clock seconds) or the first batch arrives."""
        dirty: set[int] = set()
        wait_s = max(0.0, until_s - self.clock.monotonic())
        try:
            message = self.queue.get(timeout=self.clock.to_real_seconds(wait_s))
        except queue.Empty:
            return dirty
        while True:
            if message.type == "FATAL" and message.error is not None:
                raise message.error
            self.caches[message.index].apply(message, self.clock.monotonic())
            if message.type != "BOOKMARK":
                dirty.add(message.index)
            try:
                message = self.queue.get_nowait()
            except queue.Empty:
                return dirty

    def _evaluate(self, dirty: set[int], ticked: bool) -> Verdict | None:
        now_s = self.clock.monotonic()
        now = self.clock.now()
        for index, cache in enumerate(self.caches):
            if cache.verdict() is not None:
                continue
            if ticked:
                cache.safety_get(self.client, now_s, self.kube.safety_get_seconds)
            if cache.failing_for(now_s) > self.kube.retry_budget_seconds:
                cache.give_up(now, "the Kubernetes API stayed unreachable")
                continue
            if (ticked or index in dirty) and cache.healthy():
                cache.read_events(self.client, now_s)
                cache.observe(now, now_s)
        if self.on_progress is not None:
            self.on_progress([c.progress() for c in self.caches])
        return aggregate_verdicts([c.verdict() for c in self.caches], now)
