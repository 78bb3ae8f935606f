"""The watch role alone: informers, index and trackers against the simulator over HTTP."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deploy_assistant.kube.client import KubeClient
from deploy_assistant.kube.pods import pod_signals
from deploy_assistant.models import RolloutStatus
from deploy_assistant.settings import KubeSettings, PolicySettings, WatcherSettings
from deploy_assistant.sim import Simulator
from deploy_assistant.store import Store, open_store
from deploy_assistant.watcher.cluster_index import ClusterIndex
from deploy_assistant.watcher.informers import Change, Packed, pack, slim_pod
from deploy_assistant.watcher.watch import WatchLoop
from tests.watcher.test_watcher_e2e import (
    CRASHING,
    SPEED,
    UPGRADE,
    eventually,
    roll,
    scenario,
    status_of,
)


@contextmanager
def watching(
    sim: Simulator, store: Store, settings: WatcherSettings | None = None
) -> Iterator[WatchLoop]:
    client = KubeClient.from_settings(KubeSettings(api_url=sim.url))
    loop = WatchLoop(
        client,
        store.rollouts,
        PolicySettings(),
        sim.clock,
        settings or WatcherSettings(),
        cluster="test",
        watch_timeout_seconds=3600,
    )
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        eventually(lambda: loop.ready)
        yield loop
    finally:
        stop.set()
        thread.join(timeout=10)
        client.close()


def new_store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'watch.db'}")


def requests_for_rollouts(tmp_path: Path, count: int) -> int:
    names = [("shop", f"app-{i}") for i in range(count)]
    store = new_store(tmp_path / str(count))
    with (
        Simulator(scenario(names), speed=SPEED) as sim,
        watching(sim, store) as loop,
    ):
        roll(sim, dict.fromkeys(names, UPGRADE))
        eventually(lambda: all(status_of(store, *n) is RolloutStatus.SUCCEEDED for n in names))
        requests = loop.client.requests
    store.close()
    return requests


def test_api_requests_do_not_grow_with_the_number_of_rollouts(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "8").mkdir()
    assert requests_for_rollouts(tmp_path, 8) == requests_for_rollouts(tmp_path, 1)


def test_a_trimmed_pod_gives_the_evaluator_the_same_signals() -> None:
    with Simulator(scenario([("shop", "web")]), speed=SPEED) as sim:
        roll(sim, {("shop", "web"): CRASHING})
        sim.run_until(sim.clock.monotonic() + 40)
        pods, _ = sim.state.list("pods", "shop")
    assert pods
    for pod in pods:
        assert pod_signals(slim_pod(pod), {}, {}) == pod_signals(pod, {}, {})


def test_a_second_template_change_supersedes_the_first(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    with Simulator(scenario([("shop", "web")]), speed=SPEED) as sim, watching(sim, store):
        roll(sim, {("shop", "web"): CRASHING})
        eventually(lambda: status_of(store, "shop", "web") is RolloutStatus.PROGRESSING)
        roll(sim, {("shop", "web"): UPGRADE})
        eventually(lambda: status_of(store, "shop", "web") is RolloutStatus.SUCCEEDED)
        counts = store.rollouts.count_by_status()
    assert counts == {RolloutStatus.SUPERSEDED: 1, RolloutStatus.SUCCEEDED: 1}
    store.close()


def test_only_listed_and_not_excluded_namespaces_are_watched(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    names = [("shop", "web"), ("app", "api"), ("ops", "tool")]
    settings = WatcherSettings(namespaces=["shop", "app"], exclude_namespaces=["app"])
    with (
        Simulator(scenario(names), speed=SPEED) as sim,
        watching(sim, store, settings) as loop,
    ):
        roll(sim, dict.fromkeys(names, UPGRADE))
        eventually(lambda: status_of(store, "shop", "web") is RolloutStatus.SUCCEEDED)
        sim.run_until(sim.clock.monotonic() + 30)
        assert set(loop.index.deployments) == {("shop", "web")}
    assert status_of(store, "app", "api") is None
    assert status_of(store, "ops", "tool") is None
    store.close()


def test_a_rollout_under_way_at_start_is_recorded_and_a_settled_one_is_not(
    tmp_path: Path,
) -> None:
    store = new_store(tmp_path)
    with Simulator(scenario([("shop", "web"), ("shop", "cart")]), speed=SPEED) as sim:
        roll(sim, {("shop", "web"): CRASHING})
        sim.run_until(sim.clock.monotonic() + 5)
        with watching(sim, store):
            eventually(lambda: status_of(store, "shop", "web") is RolloutStatus.FAILED)
            sim.run_until(sim.clock.monotonic() + 10)
    assert status_of(store, "shop", "cart") is None
    store.close()


def test_an_unknown_role_exits_2_with_one_sentence(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "from deploy_assistant.watcher.cli import main; main()"]
    store_url = f"sqlite:///{tmp_path / 'cli.db'}"
    done = subprocess.run(
        [*command, "--roles", "watch,bogus", "--store-url", store_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "Unknown watcher role 'bogus'; use some of watch, ingest, analyze, notify."
    )
    assert "Traceback" not in done.stdout + done.stderr


def owned(kind: str, namespace: str, name: str, owner_uid: str | None) -> Packed:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{name}"}
    if owner_uid is not None:
        meta["ownerReferences"] = [{"kind": kind, "uid": owner_uid, "controller": True}]
    return pack({"metadata": meta, "status": {}})


def indexed_cluster() -> ClusterIndex:
    index = ClusterIndex(frozenset())
    for namespace in ("a", "b"):
        index.put_deployment(owned("", namespace, f"dep-{namespace}", None))
        rs = owned("Deployment", namespace, f"rs-{namespace}", f"uid-dep-{namespace}")
        index.apply(Change("replicasets", None, "ADDED", (rs,)))
        pod = owned("ReplicaSet", namespace, f"pod-{namespace}", f"uid-rs-{namespace}")
        index.apply(Change("pods", None, "ADDED", (pod,)))
    return index


def test_a_pod_change_points_at_its_deployment() -> None:
    index = indexed_cluster()
    pod = owned("ReplicaSet", "a", "pod-a2", "uid-rs-a")
    assert index.apply(Change("pods", None, "MODIFIED", (pod,))) == {("a", "dep-a")}
    replicasets, pods, _ = index.rollout_objects("uid-dep-a")
    assert [rs["metadata"]["name"] for rs in replicasets] == ["rs-a"]
    assert sorted(p["metadata"]["name"] for p in pods) == ["pod-a", "pod-a2"]


def test_a_relist_of_one_namespace_replaces_only_that_namespace() -> None:
    index = indexed_cluster()
    index.apply(Change("pods", "a", "SYNC", ()))
    assert index.rollout_objects("uid-dep-a")[1] == []
    assert [p["metadata"]["name"] for p in index.rollout_objects("uid-dep-b")[1]] == ["pod-b"]


def test_events_of_pods_that_never_appear_are_pruned() -> None:
    index = indexed_cluster()
    about = {"kind": "Pod", "uid": "uid-gone"}
    event = pack({"metadata": {"uid": "e1", "namespace": "a"}, "involvedObject": about})
    kept = pack(
        {"metadata": {"uid": "e2", "namespace": "a"}, "involvedObject": {"uid": "uid-pod-a"}}
    )
    index.apply(Change("events", None, "ADDED", (event, kept)))
    index.prune_events()
    assert "uid-gone" in index.events  # it may still arrive: pruned only on the next sweep
    index.prune_events()
    assert set(index.events) == {"uid-pod-a"}
