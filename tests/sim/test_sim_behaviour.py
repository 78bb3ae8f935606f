"""The simulator's cluster model, observed the way the tool observes it: the official kubernetes
client over HTTP, with times read from the objects (virtual time), never from the wall clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from kubernetes import client, watch

from deploy_assistant.sim import Scenario, Simulator, load_scenario

WATCH_SECONDS = 300


def _api(sim: Simulator) -> Any:
    """An official client for the simulator (typed as Any: the client's own types are partial)."""
    configuration = client.Configuration()
    configuration.host = sim.url
    return client.ApiClient(configuration)


def _events(func: Any, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Watch events from the official client's `Watch.stream`."""
    watch_type: Any = watch.Watch
    yield from watch_type().stream(func, *args, timeout_seconds=WATCH_SECONDS, **kwargs)


@pytest.fixture
def crash_loop() -> Iterator[tuple[Simulator, Any]]:
    with Simulator(load_scenario("crash-loop"), speed=100.0) as sim:
        api = _api(sim)
        yield sim, api
        api.close()


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


def test_crash_loop_back_off_is_immediate_then_10_20_40_seconds(
    crash_loop: tuple[Simulator, Any],
) -> None:
    sim, api = crash_loop
    core: Any = client.CoreV1Api(api)
    starts: dict[int, float] = {}
    finishes: dict[int, float] = {}
    stream = _events(
        core.list_namespaced_pod,
        "shop",
        label_selector="app=web",
        resource_version=sim.apply_resource_version,
    )
    for event in stream:
        pod: Any = event["object"]
        if (
            pod.metadata.labels.get("pod-template-hash") is None
            or not pod.status.container_statuses
        ):
            continue
        status = pod.status.container_statuses[0]
        if not status.image.endswith(":v2"):
            continue
        if status.state.running is not None:
            starts[status.restart_count] = _seconds(status.state.running.started_at)
        if status.state.terminated is not None:
            finishes[status.restart_count] = _seconds(status.state.terminated.finished_at)
        last = status.last_state.terminated
        if last is not None:
            # restartCount grows when the next run starts: during back-off, lastState is this run.
            run = status.restart_count - (0 if status.state.waiting is not None else 1)
            finishes[run] = _seconds(last.finished_at)
        if 4 in starts:
            break
    gaps = [starts[k + 1] - finishes[k] for k in range(4)]
    assert gaps[0] <= 2.0  # the first restart is immediate (no back-off entry yet)
    assert gaps[1:] == pytest.approx([10.0, 20.0, 40.0], abs=1.5)


def test_pod_status_is_complete_enough_for_the_typed_client(
    crash_loop: tuple[Simulator, Any],
) -> None:
    sim, api = crash_loop
    sim.run_until(30)
    core: Any = client.CoreV1Api(api)
    pods = core.list_namespaced_pod("shop").items
    reasons = {
        (s.state.waiting.reason if s.state.waiting else None)
        for pod in pods
        for s in pod.status.container_statuses or []
    }
    assert "CrashLoopBackOff" in reasons
    events = core.list_namespaced_event("shop").items
    backoff = [e for e in events if e.reason == "BackOff"]
    assert backoff
    assert backoff[0].message.startswith("Back-off restarting failed container app in pod web-")
    assert backoff[0].count >= 2


def _rolling_scenario() -> Scenario:
    container = {
        "name": "app",
        "image": "registry.example.com/shop/web:{v}",
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 2},
    }

    def manifest(version: str) -> dict[str, Any]:
        image = dict(container, image=str(container["image"]).format(v=version))
        return {
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "replicas": 4,
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1},
                },
                "template": {"spec": {"containers": [image]}},
            },
        }

    return Scenario.model_validate(
        {
            "name": "rolling",
            "description": "rolling update bounds",
            "cluster": {"nodes": [{"name": "node", "count": 3}]},
            "applies": [
                {"at": -300, "manifest": manifest("v1")},
                {"at": 0, "manifest": manifest("v2")},
            ],
            "images": {
                "registry.example.com/shop/web:v2": {
                    "pull": {"after": 3},
                    "run": {"ready_after": 4},
                }
            },
            "expect": {"verdict": "SUCCEEDED"},
        }
    )


