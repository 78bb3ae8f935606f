"""Rules R1–R14 through the pure tracker: each rule's window and the trap it guards against."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from deploy_assistant.kube.policy import (
    aggregate_verdicts,
    seed_analyze_pod_failures,
    seed_should_fail_early,
)
from deploy_assistant.kube.tracker import RolloutTracker
from deploy_assistant.models import FailureRule, RolloutStatus, Target, Verdict
from deploy_assistant.settings import PolicySettings
from tests.kube.rollout_objects import (
    T0,
    Obj,
    at,
    deployment,
    event,
    pod,
    replicaset,
    running,
    waiting,
)
from tests.kube.rollout_objects import stamp as ro_stamp

TARGET = Target(namespace="shop", deployment="web")
POLICY = PolicySettings()
State = tuple[Obj | None, list[Obj], list[Obj], list[Obj]]


def rollout(replicas: int = 3, *, new_replicas: int | None = None, **dep: object) -> Obj:
    return deployment(replicas=replicas, updated=new_replicas or replicas, available=0, **dep)  # type: ignore[arg-type]


def run(
    state_at: Callable[[float], State],
    until_seconds: float,
    *,
    step: float = 5.0,
    policy: PolicySettings = POLICY,
) -> tuple[Verdict | None, float]:
    """Feed the tracker one observation every `step` seconds; (verdict, seconds) when it ends."""
    tracker = RolloutTracker(TARGET, deployment(), T0, policy)
    t = 0.0
    while t <= until_seconds:
        dep, rss, pods, events = state_at(t)
        verdict = tracker.observe(dep, rss, pods, events, at(t))
        if verdict is not None:
            return verdict, t
        t += step
    return None, t


def pods_state(make_pods: Callable[[float], list[Obj]], **dep: object) -> Callable[[float], State]:
    def state(t: float) -> State:
        return rollout(**dep), [replicaset(new=False, replicas=0), replicaset()], make_pods(t), []  # type: ignore[arg-type]

    return state


def crashing(t: float, restarts_every: float = 10.0, start: float = 5.0) -> Obj:
    restarts = max(0, int((t - start) // restarts_every) + 1) if t >= start else 0
    if restarts == 0:
        return running(ready=False)
    return waiting("CrashLoopBackOff", "back-off", restarts=restarts, last=("Error", 1, t - 1))


# --- R1 crash loop -----------------------------------------------------------------------------


def test_r1_crash_loop_fails_within_the_window() -> None:
    verdict, t = run(
        pods_state(lambda t: [pod(f"p{i}", containers=[crashing(t)]) for i in range(3)]), 300
    )
    assert verdict is not None
    assert verdict.rule is FailureRule.CRASH_LOOP
    # restart 2 at t=15, then W = 10 s.
    assert 20 <= t <= 35


def test_r1_crash_once_then_stable_never_fails() -> None:
    def pods(t: float) -> list[Obj]:
        if t < 10:
            return [
                pod(
                    f"p{i}",
                    containers=[waiting("CrashLoopBackOff", restarts=1, last=("Error", 1, 5))],
                )
                for i in range(3)
            ]
        return [
            pod(f"p{i}", ready=True, containers=[running(restarts=1, last=("Error", 1, 5))])
            for i in range(3)
        ]

    verdict, _ = run(pods_state(pods), 300)
    assert verdict is None or verdict.status is not RolloutStatus.FAILED


def test_r1_one_bad_node_of_three_is_degraded_not_failed() -> None:
    def pods(t: float) -> list[Obj]:
        good = [pod(f"ok{i}", ready=True, containers=[running()]) for i in range(2)]
        return [*good, pod("bad", containers=[crashing(t)])]

    tracker = RolloutTracker(TARGET, deployment(), T0, POLICY)
    for t in range(0, 300, 5):
        verdict = tracker.observe(rollout(), [replicaset()], pods(t), [], at(t))
        assert verdict is None
    assert any(note.startswith("DEGRADED") for note in tracker.progress.notes)


def test_old_rs_pods_crashing_never_fail() -> None:
    def pods(t: float) -> list[Obj]:
        old = [pod(f"old{i}", new=False, containers=[crashing(t)]) for i in range(3)]
        return [*old, pod("new", ready=True, containers=[running()])]

    verdict, _ = run(pods_state(pods), 300)
    assert verdict is None
    # The seed's policy counts old pods: it would have failed here.
    signals = seed_analyze_pod_failures(pods(100))
    assert seed_should_fail_early(signals)


def test_rollback_with_old_restarts_does_not_fail() -> None:
    # The new RS is an old one being rolled back to; its pods carry 9 restarts from before T0.
    def pods(_t: float) -> list[Obj]:
        return [
            pod(
                f"p{i}",
                created=-7200,
                ready=True,
                containers=[running(restarts=9, last=("Error", 1, -3000))],
            )
            for i in range(3)
        ]

    verdict, _ = run(pods_state(pods), 120)
    assert verdict is None


def test_r2_oom_loop() -> None:
    def pods(t: float) -> list[Obj]:
        restarts = 1 + int(t // 10)
        cs = waiting("CrashLoopBackOff", restarts=restarts, last=("OOMKilled", 137, t - 1))
        return [pod(f"p{i}", containers=[cs]) for i in range(2)]

    verdict, _ = run(pods_state(pods, replicas=2), 120)
    assert verdict is not None
    assert verdict.rule is FailureRule.OOM_LOOP


def test_r3_probe_kill_needs_three_restarts_and_probe_events() -> None:
    def state(t: float) -> State:
        restarts = int(t // 10)
        cs = waiting("CrashLoopBackOff", restarts=restarts, last=("Error", 137, t - 1))
        pods = [pod("p0", containers=[cs])]
        events = [event("p0", "Killing", "Container app failed liveness probe, will be restarted")]
        return rollout(1), [replicaset(replicas=1)], pods, events

    verdict, t = run(state, 200)
    assert verdict is not None
    assert verdict.rule is FailureRule.PROBE_KILL
    assert t >= 30  # three restarts


# --- R4–R9 container rules ---------------------------------------------------------------------


def single(cs: Obj) -> Callable[[float], State]:
    return lambda _t: (rollout(1), [replicaset(replicas=1)], [pod("p0", containers=[cs])], [])


def test_r4_invalid_image_needs_two_observations() -> None:
    verdict, t = run(single(waiting("InvalidImageName", "invalid reference format")), 60)
    assert verdict is not None
    assert verdict.rule is FailureRule.INVALID_IMAGE
    assert t == 5  # W = 0 but two observations


def test_r5_image_not_found_waits_for_replication_lag() -> None:
    msg = "manifest for web:v9 not found: manifest unknown"
    verdict, t = run(single(waiting("ErrImagePull", msg)), 120)
    assert verdict is not None
    assert verdict.rule is FailureRule.IMAGE_NOT_FOUND
    assert t >= POLICY.image_not_found_window_seconds


def test_r5_registry_404_for_ten_seconds_then_pulled() -> None:
    def state(t: float) -> State:
        cs = waiting("ErrImagePull", "manifest unknown") if t < 10 else running(ready=False)
        return rollout(1), [replicaset(replicas=1)], [pod("p0", containers=[cs])], []

    verdict, _ = run(state, 200)
    assert verdict is None


def test_r6_auth_waits_for_a_late_pull_secret() -> None:
    def state(t: float) -> State:
        cs = waiting("ErrImagePull", "401 Unauthorized") if t < 50 else running(ready=False)
        return rollout(1), [replicaset(replicas=1)], [pod("p0", containers=[cs])], []

    assert run(state, 200)[0] is None
    verdict, t = run(single(waiting("ErrImagePull", "401 Unauthorized")), 200)
    assert verdict is not None
    assert verdict.rule is FailureRule.IMAGE_PULL_AUTH
    assert t >= 60


def test_r7_transient_429_recovering_never_fails_but_a_stuck_pull_does() -> None:
    def state(t: float) -> State:
        cs = (
            waiting("ImagePullBackOff", "toomanyrequests: rate limit")
            if t < 150
            else running(ready=False)
        )
        return rollout(1), [replicaset(replicas=1)], [pod("p0", containers=[cs])], []

    assert run(state, 400)[0] is None
    verdict, t = run(single(waiting("ErrImagePull", "i/o timeout")), 400)
    assert verdict is not None
    assert verdict.rule is FailureRule.IMAGE_PULL_STUCK
    assert t >= 180


def test_slow_pull_still_in_progress_never_fails() -> None:
    verdict, _ = run(single(waiting("ContainerCreating")), 500)
    assert verdict is None


def test_r8_secret_created_within_45_seconds_does_not_fail() -> None:
    def state(t: float) -> State:
        cs = (
            waiting("CreateContainerConfigError", 'secret "db" not found')
            if t < 40
            else running(ready=True)
        )
        return rollout(1), [replicaset(replicas=1)], [pod("p0", containers=[cs])], []

    assert run(state, 200)[0] is None
    verdict, t = run(single(waiting("CreateContainerConfigError", 'secret "db" not found')), 200)
    assert verdict is not None
    assert verdict.rule is FailureRule.CONFIG_ERROR
    assert t >= 45


def test_r8_cache_sync_is_ignored() -> None:
    cs = waiting("CreateContainerConfigError", "failed to sync secret cache: timed out")
    assert run(single(cs), 200)[0] is None


def test_r9_deterministic_start_error() -> None:
    cs = waiting("RunContainerError", 'exec: "srv": executable file not found in $PATH')
    verdict, t = run(single(cs), 100)
    assert verdict is not None
    assert verdict.rule is FailureRule.START_ERROR
    assert t >= 10


# --- R10–R13 pod-level rules -------------------------------------------------------------------


def refused(
    message: str, old_replicas: Callable[[float], int] = lambda _t: 3
) -> Callable[[float], State]:
    cond = [
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": message}
    ]

    def state(t: float) -> State:
        rss = [replicaset(new=False, replicas=old_replicas(t)), replicaset(conditions=cond)]
        return rollout(), rss, [], []

    return state


def test_r10_admission_denied_fails_after_15_seconds() -> None:
    verdict, t = run(refused('violates PodSecurity "restricted:latest"'), 100)
    assert verdict is not None
    assert verdict.rule is FailureRule.CREATE_REFUSED
    assert 15 <= t <= 20


def test_r10_quota_during_surge_waits_while_old_pods_scale_down() -> None:
    msg = "exceeded quota: compute"
    # The old RS shrinks every 40 s: quota is being freed, the window keeps restarting.
    shrinking = refused(msg, old_replicas=lambda t: 3 - min(3, int(t // 40)))
    verdict, _ = run(shrinking, 110)
    assert verdict is None
    verdict, t = run(refused(msg), 200)
    assert verdict is not None
    assert verdict.rule is FailureRule.CREATE_REFUSED
    assert t >= 60


def unschedulable(events: list[Obj]) -> Callable[[float], State]:
    msg = "0/3 nodes are available: 3 Insufficient cpu."
    return lambda _t: (
        rollout(1),
        [replicaset(replicas=1)],
        [pod("p0", unschedulable=msg)],
        events,
    )


def test_r11_unschedulable_without_autoscaler_waits_90_seconds() -> None:
    verdict, t = run(unschedulable([]), 300)
    assert verdict is not None
    assert verdict.rule is FailureRule.UNSCHEDULABLE
    assert t >= 90


def test_r11_not_trigger_scale_up_fails_after_60_seconds() -> None:
    events = [
        event("p0", "NotTriggerScaleUp", "pod didn't trigger scale-up: max node group size reached")
    ]
    verdict, t = run(unschedulable(events), 300)
    assert verdict is not None
    assert verdict.rule is FailureRule.UNSCHEDULABLE
    assert 60 <= t < 90


def test_r11_autoscaler_scale_up_in_progress_never_fails_early() -> None:
    events = [event("p0", "TriggeredScaleUp", "pod triggered scale-up: [{pool 1->3 (max: 10)}]")]
    verdict, _ = run(unschedulable(events), 590)
    assert verdict is None


def test_r12_volume_mount_not_found() -> None:
    def state(_t: float) -> State:
        p = pod("p0", phase="Pending", containers=[waiting("ContainerCreating")])
        ev = [
            event(
                "p0",
                "FailedMount",
                'MountVolume.SetUp failed for volume "cfg" : configmap "cfg" not found',
                count=3,
            )
        ]
        return rollout(1), [replicaset(replicas=1)], [p], ev

    verdict, t = run(state, 300)
    assert verdict is not None
    assert verdict.rule is FailureRule.VOLUME_MOUNT
    assert t >= 120


def test_r13_evicted_pods_are_ignored() -> None:
    def state(_t: float) -> State:
        evicted = pod(
            "gone",
            phase="Failed",
            reason="Evicted",
            containers=[waiting("CrashLoopBackOff", restarts=5)],
        )
        return (
            rollout(1),
            [replicaset(replicas=1)],
            [evicted, pod("p0", containers=[running(ready=False)])],
            [],
        )

    assert run(state, 200)[0] is None


# --- deadline, ceiling, shapes, aggregation ----------------------------------------------------


def test_ceiling_gives_timeout_with_a_best_guess() -> None:
    verdict, t = run(single(running(ready=False)), 700)
    assert verdict is not None
    assert verdict.status is RolloutStatus.TIMEOUT
    assert t == 600
    assert "Ready" in verdict.message


def test_stale_progress_deadline_never_fails() -> None:
    cond = [
        {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "lastUpdateTime": "2026-01-01T11:00:00Z",
        }
    ]

    def state(_t: float) -> State:
        return (
            rollout(1, conditions=cond),
            [replicaset(replicas=1)],
            [pod("p0", containers=[running(ready=False)])],
            [],
        )

    verdict, _ = run(state, 300)
    assert verdict is None


def test_autoscaler_scale_of_the_deployment_is_not_superseded() -> None:
    def state(t: float) -> State:
        replicas = 3 if t < 30 else 6
        dep = deployment(
            replicas=replicas,
            generation=2 if t < 30 else 3,
            observed=2 if t < 30 else 3,
            updated=replicas,
            available=0,
        )
        return (
            dep,
            [replicaset(replicas=replicas)],
            [pod("p0", containers=[running(ready=False)])],
            [],
        )

    assert run(state, 100)[0] is None


def test_success_as_soon_as_kubectl_would() -> None:
    def state(t: float) -> State:
        available = 3 if t >= 20 else 1
        dep = deployment(updated=3, available=available)
        return (
            dep,
            [replicaset()],
            [pod(f"p{i}", ready=True, containers=[running()]) for i in range(3)],
            [],
        )

    verdict, t = run(state, 100)
    assert verdict is not None
    assert verdict.status is RolloutStatus.SUCCEEDED
    assert t == 20


def test_undecidable_revision_lag_holds_rules() -> None:
    cs = waiting("InvalidImageName", "bad")

    def state(_t: float) -> State:
        return (
            rollout(1, revision="3"),
            [replicaset(replicas=1, revision="2")],
            [pod("p0", containers=[cs])],
            [],
        )

    assert run(state, 100)[0] is None


def test_verdict_is_final() -> None:
    tracker = RolloutTracker(TARGET, deployment(), T0, POLICY)
    assert tracker.observe(None, [], [], [], at(1)) is not None
    later = tracker.observe(deployment(updated=3), [replicaset()], [], [], at(2))
    assert later is not None
    assert later.rule is FailureRule.DELETED


def test_arming_rule_is_reported_while_the_window_runs() -> None:
    tracker = RolloutTracker(TARGET, deployment(), T0, POLICY)
    state = single(waiting("CreateContainerConfigError", 'configmap "c" not found'))
    for t in (0, 5, 10):
        tracker.observe(*state(t), at(t))
    arming = tracker.progress.arming
    assert [a.hit.rule for a in arming] == [FailureRule.CONFIG_ERROR]
    assert arming[0].elapsed_seconds(at(10)) == 10


def test_aggregate_fails_on_first_failure_and_succeeds_when_all_do() -> None:
    ok = Verdict(status=RolloutStatus.SUCCEEDED, target=TARGET)
    bad = Verdict(status=RolloutStatus.FAILED, rule=FailureRule.CRASH_LOOP, target=TARGET)
    now = at(0)
    assert aggregate_verdicts([bad, None], now) == bad
    assert aggregate_verdicts([ok, None], now) is None
    both: Sequence[Verdict | None] = [ok, ok]
    result = aggregate_verdicts(both, now)
    assert result is not None
    assert result.status is RolloutStatus.SUCCEEDED
    mixed = aggregate_verdicts([ok, Verdict(status=RolloutStatus.TIMEOUT, target=TARGET)], now)
    assert mixed is not None
    assert mixed.status is RolloutStatus.TIMEOUT


def test_late_waiter_counts_restarts_since_the_new_replicaset_was_created() -> None:
    # `da-ci wait` joins 40 s after the apply; the new RS (created at -1 s) is this rollout's.
    late = at(40)
    tracker = RolloutTracker(TARGET, deployment(), late, POLICY, infer_start=True)
    cs = waiting("CrashLoopBackOff", restarts=2, last=("Error", 1, 39))
    pods = [pod(f"p{i}", created=1, containers=[cs]) for i in range(3)]
    verdicts = [
        tracker.observe(rollout(), [replicaset(created=-1)], pods, [], at(t)) for t in (40, 45, 50)
    ]
    assert verdicts[-1] is not None
    assert verdicts[-1].rule is FailureRule.CRASH_LOOP


def test_late_waiter_on_a_rollback_keeps_its_own_start() -> None:
    tracker = RolloutTracker(TARGET, deployment(), at(40), POLICY, infer_start=True)
    cs = waiting("CrashLoopBackOff", restarts=9, last=("Error", 1, 39))
    pods = [pod(f"p{i}", created=-7000, containers=[cs]) for i in range(3)]
    for t in range(40, 120, 5):
        assert tracker.observe(rollout(), [replicaset(created=-7200)], pods, [], at(t)) is None


def test_r11_surge_pod_waits_while_old_pods_terminate() -> None:
    msg = "0/2 nodes are available: 2 Insufficient memory."

    def state(_t: float) -> State:
        old = pod("old", new=False, deleting=True, ready=True, containers=[running()])
        return rollout(1), [replicaset(replicas=1)], [old, pod("p0", unschedulable=msg)], []

    assert run(state, 400)[0] is None


def test_init_container_that_failed_twice_then_completed_does_not_fail() -> None:
    done: Obj = {
        "name": "migrate",
        "ready": False,
        "restartCount": 2,
        "state": {"terminated": {"reason": "Completed", "exitCode": 0}},
        "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": ro_stamp(20)}},
    }

    def state(_t: float) -> State:
        p = pod("p0", init=[done], containers=[running(ready=False)])
        return rollout(1), [replicaset(replicas=1)], [p], []

    assert run(state, 200)[0] is None


def test_just_exited_container_keeps_the_crash_window_running() -> None:
    def state(t: float) -> State:
        # Alternates Terminated(Error) and CrashLoopBackOff with two restarts since the apply.
        if int(t // 5) % 2:
            cs = waiting("CrashLoopBackOff", restarts=2, last=("Error", 1, t - 1))
        else:
            cs = running(ready=False, restarts=2, last=("Error", 1, t - 1))
            cs["state"] = {"terminated": {"reason": "Error", "exitCode": 1}}
        return rollout(1), [replicaset(replicas=1)], [pod("p0", containers=[cs])], []

    verdict, t = run(state, 100)
    assert verdict is not None
    assert verdict.rule is FailureRule.CRASH_LOOP
    assert t == 10
