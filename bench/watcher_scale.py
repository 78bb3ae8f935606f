"""The watcher at cluster scale: memory, CPU, API load and verdict latency; the ingest API's load.

A simulated cluster of `--deployments` Deployments with `--pods-per-deployment` pods each (5,000 and
10 by default: 50,000 pods) is built directly in the simulator's object store (no controllers or
kubelet for the steady ones), then `--rollouts` of them (200) get a new image at once and roll with
the full simulated control plane. The watcher (roles watch and ingest, SQLite store) runs in a
child process on a clock aligned with the simulator's, so its memory and CPU are its own.

Measured: the child's RSS after its first lists and its peak; CPU seconds per rollout; API
requests per minute during the rollouts, against the seed's per-rollout polling (GET the
Deployment, LIST its ReplicaSets and pods every 10 s for each rollout, over the same rollouts'
measured durations); p50/p99 from the simulator change to the watcher having stored the status
(apply → PROGRESSING recorded, Deployment complete → SUCCEEDED recorded); then the ingest API's
throughput, error count and p99 with concurrent keep-alive clients on loopback, against a single
client. Writes bench/results/watcher_scale.json.

Run: .venv/bin/python bench/watcher_scale.py [--deployments 5000] [--rollouts 200]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy_assistant.kube.phase import kubectl_rollout_status
from deploy_assistant.models import RolloutStatus
from deploy_assistant.sim import Scenario, Simulator

RESULTS = Path(__file__).parent / "results" / "watcher_scale.json"
REVISION = "deployment.kubernetes.io/revision"
OLD_IMAGE, NEW_IMAGE = "registry.example.com/bench/app:1", "registry.example.com/bench/app:2"
NAMESPACES = 100
TOKEN = "bench-token"
TICKS = os.sysconf("SC_CLK_TCK")


# --- the aligned clock of the child process ------------------------------------------------------


class AlignedClock:
    """The simulator's clock seen from another process: `CLOCK_MONOTONIC` is machine-wide."""

    def __init__(self, origin: datetime, offset_seconds: float) -> None:
        self.origin, self.offset_seconds = origin, offset_seconds

    def monotonic(self) -> float:
        return time.monotonic() + self.offset_seconds

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=self.monotonic())

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0))

    def to_real_seconds(self, seconds: float) -> float:
        return seconds


def child_main(config: dict[str, Any]) -> None:
    """Run the watcher (watch + ingest) until SIGTERM; JSON logs on stdout."""
    from pydantic import SecretStr

    from deploy_assistant.settings import (
        IngestSettings,
        KubeSettings,
        Settings,
        StoreSettings,
        WatcherSettings,
    )
    from deploy_assistant.watcher.cli import configure_logging
    from deploy_assistant.watcher.service import WatcherService

    configure_logging("INFO")
    settings = Settings(
        kube=KubeSettings(api_url=config["url"], watch_timeout_seconds=3600),
        store=StoreSettings(url=config["store_url"]),
        ingest=IngestSettings(host="127.0.0.1", port=config["port"], tokens=[SecretStr(TOKEN)]),
        cluster="bench",
        watcher=WatcherSettings(exclude_namespaces=[]),
    )
    clock = AlignedClock(datetime.fromisoformat(config["origin"]), config["offset_seconds"])
    service = WatcherService(settings, clock=clock, roles=["watch", "ingest"], worker_id="bench")
    signal.signal(signal.SIGTERM, lambda *_: service.stop_event.set())
    service.start()
    service.wait(0.2)
    service.stop()


# --- bulk population ----------------------------------------------------------------------------


def _template(name: str, image: str, hash_label: str | None = None) -> dict[str, Any]:
    labels = {"app": name} | ({"pod-template-hash": hash_label} if hash_label else {})
    container = {"name": "app", "image": image, "imagePullPolicy": "IfNotPresent"}
    return {"metadata": {"labels": labels}, "spec": {"containers": [container]}}


