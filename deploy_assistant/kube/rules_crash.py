"""R1–R3 (and the crash side of R9): containers that keep dying, counted per new pod.

A container is crash-doomed when it is in CrashLoopBackOff, or Running-not-Ready right after a
non-zero exit, with enough restarts *since our apply* (R = 2, or 1 for deterministic start
failures, or 3 for SIGKILL/SIGTERM kills that may be probe kills). Rules count doomed pods, not
raw updates, and tolerate a minority once some new pod has been Ready (R14: degraded, not failed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum

from deploy_assistant.kube.observation import Observation, RuleHit
from deploy_assistant.kube.pods import all_containers
from deploy_assistant.models import ContainerSignals, FailureRule, PodSignals
from deploy_assistant.settings import PolicySettings


class Doom(StrEnum):
    CRASH = "crash"
    OOM = "oom"
    KILL = "kill"
    START = "start"


def _required_restarts(c: ContainerSignals, policy: PolicySettings) -> int:
    last, code = c.last_terminated_reason, c.last_exit_code
    if code in (137, 143) and last != "OOMKilled":
        return policy.probe_kill_restarts
    if last == "StartError" or (last == "ContainerCannotRun" and code != 128) or code in (126, 127):
        return 1
    return policy.crash_restarts


def doom_of(c: ContainerSignals, obs: Observation, policy: PolicySettings) -> Doom | None:
    """Why this container is crash-doomed at `obs.at`, or None."""
    if c.restarts_since_start < _required_restarts(c, policy):
        return None
    running = c.waiting_reason is None and c.terminated_reason is None
    recent_exit = (
        c.last_finished_at is not None
        and (obs.at - c.last_finished_at).total_seconds() <= policy.crash_recent_exit_seconds
    )
    # Stable across the Running → Terminated → CrashLoopBackOff cycle: a just-exited container
    # (terminated, about to back off) is as doomed as one in back-off. An init container that
    # finished with exit 0 is done, not looping.
    looping = (
        c.waiting_reason == "CrashLoopBackOff"
        or (c.terminated_reason is not None and not (c.init and c.terminated_exit_code == 0))
        or (running and not c.ready and c.last_exit_code not in (None, 0) and recent_exit)
    )
    if not looping:
        return None
    if c.last_terminated_reason == "OOMKilled":
        return Doom.OOM
    if c.last_exit_code in (137, 143):
        return Doom.KILL
    if c.last_terminated_reason in ("StartError", "ContainerCannotRun"):
        return Doom.START
    return Doom.CRASH


def doomed(
    obs: Observation, policy: PolicySettings, accept: Callable[[PodSignals, Doom], bool]
) -> list[tuple[PodSignals, ContainerSignals, Doom]]:
    """One (pod, first doomed container, doom) per new pod whose doom `accept` admits."""
    out = []
    for pod in obs.pods:
        for c in all_containers(pod):
            doom = doom_of(c, obs, policy)
            if doom is not None and accept(pod, doom):
                out.append((pod, c, doom))
                break
    return out


def crash_threshold_met(obs: Observation, doomed_count: int) -> bool:
    """R1's count: min(2, N) doomed pods or all existing ones; a majority once any was Ready."""
    n = obs.replicas_target
    if doomed_count < 1:
        return False
    enough = doomed_count >= min(2, n) or doomed_count == len(obs.pods)
    guard = not obs.new_ready_seen or doomed_count >= math.ceil(n / 2)
    return enough and guard


def _describe(c: ContainerSignals) -> str:
    how = c.last_terminated_reason or "exited"
    code = f" with exit code {c.last_exit_code}" if c.last_exit_code is not None else ""
    kind = "init container" if c.init else "container"
    return (
        f'{kind} "{c.name}" stopped ({how}{code}) {c.restarts_since_start} time(s) '
        "since the rollout started"
    )


def _hit(
    rule: FailureRule,
    window: float,
    what: str,
    found: list[tuple[PodSignals, ContainerSignals, Doom]],
    obs: Observation,
) -> RuleHit:
    pod, c, _ = found[0]
    return RuleHit(
        rule=rule,
        window_seconds=window,
        message=(
            f"{len(found)} of {obs.replicas_target} new pods {what}: pod {pod.name} {_describe(c)}"
        ),
        pod=pod.name,
        container=c.name,
    )


def crash_hits(obs: Observation, policy: PolicySettings) -> list[RuleHit]:
    """R1 (any doom), R2 (OOM), R3 (probe kills confirmed by Events) and R9's start failures."""
    hits: list[RuleHit] = []
    everything = doomed(obs, policy, lambda _p, _d: True)
    if not crash_threshold_met(obs, len(everything)):
        return hits
    oom = doomed(obs, policy, lambda _p, d: d is Doom.OOM)
    if crash_threshold_met(obs, len(oom)):
        hits.append(
            _hit(FailureRule.OOM_LOOP, policy.oom_window_seconds, "run out of memory", oom, obs)
        )
    probe = doomed(obs, policy, lambda p, d: d is Doom.KILL and obs.events_for(p).probe_kills > 0)
    if crash_threshold_met(obs, len(probe)):
        hits.append(
            _hit(
                FailureRule.PROBE_KILL,
                policy.probe_kill_window_seconds,
                "are killed by their liveness or startup probe",
                probe,
                obs,
            )
        )
    start = doomed(obs, policy, lambda _p, d: d is Doom.START)
    if crash_threshold_met(obs, len(start)):
        hits.append(
            _hit(
                FailureRule.START_ERROR,
                policy.start_error_window_seconds,
                "cannot start",
                start,
                obs,
            )
        )
    hits.append(
        _hit(FailureRule.CRASH_LOOP, policy.crash_window_seconds, "keep crashing", everything, obs)
    )
    return hits


def degraded_note(obs: Observation, policy: PolicySettings) -> str | None:
    """R14: some new pods Ready and a minority crash-doomed — reported, never failed."""
    found = doomed(obs, policy, lambda _p, _d: True)
    if found and any(p.ready for p in obs.pods) and not crash_threshold_met(obs, len(found)):
        return f"DEGRADED: {len(found)} of {obs.replicas_target} new pods keep crashing"
    return None
