"""Verdict latency and API load of the fail-fast evaluator against two baselines, per scenario.

Every bundled simulator scenario runs once. On that one observation stream (our watch loop's
caches) three deciders run side by side:

* ours — `RolloutTracker` (rules R1–R14, kubectl's success rule, fresh deadline only);
* kubectl — `kubectl rollout status` semantics: FAILED at ProgressDeadlineExceeded;
* seed — the seed design's §11 policy as written (all selector pods, no observation gate).

For failing scenarios it reports simulated seconds from the first observable hard-failure signal
(first CrashLoopBackOff / ErrImagePull / Unschedulable / FailedCreate … on a new pod) to FAILED.
A baseline that has not failed by the end of the run is reported as "≥ end" and valued at the
progress deadline (kubectl) or the timeout (seed). Also: false FAILED / false SUCCEEDED counts
of all three, and API requests per rollout-minute after the initial lists versus the seed's
10-second polling (3 requests per 10 s). Writes bench/results/verdict_latency.json.

Run: .venv/bin/python bench/verdict_latency.py [--speed 40] [--only NAME]
(lower speeds measure more precisely: one real millisecond of scheduling is `speed` ms of
simulated time)
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from deploy_assistant.kube.client import KubeClient
from deploy_assistant.kube.phase import (
    kubectl_rollout_status,
    kubectl_waiting_message,
    progress_deadline_seconds,
)
from deploy_assistant.kube.pods import find_new_replicaset, split_pods
from deploy_assistant.kube.policy import seed_analyze_pod_failures, seed_should_fail_early
from deploy_assistant.kube.rollout_cache import RolloutCache
from deploy_assistant.kube.wait import RolloutLoop, start_caches
from deploy_assistant.models import KubeObject, RolloutStatus, Target
from deploy_assistant.settings import KubeSettings, PolicySettings
from deploy_assistant.sim import Simulator, list_scenarios, load_scenario

RESULTS = Path(__file__).parent / "results" / "verdict_latency.json"
HARD_WAITING = frozenset(
    {
        "CrashLoopBackOff",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
SEED_POLL_REQUESTS_PER_MINUTE = 3 * 6.0


@dataclass
class Run:
    scenario: str
    expected: str
    expected_rule: str | None
    ours: str = "NONE"
    ours_rule: str | None = None
    ours_at: float | None = None
    kubectl: str = "NONE"
    kubectl_at: float | None = None
    seed: str = "NONE"
    seed_at: float | None = None
    seed_fail_at: float | None = None
    """When the seed's fail-early check first fires, even after its (stale) SUCCEEDED."""
    first_signal: str | None = None
    first_signal_at: float | None = None
    first_clbo_at: float | None = None
    end_at: float = 0.0
    deadline_seconds: float = 600.0
    requests_after_lists: int = 0
    rollout_minutes: float = 0.0
    wall_seconds: float = 0.0