def _ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def test_rolling_update_stays_within_max_surge_and_max_unavailable() -> None:
    with Simulator(_rolling_scenario(), speed=100.0) as sim:
        api = _api(sim)
        core: Any = client.CoreV1Api(api)
        pods: dict[str, Any] = {}
        most_pods, fewest_ready = 0, 99
        # Replay from the very first change so the pod map is exact at every resourceVersion.
        stream = _events(core.list_namespaced_pod, "shop", resource_version="1")
        for event in stream:
            pod = event["object"]
            if event["type"] == "DELETED":
                pods.pop(pod.metadata.name, None)
            else:
                pods[pod.metadata.name] = pod
            if int(pod.metadata.resource_version) <= int(sim.apply_resource_version):
                continue
            live = [p for p in pods.values() if p.metadata.deletion_timestamp is None]
            most_pods = max(most_pods, len(live))
            fewest_ready = min(fewest_ready, sum(1 for p in live if _ready(p)))
            new_ready = [
                p for p in live if _ready(p) and p.spec.containers[0].image.endswith(":v2")
            ]
            if len(new_ready) == 4 and len(live) == 4:
                break
        api.close()
    assert most_pods == 5  # replicas + maxSurge, reached but never passed
    assert fewest_ready == 3  # replicas - maxUnavailable


def test_progress_deadline_fires_deadline_seconds_after_the_last_progress() -> None:
    with Simulator(load_scenario("readiness-never-passes"), speed=100.0) as sim:
        api = _api(sim)
        apps: Any = client.AppsV1Api(api)
        last_progress: datetime | None = None
        fired: Any = None
        stream = _events(
            apps.list_namespaced_deployment,
            "comms",
            field_selector="metadata.name=notifications",
            resource_version=sim.apply_resource_version,
        )
        for event in stream:
            conditions = event["object"].status.conditions or []
            progressing = next(c for c in conditions if c.type == "Progressing")
            if progressing.reason == "ProgressDeadlineExceeded":
                fired = progressing
                break
            last_progress = progressing.last_update_time
        api.close()
    assert last_progress is not None
    assert fired is not None
    assert fired.status == "False"
    assert (
        fired.message
        == 'ReplicaSet "' + fired.message.split('"')[1] + '" has timed out progressing.'
    )
    waited = (fired.last_update_time - last_progress).total_seconds()
    assert 120 < waited <= 122


def test_observed_generation_lags_the_apply_by_the_controller_delay() -> None:
    scenario = load_scenario("crash-loop")
    with Simulator(scenario, speed=100.0, observe_delay_seconds=5.0) as sim:
        api = _api(sim)
        apps: Any = client.AppsV1Api(api)
        stream = _events(
            apps.list_namespaced_deployment, "shop", resource_version=sim.apply_resource_version
        )
        seen = []
        for event in stream:
            deployment = event["object"]
            seen.append(deployment)
            if deployment.status.observed_generation == deployment.metadata.generation:
                break
        api.close()
    applied, observed = seen[0], seen[-1]
    assert (applied.metadata.generation, applied.status.observed_generation) == (2, 1)
    assert observed.metadata.generation == 2
    progressing = next(c for c in observed.status.conditions if c.type == "Progressing")
    lag_seconds = (progressing.last_update_time - sim.clock.moment(0.0)).total_seconds()
    assert 5.0 <= lag_seconds <= 6.0


def test_rollback_reuses_the_old_replicaset_as_the_newest_revision() -> None:
    with Simulator(load_scenario("rollback-to-old-replicaset"), speed=200.0) as sim:
        sim.run_until(40)
        api = _api(sim)
        apps: Any = client.AppsV1Api(api)
        deployment = apps.read_namespaced_deployment("web", "shop")
        sets = apps.list_namespaced_replica_set("shop").items
        api.close()
    assert len(sets) == 2  # no third ReplicaSet: v1's was reused
    by_image = {rs.spec.template.spec.containers[0].image: rs for rs in sets}
    v1 = by_image["registry.example.com/shop/web:v1"]
    annotations = v1.metadata.annotations
    assert annotations["deployment.kubernetes.io/revision"] == "3"
    assert annotations["deployment.kubernetes.io/revision-history"] == "1"
    assert deployment.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    assert v1.spec.replicas == 3
    assert by_image["registry.example.com/shop/web:v2"].spec.replicas == 0


def test_a_finished_rollout_leaves_nothing_scheduled() -> None:
    # Once the last progress-deadline re-check (600 s after the last progress) has run, a
    # finished cluster of 6 pods costs nothing: no timers, no callbacks.
    with Simulator(load_scenario("several-deployments"), speed=1000.0) as sim:
        sim.run_until(700)
        pending = sim.engine.pending()
        ran = sim.engine.callbacks_run
        sim.run_until(760)
        ran_while_idle = sim.engine.callbacks_run - ran
        errors = list(sim.engine.errors)
    assert errors == []
    assert pending == 0
    assert ran_while_idle == 0