def populate_steady(sim: Simulator, names: list[tuple[str, str]], pods_each: int) -> int:
    """Settled Deployments, ReplicaSets and Running pods straight into the store; no controller
    sees them (its listeners are detached meanwhile), so they cost the simulator nothing later."""
    state = sim.state
    listeners, state._listeners = state._listeners, []
    stamp = "2025-12-31T00:00:00Z"
    created = 0
    try:
        for namespace, name in names:
            dep = state.create(
                "deployments",
                {
                    "metadata": {
                        "name": name,
                        "namespace": namespace,
                        "annotations": {REVISION: "1"},
                    },
                    "spec": {
                        "replicas": pods_each,
                        "selector": {"matchLabels": {"app": name}},
                        "template": _template(name, OLD_IMAGE),
                        "progressDeadlineSeconds": 600,
                    },
                    "status": {
                        "observedGeneration": 1,
                        "replicas": pods_each,
                        "updatedReplicas": pods_each,
                        "readyReplicas": pods_each,
                        "availableReplicas": pods_each,
                    },
                },
            )
            rs_name = f"{name}-5d8f7b9c6d"
            owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
            rs = state.create(
                "replicasets",
                {
                    "metadata": {
                        "name": rs_name,
                        "namespace": namespace,
                        "labels": {"app": name, "pod-template-hash": "5d8f7b9c6d"},
                        "annotations": {REVISION: "1"},
                        "ownerReferences": [
                            owner | {"uid": dep["metadata"]["uid"], "controller": True}
                        ],
                    },
                    "spec": {
                        "replicas": pods_each,
                        "template": _template(name, OLD_IMAGE, "5d8f7b9c6d"),
                    },
                    "status": {
                        "replicas": pods_each,
                        "readyReplicas": pods_each,
                        "availableReplicas": pods_each,
                    },
                },
            )
            rs_owner: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "ReplicaSet"}
            rs_owner |= {"name": rs_name, "uid": rs["metadata"]["uid"], "controller": True}
            for index in range(pods_each):
                state.create(
                    "pods", _steady_pod(namespace, f"{rs_name}-{index:05d}", name, rs_owner, stamp)
                )
                created += 1
    finally:
        state._listeners = listeners
    return created


def _steady_pod(
    namespace: str, name: str, app: str, owner: dict[str, Any], stamp: str
) -> dict[str, Any]:
    ready = {"status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": app, "pod-template-hash": "5d8f7b9c6d"},
            "ownerReferences": [owner],
        },
        "spec": {
            "containers": [{"name": "app", "image": OLD_IMAGE}],
            "nodeName": "steady-node",
            "terminationGracePeriodSeconds": 30,
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": t} | ready
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "hostIP": "10.0.0.10",
            "podIP": "10.244.0.10",
            "startTime": stamp,
            "qosClass": "BestEffort",
            "containerStatuses": [
                {
                    "name": "app",
                    "image": OLD_IMAGE,
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": stamp}},
                    "lastState": {},
                }
            ],
        },
    }