def hard_signal(cache: RolloutCache) -> str | None:
    """The first hard-failure signal visible on new pods (or pod creation) in this snapshot."""
    dep = cache.deployment
    if dep is None:
        return None
    new_rs = find_new_replicaset(dep, cache.replicasets.values())
    for obj in [dep] + ([new_rs.replicaset] if new_rs else []):
        for cond in (obj.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
                return "FailedCreate"
    new, _ = split_pods(cache.pods.values(), new_rs)
    for pod in new:
        status = pod.get("status") or {}
        for cond in status.get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
                return "Unschedulable"
        for field in ("initContainerStatuses", "containerStatuses"):
            for cs in status.get(field) or []:
                reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
                if reason in HARD_WAITING:
                    return str(reason)
    return None


def seed_status(dep: KubeObject | None, pods: list[KubeObject]) -> RolloutStatus:
    """Seed §11: fail early on its counters; succeed on kubectl's counts without the gate."""
    if dep is None:
        return RolloutStatus.FAILED
    if seed_should_fail_early(seed_analyze_pod_failures(pods), min_pods=1):
        return RolloutStatus.FAILED
    if kubectl_waiting_message(dep) is None:
        return RolloutStatus.SUCCEEDED
    return RolloutStatus.PROGRESSING


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_scenario(name: str, speed: float, policy: PolicySettings) -> Run:
    wall = time.monotonic()
    scenario = load_scenario(name)
    run = Run(name, str(scenario.expect.verdict), scenario.expect.rule)
    port = free_port()
    # Build the client before the simulated cluster starts, so the loop joins at t≈0.
    client = KubeClient.from_settings(KubeSettings(api_url=f"http://127.0.0.1:{port}"))
    with Simulator(scenario, speed=speed, port=port) as sim:
        clock = sim.clock
        targets = [Target(namespace=ns, deployment=d) for ns, d in sim.scenario.targets]
        caches = start_caches(client, targets, policy, clock)
        if caches is None:
            run.ours = "UNKNOWN"
            return run
        loop = RolloutLoop(client, caches, policy, KubeSettings(), clock)
        loop.start()
        start_s = clock.monotonic()
        initial = client.requests + 3 * len(targets) * 2  # the LIST and first WATCH per stream
        ceiling_s = max(
            (c.tracker.ceiling - c.tracker.t0).total_seconds() for c in caches if c.tracker
        )
        run.deadline_seconds = min(progress_deadline_seconds(c.deployment or {}) for c in caches)
        end_s = start_s + max(float(scenario.duration_seconds), 0.0)
        try:
            while True:
                verdict = loop.step()
                now_s = clock.monotonic()
                rel = now_s - start_s
                if verdict is not None and run.ours_at is None:
                    run.ours, run.ours_at = verdict.status.value, rel
                    run.ours_rule = verdict.rule.value if verdict.rule else None
                    run.requests_after_lists = max(0, client.requests - initial)
                    run.rollout_minutes = rel / 60.0
                observe_baselines(run, caches, rel)
                seed_done = run.seed_fail_at is not None or run.expected != "FAILED"
                decided = run.ours_at is not None and run.kubectl_at and run.seed_at and seed_done
                if decided or (run.ours_at is not None and now_s >= end_s):
                    break
                if rel > ceiling_s + 10.0:
                    break
            run.end_at = clock.monotonic() - start_s
        finally:
            loop.close()
            client.close()
    run.wall_seconds = time.monotonic() - wall
    return run


def observe_baselines(run: Run, caches: list[RolloutCache], rel: float) -> None:
    if run.first_signal_at is None:
        for cache in caches:
            signal = hard_signal(cache)
            if signal is not None:
                run.first_signal, run.first_signal_at = signal, rel
    if run.first_clbo_at is None and any(hard_signal(c) == "CrashLoopBackOff" for c in caches):
        run.first_clbo_at = rel
    kubectl = [kubectl_rollout_status(c.deployment) for c in caches]
    seed = [seed_status(c.deployment, list(c.pods.values())) for c in caches]
    if run.seed_fail_at is None and RolloutStatus.FAILED in seed:
        run.seed_fail_at = rel
    for name, statuses in (("kubectl", kubectl), ("seed", seed)):
        if getattr(run, f"{name}_at") is not None:
            continue
        if RolloutStatus.FAILED in statuses:
            setattr(run, name, "FAILED")
            setattr(run, f"{name}_at", rel)
        elif all(s is RolloutStatus.SUCCEEDED for s in statuses):
            setattr(run, name, "SUCCEEDED")
            setattr(run, f"{name}_at", rel)


def latency(at: float | None, signal: float | None, fallback: float) -> tuple[float, bool]:
    """(seconds from the signal to FAILED, whether it is a lower bound)."""
    start = signal or 0.0
    if at is None:
        return max(0.0, fallback - start), True
    return max(0.0, at - start), False


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summarize(runs: list[Run], policy: PolicySettings) -> dict[str, Any]:
    failing = [r for r in runs if r.expected == "FAILED"]
    rows = []
    ours_all: list[float] = []
    kubectl_all: list[float] = []
    seed_all: list[float] = []
    clbo: list[float] = []
    clbo_fast: list[float] = []
    for r in failing:
        o, o_low = latency(
            r.ours_at if r.ours == "FAILED" else None, r.first_signal_at, policy.timeout_seconds
        )
        k, k_low = latency(
            r.kubectl_at if r.kubectl == "FAILED" else None, r.first_signal_at, r.deadline_seconds
        )
        s, s_low = latency(r.seed_fail_at, r.first_signal_at, policy.timeout_seconds)
        ours_all.append(o)
        kubectl_all.append(k)
        seed_all.append(s)
        crash_family = r.ours_rule in ("CRASH_LOOP", "OOM_LOOP", "PROBE_KILL", "START_ERROR")
        if r.first_clbo_at is not None and crash_family and r.ours_at is not None:
            clbo.append(r.ours_at - r.first_clbo_at)
            if r.ours_rule != "PROBE_KILL":
                # R3 waits for a third restart by design (probe kills need one more chance).
                clbo_fast.append(r.ours_at - r.first_clbo_at)
        rows.append((r, (o, o_low), (k, k_low), (s, s_low)))

    def false_counts(attr: str) -> dict[str, int]:
        def failed(r: Run) -> bool:
            # The seed's fail-early check counts even after its stale SUCCEEDED.
            return getattr(r, attr) == "FAILED" or (attr == "seed" and r.seed_fail_at is not None)

        return {
            "false_failed": sum(failed(r) and r.expected != "FAILED" for r in runs),
            "false_succeeded": sum(
                getattr(r, attr) == "SUCCEEDED" and r.expected != "SUCCEEDED" for r in runs
            ),
        }

    minutes = sum(r.rollout_minutes for r in runs if r.ours_at)
    requests = sum(r.requests_after_lists for r in runs if r.ours_at)
    per_minute = requests / minutes if minutes else float("nan")
    median_ours = statistics.median(ours_all) if ours_all else float("nan")
    median_kubectl = statistics.median(kubectl_all) if kubectl_all else float("nan")
    return {
        "rows": rows,
        "summary": {
            "scenarios": len(runs),
            "failing_scenarios": len(failing),
            "ours_median_s": median_ours,
            "ours_p95_s": percentile(ours_all, 0.95),
            "kubectl_median_s": median_kubectl,
            "seed_median_s": statistics.median(seed_all) if seed_all else float("nan"),
            "speedup_vs_kubectl_median": median_kubectl / median_ours
            if median_ours
            else float("inf"),
            "clbo_to_failed_median_s": statistics.median(clbo) if clbo else float("nan"),
            "clbo_to_failed_p95_s": percentile(clbo, 0.95),
            "clbo_scenarios": len(clbo),
            "clbo_to_failed_p95_s_without_probe_kills": percentile(clbo_fast, 0.95),
            "ours": false_counts("ours"),
            "kubectl": false_counts("kubectl"),
            "seed": false_counts("seed"),
            "ours_requests_per_rollout_minute": per_minute,
            "seed_poll_requests_per_rollout_minute": SEED_POLL_REQUESTS_PER_MINUTE,
            "api_load_ratio_seed_over_ours": SEED_POLL_REQUESTS_PER_MINUTE / per_minute
            if per_minute
            else float("inf"),
        },
    }


def fmt(value: tuple[float, bool]) -> str:
    seconds, lower_bound = value
    return f"≥ end ({seconds:.0f})" if lower_bound else f"{seconds:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=40.0)
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args()
    policy = PolicySettings()
    names = args.only or list_scenarios()
    runs = []
    for name in names:
        run = run_scenario(name, args.speed, policy)
        print(
            f"  {name}: ours={run.ours} {run.ours_rule or ''} at {run.ours_at} "
            f"(expected {run.expected} {run.expected_rule or ''})",
            file=sys.stderr,
        )
        runs.append(run)
    result = summarize(runs, policy)
    print("| scenario | first signal | ours (s) | kubectl (s) | seed §11 fail-early (s) | rule |")
    print("|---|---|---|---|---|---|")
    for r, o, k, s in result["rows"]:
        print(
            f"| {r.scenario} | {r.first_signal or '-'} | {fmt(o)} | {fmt(k)} | {fmt(s)} "
            f"| {r.ours_rule or r.ours} |"
        )
    print()
    print("| metric | value |")
    print("|---|---|")
    for key, value in result["summary"].items():
        print(f"| {key} | {value if not isinstance(value, float) else round(value, 2)} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "speed": args.speed,
                "summary": result["summary"],
                "runs": [asdict(r) for r in runs],
            },
            indent=2,
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
