"""collect_raw_context against a loopback Kubernetes API: hand-built clusters and every scenario."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deploy_assistant.clock import ScaledClock
from deploy_assistant.kube.client import KubeClient
from deploy_assistant.kube.collect import collect_raw_context
from deploy_assistant.kube.revisions import find_new_replicaset, is_controlled_by, revision
from deploy_assistant.models import RawContext, RolloutStatus, Target, Verdict
from deploy_assistant.settings import KubeSettings, ReduceSettings
from deploy_assistant.sim import Simulator, list_scenarios, load_scenario
from deploy_assistant.sim.server import ApiServer
from deploy_assistant.sim.state import ClusterState, Obj
from deploy_assistant.snapshot import load_snapshot, write_snapshot

NS = "shop"
TARGET = Target(namespace=NS, deployment="web")
CLOCK = ScaledClock(speed=1.0, origin=datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
SPEED = 800.0
SETTINGS = ReduceSettings(log_bytes_per_container=64 * 1024, log_tail_lines=200, old_pod_sample=2)


class DeletingState(ClusterState):
    """Deletes one pod right after the pods are listed: a pod gone mid-collection."""

    doomed_pod: str | None = None

    def authorize(self, verb: str, plural: str, namespace: str | None, name: str = "") -> None:
        super().authorize(verb, plural, namespace, name)
        if self.doomed_pod and verb == "list" and plural == "events":
            pod, self.doomed_pod = self.doomed_pod, None
            self.delete("pods", NS, pod)


def template(image: str, hash_: str | None = None) -> Obj:
    labels = {"app": "web", **({"pod-template-hash": hash_} if hash_ else {})}
    return {
        "metadata": {"labels": labels},
        "spec": {
            "initContainers": [{"name": "migrate", "image": "migrate:1"}],
            "containers": [
                {
                    "name": "app",
                    "image": image,
                    "env": [{"name": "DB_PASSWORD", "value": "pa55word"}],
                    "resources": {"limits": {"memory": "512Mi" if image == "web:1" else "128Mi"}},
                },
                {"name": "sidecar", "image": "envoy:1"},
            ],
        },
    }


def owner(obj: Obj) -> list[Obj]:
    meta = obj["metadata"]
    return [{"kind": obj["kind"], "name": meta["name"], "uid": meta["uid"], "controller": True}]


def container_status(name: str, **state: Any) -> Obj:
    return {"name": name, "ready": False, "restartCount": 0, **state}


def pod(rs: Obj, name: str, *, ready: bool, statuses: list[Obj], init: list[Obj]) -> Obj:
    return {
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": rs["spec"]["template"]["metadata"]["labels"],
            "ownerReferences": owner(rs),
        },
        "spec": {**rs["spec"]["template"]["spec"], "nodeName": "node-1"},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": statuses,
            "initContainerStatuses": init,
        },
    }


def build_cluster(state: ClusterState) -> None:
    dep = state.create(
        "deployments",
        {
            "metadata": {
                "name": "web",
                "namespace": NS,
                "annotations": {"deployment.kubernetes.io/revision": "2"},
            },
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template("web:2")},
        },
    )
    replicasets = {}
    for hash_, image, rev in (("aaa", "web:1", "1"), ("bbb", "web:2", "2")):
        replicasets[hash_] = state.create(
            "replicasets",
            {
                "metadata": {
                    "name": f"web-{hash_}",
                    "namespace": NS,
                    "labels": {"app": "web", "pod-template-hash": hash_},
                    "annotations": {"deployment.kubernetes.io/revision": rev},
                    "ownerReferences": owner(dep),
                },
                "spec": {"template": template(image, hash_)},
            },
        )
    done_init = [container_status("migrate", state={"terminated": {"exitCode": 0}})]
    crashing = state.create(
        "pods",
        pod(
            replicasets["bbb"],
            "web-bbb-crash",
            ready=False,
            statuses=[
                container_status(
                    "app",
                    restartCount=3,
                    state={"waiting": {"reason": "CrashLoopBackOff"}},
                    lastState={"terminated": {"exitCode": 1, "reason": "Error"}},
                ),
                container_status("sidecar", ready=True, state={"running": {}}),
            ],
            init=done_init,
        ),
    )
    state.create(
        "pods",
        pod(
            replicasets["bbb"],
            "web-bbb-creating",
            ready=False,
            statuses=[container_status("app", state={"waiting": {"reason": "ContainerCreating"}})],
            init=[container_status("migrate", state={"running": {}})],
        ),
    )
    running = [container_status("app", ready=True, state={"running": {}})]
    for suffix in ("x", "y", "z"):
        state.create(
            "pods",
            pod(
                replicasets["aaa"],
                f"web-aaa-{suffix}",
                ready=True,
                statuses=running,
                init=done_init,
            ),
        )
    stranger = pod(replicasets["aaa"], "web-foreign", ready=True, statuses=running, init=done_init)
    stranger["metadata"]["ownerReferences"] = [
        {"kind": "ReplicaSet", "uid": "other", "controller": True}
    ]
    state.create("pods", stranger)
    state.create(
        "nodes",
        {
            "metadata": {
                "name": "node-1",
                "labels": {"zone": "a"},
                "annotations": {"big": "x" * 500},
            },
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "allocatable": {"memory": "8Gi"},
                "images": [{"names": ["huge"], "sizeBytes": 1}] * 50,
            },
        },
    )
    state.record_event(
        dep,
        "ScalingReplicaSet",
        "Scaled up replica set web-bbb to 2",
        component="deployment-controller",
    )
    state.record_event(
        replicasets["bbb"],
        "SuccessfulCreate",
        "Created pod: web-bbb-crash",
        component="replicaset-controller",
    )
    for _ in range(3):
        state.record_event(
            crashing, "BackOff", "Back-off restarting failed container app", type="Warning"
        )
    state.write_log(NS, "web-bbb-crash", "app", "starting\npanic: cannot connect to db\n")
    state.restart_log(NS, "web-bbb-crash", "app")
    state.write_log(NS, "web-bbb-crash", "app", "starting again\x00\x1b[31mred\x1b[0m ✗\n")
    state.write_log(NS, "web-bbb-crash", "sidecar", "envoy ready\n")
    state.write_log(NS, "web-aaa-x", "app", "serving\n")


@pytest.fixture
def cluster() -> Iterator[tuple[DeletingState, KubeClient]]:
    state = DeletingState(CLOCK)
    build_cluster(state)
    with ApiServer(state) as server:
        client = KubeClient.from_settings(
            KubeSettings(api_url=server.url, request_timeout_seconds=5)
        )
        yield state, client
        client.close()


def collect(client: KubeClient, settings: ReduceSettings = SETTINGS) -> RawContext:
    return collect_raw_context(
        client, TARGET, verdict=None, git=None, cluster="sim", clock=CLOCK, settings=settings
    )


def names(objects: tuple[Obj, ...]) -> list[str]:
    return [str(obj["metadata"]["name"]) for obj in objects]


def test_collects_revisions_pods_diff_and_trimmed_nodes(
    cluster: tuple[DeletingState, KubeClient],
) -> None:
    raw = collect(cluster[1])
    assert raw.missing == ()
    assert names(raw.replicasets) == ["web-bbb", "web-aaa"]
    assert names(raw.pods) == ["web-bbb-crash", "web-bbb-creating", "web-aaa-x", "web-aaa-y"]
    assert [(c.field, c.before, c.after) for c in raw.rollout_diff] == [
        ("container/app.image", "web:1", "web:2"),
        ("container/app.resources.limits.memory", "512Mi", "128Mi"),
    ]
    assert raw.nodes == (
        {
            "kind": "Node",
            "metadata": {"name": "node-1", "labels": {"zone": "a"}},
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "allocatable": {"memory": "8Gi"},
            },
        },
    )


def test_logs_current_previous_and_only_for_containers_that_ran(
    cluster: tuple[DeletingState, KubeClient],
) -> None:
    raw = collect(cluster[1])
    logs = {(e.pod, e.container, e.previous, e.init): e for e in raw.logs}
    assert set(logs) == {
        ("web-bbb-crash", "app", False, False),
        ("web-bbb-crash", "app", True, False),
        ("web-bbb-crash", "sidecar", False, False),
        ("web-bbb-creating", "migrate", False, True),
        ("web-aaa-x", "app", False, False),
        ("web-aaa-y", "app", False, False),
    }
    assert "panic: cannot connect to db" in logs[("web-bbb-crash", "app", True, False)].text
    assert "\x00" in logs[("web-bbb-crash", "app", False, False)].text


def test_events_from_both_apis_are_deduplicated_in_core_shape(
    cluster: tuple[DeletingState, KubeClient],
) -> None:
    raw = collect(cluster[1])
    assert sorted(e["reason"] for e in raw.events) == [
        "BackOff",
        "ScalingReplicaSet",
        "SuccessfulCreate",
    ]
    backoff = next(e for e in raw.events if e["reason"] == "BackOff")
    assert backoff["count"] == 3
    assert all("involvedObject" in e and "regarding" not in e for e in raw.events)


def test_forbidden_logs_and_nodes_become_sentences(
    cluster: tuple[DeletingState, KubeClient],
) -> None:
    state, client = cluster
    state.deny("log", "pods", NS)
    state.deny("get", "nodes")
    raw = collect(client)
    assert raw.logs == ()
    assert raw.nodes == ()
    assert len(raw.missing) == 3
    assert raw.missing[0].startswith("The log of container ")
    assert "forbidden by RBAC" in raw.missing[0]
    assert raw.missing[1].startswith("Node node-1 could not be read: forbidden by RBAC")
    assert raw.missing[2] == "5 more log reads were skipped after the first was refused."
    assert len(raw.events) == 3


def test_pod_deleted_mid_collection_is_noted(cluster: tuple[DeletingState, KubeClient]) -> None:
    state, client = cluster
    state.doomed_pod = "web-bbb-crash"
    raw = collect(client)
    assert "web-bbb-crash" in names(raw.pods)
    assert not [e for e in raw.logs if e.pod == "web-bbb-crash"]
    assert len(raw.missing) == 1
    assert "pod web-bbb-crash" in raw.missing[0]
    assert "not found" in raw.missing[0]


def test_ten_megabyte_single_line_is_bounded(cluster: tuple[DeletingState, KubeClient]) -> None:
    state, client = cluster
    state.write_log(NS, "web-bbb-crash", "sidecar", "é" * (5 * 1024 * 1024))
    raw = collect(client)
    entry = next(e for e in raw.logs if e.container == "sidecar")
    assert entry.truncated
    assert len(entry.text.encode()) <= SETTINGS.log_bytes_per_container


def test_missing_deployment_is_noted_not_raised(cluster: tuple[DeletingState, KubeClient]) -> None:
    raw = collect_raw_context(
        cluster[1],
        Target(namespace=NS, deployment="ghost"),
        verdict=None,
        git=None,
        cluster=None,
        clock=CLOCK,
        settings=SETTINGS,
    )
    assert raw.deployment is None
    assert raw.missing == (raw.missing[0],)
    assert raw.missing[0].startswith("Deployment shop/ghost could not be read: not found")


def test_unreachable_cluster_stops_after_one_sentence() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = KubeClient.from_settings(
        KubeSettings(api_url=f"http://127.0.0.1:{port}", request_timeout_seconds=2)
    )
    try:
        raw = collect(client)
    finally:
        client.close()
    assert raw.deployment is None
    assert len(raw.missing) == 1
    assert "nor anything after it" in raw.missing[0]


def test_collected_snapshot_round_trips(
    cluster: tuple[DeletingState, KubeClient], tmp_path: Path
) -> None:
    raw = collect(cluster[1])
    path = tmp_path / "web.json.gz"
    write_snapshot(raw, path)
    assert load_snapshot(path) == raw


def test_api_error_becomes_a_sentence(cluster: tuple[DeletingState, KubeClient]) -> None:
    state, client = cluster
    state.fail_requests(1, 503)
    raw = collect(client)
    assert raw.deployment is None
    assert raw.missing == (
        "Deployment shop/web could not be read: the API answered 503 "
        "(the server is currently unable to handle the request).",
    )


# --- every bundled scenario, run to its end -------------------------------------------------------


@pytest.mark.parametrize("name", list_scenarios())
def test_every_scenario_collects_and_round_trips(name: str, tmp_path: Path) -> None:
    scenario = load_scenario(name)
    with Simulator(scenario, speed=SPEED) as sim:
        sim.run_until(scenario.duration_seconds)
        client = KubeClient.from_settings(KubeSettings(api_url=sim.url))
        try:
            collected = [
                collect_raw_context(
                    client,
                    Target(namespace=ns, deployment=dep),
                    verdict=None,
                    git=None,
                    cluster="sim",
                    clock=sim.clock,
                    settings=ReduceSettings(),
                )
                for ns, dep in scenario.targets
            ]
        finally:
            client.close()
    for index, raw in enumerate(collected):
        path = tmp_path / f"{index}.json.gz"
        write_snapshot(raw, path)
        assert load_snapshot(path) == raw
        assert all(note.endswith(".") and "\n" not in note for note in raw.missing)
        assert (raw.deployment is None) == scenario.expect.end_state.deleted
        if raw.deployment is None:
            continue
        new_rs = raw.replicasets[0]
        assert find_new_replicaset(raw.deployment, raw.replicasets) == new_rs
        assert revision(new_rs) == revision(raw.deployment)
        assert all(is_controlled_by(rs, raw.deployment) for rs in raw.replicasets)
        if len(raw.replicasets) == 2:
            assert (revision(raw.replicasets[1]) or 0) < (revision(new_rs) or 0)
            assert raw.rollout_diff or name == "noop-reapply"
        if index == 0 and scenario.expect.end_state.pods.get("min_restarts"):
            # Restarted containers of the new ReplicaSet's pods have their previous log read.
            restarted = {entry.pod for entry in raw.logs if entry.previous}
            new_pods = {p["metadata"]["name"] for p in raw.pods if is_controlled_by(p, new_rs)}
            assert restarted
            assert restarted <= new_pods


def test_forbidden_logs_on_a_crash_loop_scenario() -> None:
    scenario = load_scenario("crash-loop")
    namespace, deployment = scenario.targets[0]
    with Simulator(scenario, speed=SPEED) as sim:
        sim.run_until(scenario.duration_seconds)
        sim.state.deny("log", "pods", namespace)
        client = KubeClient.from_settings(KubeSettings(api_url=sim.url))
        try:
            raw = collect_raw_context(
                client,
                Target(namespace=namespace, deployment=deployment),
                verdict=None,
                git=None,
                cluster=None,
                clock=sim.clock,
                settings=ReduceSettings(),
            )
        finally:
            client.close()
    assert raw.logs == ()
    assert raw.pods
    assert raw.events
    assert "forbidden by RBAC" in raw.missing[0]
    assert raw.missing[-1].endswith("more log reads were skipped after the first was refused.")


def test_many_new_pods_bound_the_detail_reads_verdict_pod_first(
    cluster: tuple[DeletingState, KubeClient],
) -> None:
    state, client = cluster
    new_rs = state.get("replicasets", NS, "web-bbb")
    assert new_rs is not None
    running = [container_status("app", ready=True, state={"running": {}})]
    for index in range(11):
        state.create(
            "pods", pod(new_rs, f"web-bbb-{index:02}", ready=False, statuses=running, init=[])
        )
    verdict = Verdict(status=RolloutStatus.FAILED, pod="web-bbb-crash")
    raw = collect_raw_context(
        client, TARGET, verdict=verdict, git=None, cluster=None, clock=CLOCK, settings=SETTINGS
    )
    assert len([p for p in raw.pods if p["metadata"]["name"].startswith("web-bbb-")]) == 13
    assert raw.missing == (
        "Events and logs of 3 more new pods were not read (only 10, failing ones first).",
    )
    assert any(entry.pod == "web-bbb-crash" and entry.previous for entry in raw.logs)


def test_forbidden_events_are_noted_once_per_api(cluster: tuple[DeletingState, KubeClient]) -> None:
    state, client = cluster
    state.deny("list", "events", NS)
    raw = collect(client)
    assert raw.events == ()
    assert [note.split(" could not be read: ")[0] for note in raw.missing] == [
        "The events of Deployment web",
        "The events.k8s.io events of Deployment web",
        "6 more event reads were skipped after the first was refused.",
    ]
    assert "forbidden by RBAC" in raw.missing[0]
    assert len(raw.logs) == 6