def scenario(rolling: list[tuple[str, str]], pods_each: int) -> Scenario:
    nodes = max(4, len(rolling) * pods_each * 2 // 100)
    applies = [
        {
            "at": -300,
            "manifest": {
                "metadata": {"name": n, "namespace": ns},
                "spec": {"replicas": pods_each, "template": _template(n, OLD_IMAGE)},
            },
        }
        for ns, n in rolling
    ]
    return Scenario.model_validate(
        {
            "name": "watcher-scale",
            "description": "many settled deployments, some of which roll at once",
            "cluster": {
                "nodes": [
                    {"name": "node", "count": nodes, "cpu": "64", "memory": "256Gi", "pods": 250}
                ]
            },
            "applies": applies,
            "expect": {"verdict": "SUCCEEDED"},
            "targets": [list(t) for t in rolling],
            "duration_seconds": 600,
        }
    )


# --- measuring ----------------------------------------------------------------------------------


def proc_rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def proc_cpu_seconds(pid: int) -> float:
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TICKS


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class LogReader(threading.Thread):
    """Collects the child's JSON log lines: rollout records and verdicts with their wall time."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.recorded: dict[str, float] = {}
        self.decided: dict[str, tuple[str, float]] = {}
        self.ready = threading.Event()
        self.lines: list[str] = []

    def run(self) -> None:
        for line in self.stream:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            message, at = entry["message"], datetime.fromisoformat(entry["time"]).timestamp()
            self.lines.append(message)
            if message.startswith("watching "):
                self.ready.set()
            elif message.startswith("rollout of ") and " recorded as revision " in message:
                self.recorded[message.split()[2]] = at
            elif message.startswith("rollout of ") and ": " in message:
                key, status = message[len("rollout of ") :].split(": ", 1)
                self.decided[key] = (status, at)


class ChangeTimes:
    """Simulator listener: when each rolling Deployment was applied and when it completed."""

    def __init__(self, rolling: set[tuple[str, str]]) -> None:
        self.rolling = rolling
        self.applied: dict[str, float] = {}
        self.observed: dict[str, float] = {}
        """When the controller had observed the new spec (and stamped the revision)."""
        self.completed: dict[str, float] = {}

    def __call__(self, plural: str, event_type: str, obj: dict[str, Any]) -> None:
        if plural != "deployments" or event_type != "MODIFIED":
            return
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"])
        if key not in self.rolling:
            return
        if obj["spec"]["template"]["spec"]["containers"][0]["image"] != NEW_IMAGE:
            return
        name = f"{key[0]}/{key[1]}"
        self.applied.setdefault(name, time.time())
        generation = meta.get("generation", 0)
        if (obj.get("status") or {}).get("observedGeneration", -1) >= generation:
            self.observed.setdefault(name, time.time())
        if kubectl_rollout_status(obj) is RolloutStatus.SUCCEEDED:
            self.completed.setdefault(name, time.time())


# --- the ingest load ----------------------------------------------------------------------------


def ingest_load(port: int, clients: int, seconds: float) -> dict[str, float]:
    """`clients` keep-alive connections posting reports for `seconds`; rate, errors, latency."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        sent = 0
        while time.monotonic() < deadline:
            body = {
                "cluster": "bench",
                "namespace": f"ingest-{index}",
                "deployment": f"svc-{sent % 500}",
                "git": {"project": "bench/app", "commit": f"{index:04d}{sent:08d}", "mr_iid": 1},
            }
            started = time.perf_counter()
            try:
                connection.request("POST", "/deployments", json.dumps(body), headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies[index].append(time.perf_counter() - started)
            errors[index] += not ok
            sent += 1
        connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    flat = [value for per_client in latencies for value in per_client]
    return {
        "clients": clients,
        "requests": len(flat),
        "requests_per_second": len(flat) / elapsed,
        "errors": sum(errors),
        "p50_ms": percentile(flat, 0.50) * 1000,
        "p99_ms": percentile(flat, 0.99) * 1000,
    }


# --- the run ------------------------------------------------------------------------------------


def names_of(count: int) -> list[tuple[str, str]]:
    return [(f"bench-{i % NAMESPACES:03d}", f"app-{i:05d}") for i in range(count)]


def wait_for(check: Any, timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.05)


def run(args: argparse.Namespace) -> dict[str, Any]:
    names = names_of(args.deployments)
    rolling = names[: args.rollouts]
    steady = names[args.rollouts :]
    sim = Simulator(scenario(rolling, args.pods_per_deployment), speed=1.0)
    began = time.monotonic()
    populate_steady(sim, steady, args.pods_per_deployment)
    sim.start()
    populated_seconds = time.monotonic() - began
    changes = ChangeTimes(set(rolling))
    sim.state.add_listener(changes)
    workdir = Path(tempfile.mkdtemp(prefix="da-watcher-scale-"))
    port = _free_port()
    config = {
        "url": sim.url,
        "store_url": f"sqlite:///{workdir / 'watcher.db'}",
        "port": port,
        "origin": sim.clock.moment(0).isoformat(),
        "offset_seconds": sim.clock.monotonic() - time.monotonic(),
    }
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(config)],
        stdout=subprocess.PIPE,
        text=True,
    )
    logs = LogReader(child.stdout)
    logs.start()
    try:
        return _measure(args, sim, child, logs, changes, rolling, populated_seconds, port)
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
        sim.stop()


def _measure(
    args: argparse.Namespace,
    sim: Simulator,
    child: subprocess.Popen[str],
    logs: LogReader,
    changes: ChangeTimes,
    rolling: list[tuple[str, str]],
    populated_seconds: float,
    port: int,
) -> dict[str, Any]:
    started = time.monotonic()
    wait_for(logs.ready.is_set, 240, "the watcher's first lists")
    sync_seconds = time.monotonic() - started
    rss_synced, _ = proc_rss_mb(child.pid)
    list_cpu_seconds = proc_cpu_seconds(child.pid)
    pods_total = len(sim.state.list("pods")[0])
    requests_at_sync = len(sim.state.requests)
    cpu_before, requests_before, t_before = (
        proc_cpu_seconds(child.pid),
        len(sim.state.requests),
        time.monotonic(),
    )
    for namespace, name in rolling:
        manifest = {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": args.pods_per_deployment, "template": _template(name, NEW_IMAGE)},
        }
        sim.apply(namespace, manifest)
    keys = {f"{ns}/{n}" for ns, n in rolling}
    peak_rss = rss_synced
    deadline = time.monotonic() + 240
    while not keys <= set(logs.decided) and time.monotonic() < deadline:
        peak_rss = max(peak_rss, proc_rss_mb(child.pid)[0])
        time.sleep(0.25)
    window_seconds = time.monotonic() - t_before
    cpu_seconds = proc_cpu_seconds(child.pid) - cpu_before
    requests = len(sim.state.requests) - requests_before
    rss_after, rss_peak_hwm = proc_rss_mb(child.pid)
    decided = {k: v for k, v in logs.decided.items() if k in keys}
    to_recorded = [
        logs.recorded[k] - changes.observed[k]
        for k in keys
        if k in logs.recorded and k in changes.observed
    ]
    to_final = [
        decided[k][1] - changes.completed[k]
        for k in keys
        if k in decided and k in changes.completed
    ]
    durations = [
        decided[k][1] - changes.applied[k] for k in keys if k in decided and k in changes.applied
    ]
    # The seed's poller: GET deployment + LIST replicasets + LIST pods every 10 s per rollout.
    baseline_requests = sum(3 * (int(d // 10) + 1) for d in durations)
    single = ingest_load(port, 1, args.ingest_seconds)
    concurrent = ingest_load(port, args.ingest_clients, args.ingest_seconds)
    return {
        "deployments": args.deployments,
        "pods": pods_total,
        "rollouts": args.rollouts,
        "populate_seconds": round(populated_seconds, 1),
        "first_list_seconds": round(sync_seconds, 1),
        "first_list_watcher_cpu_seconds": round(list_cpu_seconds, 1),
        "rss_mb_after_first_list": round(rss_synced, 1),
        "rss_mb_during_rollouts_max": round(max(peak_rss, rss_after), 1),
        "rss_mb_peak_hwm": round(rss_peak_hwm, 1),
        "verdicts": {
            s: sum(1 for v in decided.values() if v[0] == s)
            for s in {v[0] for v in decided.values()}
        },
        "undecided": len(keys - set(decided)),
        "cpu_seconds_per_rollout": round(cpu_seconds / max(len(decided), 1), 4),
        "rollout_window_seconds": round(window_seconds, 1),
        "api_requests_until_first_list_done": requests_at_sync,
        "api_requests_total": len(sim.state.requests),
        "api_requests_per_minute": round(requests / window_seconds * 60, 1),
        "baseline_polling_requests_per_minute": round(baseline_requests / window_seconds * 60, 1),
        "observed_to_recorded_ms": {
            "p50": round(percentile(to_recorded, 0.5) * 1000),
            "p99": round(percentile(to_recorded, 0.99) * 1000),
        },
        "complete_to_succeeded_ms": {
            "p50": round(percentile(to_final, 0.5) * 1000),
            "p99": round(percentile(to_final, 0.99) * 1000),
        },
        "ingest_single_client": single,
        "ingest_concurrent": concurrent,
    }


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _p50_p99(values: dict[str, int]) -> str:
    return f"{values['p50']} / {values['p99']} ms"


def report(result: dict[str, Any]) -> None:
    single, many = result["ingest_single_client"], result["ingest_concurrent"]
    polling = result["baseline_polling_requests_per_minute"]
    ours = result["api_requests_per_minute"]
    cluster = f"{result['deployments']:,} deployments, {result['pods']:,} pods"
    speedup = many["requests_per_second"] / max(single["requests_per_second"], 1e-9)
    rss = f"{result['rss_mb_after_first_list']} / {result['rss_mb_during_rollouts_max']} MB"
    rows = [
        ("cluster", f"{cluster}, {result['rollouts']} concurrent rollouts", ""),
        ("watcher RSS after first list / max during rollouts", rss, "<= 300 MB"),
        ("watcher RSS peak (VmHWM)", f"{result['rss_mb_peak_hwm']} MB", "<= 300 MB"),
        (
            "first list of everything: wall (watcher CPU, incl. start)",
            f"{result['first_list_seconds']} s ({result['first_list_watcher_cpu_seconds']} s)",
            "",
        ),
        ("CPU per rollout", f"{result['cpu_seconds_per_rollout'] * 1000:.1f} ms", ""),
        ("API requests / min during rollouts: ours vs seed polling", f"{ours} vs {polling}", ""),
        ("API requests in all (lists and watches)", f"{result['api_requests_total']}", ""),
        (
            "controller observed new spec → PROGRESSING stored, p50 / p99",
            _p50_p99(result["observed_to_recorded_ms"]),
            "p99 <= 1000 ms",
        ),
        (
            "Deployment complete → SUCCEEDED stored, p50 / p99",
            _p50_p99(result["complete_to_succeeded_ms"]),
            "p99 <= 1000 ms",
        ),
        (
            f"ingest, {many['clients']} clients (ratio to 1 client)",
            f"{many['requests_per_second']:.0f} req/s ({speedup:.2f}x), {many['errors']} errors",
            ">= 500 req/s, 0 errors",
        ),
        ("ingest latency p50 / p99", f"{many['p50_ms']:.1f} / {many['p99_ms']:.1f} ms", ""),
    ]
    print("| measure | result | target |")
    print("|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")
    print(f"\nverdicts: {result['verdicts']}, undecided: {result['undecided']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deployments", type=int, default=5000)
    parser.add_argument("--pods-per-deployment", type=int, default=10)
    parser.add_argument("--rollouts", type=int, default=200)
    parser.add_argument("--ingest-clients", type=int, default=8)
    parser.add_argument("--ingest-seconds", type=float, default=8.0)
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(json.loads(args.child))
        return
    result = run(args)
    report(result)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
