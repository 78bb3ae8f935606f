"""The simulated API server, driven through the official kubernetes client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import urllib3
from kubernetes import client, watch

from deploy_assistant.clock import ScaledClock
from deploy_assistant.sim.server import ApiServer, go_bool, validate_workload
from deploy_assistant.sim.state import ApiError, ClusterState, deletion_grace_seconds

ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
# The client's models type every field Optional and `watch` is untyped; tests read them as Any.
Watch: Any = watch.Watch
REQUEST_TIMEOUT = 10


class SteppedClock:
    """A clock that moves only when told, so log timestamps are exact."""

    def __init__(self) -> None:
        self.moment = ORIGIN

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return (self.moment - ORIGIN).total_seconds()

    def sleep(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)

    def to_real_seconds(self, seconds: float) -> float:
        return seconds


class Cluster:
    """A state, its server and typed API clients."""

    def __init__(self, state: ClusterState, server: ApiServer) -> None:
        self.state = state
        self.server = server
        self.api_client: Any = client.ApiClient(client.Configuration(host=server.url))
        self.apps: Any = client.AppsV1Api(self.api_client)
        self.core: Any = client.CoreV1Api(self.api_client)
        self.events: Any = client.EventsV1Api(self.api_client)


def deployment(name: str, images: dict[str, str] | None = None) -> dict[str, Any]:
    containers = [{"name": c, "image": i} for c, i in (images or {"app": f"{name}:1"}).items()]
    return {
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}},
        },
        "status": {"replicas": 2, "unavailableReplicas": 1},
    }


def pod(
    name: str, app: str = "web", phase: str = "Running", containers: tuple[str, ...] = ("app",)
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": app}},
        "spec": {
            "nodeName": "node-a",
            "containers": [{"name": c, "image": "img:1"} for c in containers],
        },
        "status": {
            "phase": phase,
            "containerStatuses": [
                {
                    "name": c,
                    "image": "img:1",
                    "imageID": "",
                    "ready": False,
                    "restartCount": 1,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
                }
                for c in containers
            ],
        },
    }


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def cluster(clock: SteppedClock) -> Iterator[Cluster]:
    state = ClusterState(clock)
    with ApiServer(state, watch_time_scale=10, bookmark_interval_seconds=0.05) as server:
        sim = Cluster(state, server)
        yield sim
        sim.api_client.close()


def status_of(error: client.ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.body or "{}")
    return body


# -- reads ------------------------------------------------------------------------------------


def test_typed_lists_deserialize_every_kind(cluster: Cluster) -> None:
    state = cluster.state
    state.create("namespaces", {"metadata": {"name": "shop"}})
    state.create("nodes", {"metadata": {"name": "node-a"}, "status": {"allocatable": {"cpu": "2"}}})
    state.create("deployments", deployment("web"))
    state.create(
        "replicasets",
        {
            **deployment("web-abc"),
            "metadata": {"name": "web-abc", "namespace": "shop", "labels": {"app": "web-abc"}},
        },
    )
    state.create("pods", pod("web-1"))
    state.create(
        "configmaps", {"metadata": {"name": "cfg", "namespace": "shop"}, "data": {"k": "v"}}
    )
    state.create("secrets", {"metadata": {"name": "s", "namespace": "shop"}, "type": "Opaque"})
    state.create(
        "persistentvolumeclaims", {"metadata": {"name": "data", "namespace": "shop"}, "spec": {}}
    )
    state.create(
        "resourcequotas",
        {"metadata": {"name": "q", "namespace": "shop"}, "spec": {"hard": {"pods": "4"}}},
    )
    state.record_event(state.get("pods", "shop", "web-1") or {}, "Pulled", "pulled", host="node-a")

    deployments = cluster.apps.list_namespaced_deployment("shop")
    assert deployments.items[0].status.unavailable_replicas == 1
    assert deployments.items[0].metadata.creation_timestamp == ORIGIN
    assert int(deployments.metadata.resource_version) == state.resource_version
    assert cluster.apps.list_namespaced_replica_set("shop").items[0].metadata.generation == 1
    pods = cluster.core.list_namespaced_pod("shop").items
    assert pods[0].status.container_statuses[0].last_state.terminated.exit_code == 1
    assert cluster.core.list_namespace().items[0].metadata.name == "shop"
    assert cluster.core.read_namespace("shop").metadata.uid
    assert cluster.core.read_node("node-a").metadata.name == "node-a"
    assert cluster.core.list_node().items[0].status.allocatable == {"cpu": "2"}
    assert cluster.core.list_namespaced_config_map("shop").items[0].data == {"k": "v"}
    assert cluster.core.list_namespaced_secret("shop").items[0].type == "Opaque"
    assert (
        cluster.core.list_namespaced_persistent_volume_claim("shop").items[0].metadata.name
        == "data"
    )
    assert cluster.core.list_namespaced_resource_quota("shop").items[0].spec.hard == {"pods": "4"}
    event = cluster.core.list_namespaced_event("shop").items[0]
    assert (event.involved_object.kind, event.source.host, event.count) == ("Pod", "node-a", 1)


def test_read_by_name_and_status_subresource(cluster: Cluster) -> None:
    created = cluster.state.create("deployments", deployment("web"))
    read = cluster.apps.read_namespaced_deployment("web", "shop")
    assert read.metadata.uid == created["metadata"]["uid"]
    assert read.spec.template.spec.containers[0].image == "web:1"
    assert cluster.apps.read_namespaced_deployment_status("web", "shop").status.replicas == 2


def test_missing_object_is_a_404_status(cluster: Cluster) -> None:
    with pytest.raises(client.ApiException) as caught:
        cluster.apps.read_namespaced_deployment("nope", "shop")
    assert caught.value.status == 404
    body = status_of(caught.value)
    assert body["kind"] == "Status"
    assert body["reason"] == "NotFound"
    assert body["message"] == 'deployments.apps "nope" not found'
    assert body["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}


def test_label_selectors_filter_lists(cluster: Cluster) -> None:
    cluster.state.create("pods", pod("web-1", app="web"))
    cluster.state.create("pods", pod("db-1", app="db"))
    other = pod("web-9")
    other["metadata"]["namespace"] = "other"
    cluster.state.create("pods", other)

    def names(**kwargs: Any) -> list[str]:
        return [p.metadata.name for p in cluster.core.list_pod_for_all_namespaces(**kwargs).items]

    assert names(label_selector="app in (web)") == ["web-9", "web-1"]
    assert names(label_selector="app!=web") == ["db-1"]
    assert names(label_selector="!app") == []
    assert [
        p.metadata.name
        for p in cluster.core.list_namespaced_pod("shop", label_selector="app").items
    ] == [
        "db-1",
        "web-1",
    ]


def test_field_selectors_filter_pods_and_events(cluster: Cluster) -> None:
    web = cluster.state.create("pods", pod("web-1"))
    cluster.state.create("pods", pod("web-2", phase="Pending"))
    cluster.state.record_event(
        web, "BackOff", "Back-off restarting failed container app", type="Warning"
    )
    cluster.state.create(
        "events",
        {
            "metadata": {"name": "x.1", "namespace": "shop"},
            "involvedObject": {"name": "web-2"},
            "reason": "Scheduled",
        },
    )

    pending = cluster.core.list_namespaced_pod("shop", field_selector="status.phase!=Running").items
    assert [p.metadata.name for p in pending] == ["web-2"]
    assert (
        cluster.core.list_namespaced_pod("shop", field_selector="spec.nodeName=node-b").items == []
    )
    events = cluster.core.list_namespaced_event(
        "shop",
        field_selector=f"involvedObject.uid={web['metadata']['uid']},involvedObject.kind=Pod",
    ).items
    assert [e.reason for e in events] == ["BackOff"]


def test_bad_selector_is_a_400(cluster: Cluster) -> None:
    with pytest.raises(client.ApiException) as caught:
        cluster.core.list_namespaced_pod("shop", label_selector="app in web")
    assert caught.value.status == 400


# -- writes -----------------------------------------------------------------------------------


def test_create_deployment_fills_server_fields(cluster: Cluster) -> None:
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels={"app": "web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "web"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="web:1")]),
            ),
        ),
    )
    created = cluster.apps.create_namespaced_deployment("shop", body)
    assert created.metadata.generation == 1
    assert created.metadata.namespace == "shop"
    assert created.metadata.uid
    assert cluster.state.requests[-1][0:2] == ("POST", "/apis/apps/v1/namespaces/shop/deployments")
    with pytest.raises(client.ApiException) as caught:
        cluster.apps.create_namespaced_deployment("shop", body)
    assert (caught.value.status, status_of(caught.value)["reason"]) == (409, "AlreadyExists")


def test_deployment_whose_selector_misses_its_template_is_a_422(cluster: Cluster) -> None:
    mismatched = deployment("api")
    mismatched["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(client.ApiException) as caught:
        cluster.apps.create_namespaced_deployment("shop", mismatched)
    assert (caught.value.status, status_of(caught.value)["reason"]) == (422, "Invalid")
    assert status_of(caught.value)["message"] == (
        'Deployment.apps "api" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"api"}: `selector` does not match template `labels`'
    )
    cluster.state.create("deployments", deployment("web"))
    relabel = {"spec": {"template": {"metadata": {"labels": {"app": "new"}}}}}
    with pytest.raises(client.ApiException) as caught:
        cluster.apps.patch_namespaced_deployment("web", "shop", relabel)
    assert caught.value.status == 422
    assert (cluster.state.get("deployments", "shop", "web") or {})["metadata"]["generation"] == 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda spec: spec.pop("selector"), "spec.selector: Required value"),
        (
            lambda spec: spec["template"]["spec"].pop("containers"),
            "spec.template.spec.containers: Required value",
        ),
        (
            lambda spec: spec["selector"].update(
                matchExpressions=[{"key": "tier", "operator": "Exists"}]
            ),
            "`selector` does not match template `labels`",
        ),
    ],
)
def test_workload_validation_names_the_invalid_field(edit: Any, message: str) -> None:
    body = deployment("web")
    edit(body["spec"])
    with pytest.raises(ApiError) as caught:
        validate_workload("deployments", body)
    assert caught.value.status == 422
    assert message in caught.value.message


def test_strategic_merge_patch_changes_one_container(cluster: Cluster) -> None:
    cluster.state.create("deployments", deployment("web", {"app": "web:1", "proxy": "envoy:1"}))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:2"}]}}}}
    patched = cluster.apps.patch_namespaced_deployment("web", "shop", patch)
    containers = [(c.name, c.image) for c in patched.spec.template.spec.containers]
    assert containers == [("app", "web:2"), ("proxy", "envoy:1")]
    assert patched.metadata.generation == 2
    assert cluster.state.requests[-1][0] == "PATCH"
    drop = {"spec": {"template": {"spec": {"containers": [{"name": "proxy", "$patch": "delete"}]}}}}
    dropped = cluster.apps.patch_namespaced_deployment("web", "shop", drop)
    assert [c.name for c in dropped.spec.template.spec.containers] == ["app"]


def test_merge_patch_replaces_lists_and_json_patch_edits_paths(cluster: Cluster) -> None:
    cluster.state.create("deployments", deployment("web", {"app": "web:1", "proxy": "envoy:1"}))
    merged = cluster.apps.patch_namespaced_deployment(
        "web",
        "shop",
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:3"}]}}}},
        _content_type="application/merge-patch+json",
    )
    assert [c.name for c in merged.spec.template.spec.containers] == ["app"]
    edited = cluster.apps.patch_namespaced_deployment(
        "web", "shop", [{"op": "replace", "path": "/spec/replicas", "value": 5}]
    )
    assert edited.spec.replicas == 5
    assert edited.metadata.generation == 3


def test_status_patch_does_not_bump_generation(cluster: Cluster) -> None:
    cluster.state.create("deployments", deployment("web"))
    patched = cluster.apps.patch_namespaced_deployment_status(
        "web", "shop", {"status": {"readyReplicas": 2}}
    )
    assert patched.status.ready_replicas == 2
    assert patched.metadata.generation == 1


def test_replace_bumps_generation_only_on_spec_change_and_detects_conflicts(
    cluster: Cluster,
) -> None:
    cluster.state.create("deployments", deployment("web"))
    current = cluster.apps.read_namespaced_deployment("web", "shop")
    current.metadata.labels["team"] = "shop"
    relabelled = cluster.apps.replace_namespaced_deployment("web", "shop", current)
    assert relabelled.metadata.generation == 1
    relabelled.spec.replicas = 4
    scaled = cluster.apps.replace_namespaced_deployment("web", "shop", relabelled)
    assert scaled.metadata.generation == 2
    with pytest.raises(client.ApiException) as caught:
        cluster.apps.replace_namespaced_deployment("web", "shop", relabelled)
    assert (caught.value.status, status_of(caught.value)["reason"]) == (409, "Conflict")


def test_delete_removes_the_object(cluster: Cluster) -> None:
    cluster.state.create("deployments", deployment("web"))
    status = cluster.apps.delete_namespaced_deployment("web", "shop")
    assert (status["kind"], status["status"]) == ("Status", "Success")
    assert cluster.state.get("deployments", "shop", "web") is None
    with pytest.raises(client.ApiException) as caught:
        cluster.apps.delete_namespaced_deployment("web", "shop")
    assert caught.value.status == 404


def test_denied_verb_is_a_403_with_the_real_wording(cluster: Cluster) -> None:
    cluster.state.deny("list", "pods", "shop")
    with pytest.raises(client.ApiException) as caught:
        cluster.core.list_namespaced_pod("shop")
    assert caught.value.status == 403
    assert status_of(caught.value)["message"] == (
        'pods is forbidden: User "system:serviceaccount:ci:deployer" cannot list resource "pods" '
        'in API group "" in the namespace "shop"'
    )
    assert cluster.core.list_namespaced_pod("other").items == []


def test_failed_requests_then_recovery(cluster: Cluster) -> None:
    cluster.server.fail_requests(2, status=503)
    for _ in range(2):
        with pytest.raises(client.ApiException) as caught:
            cluster.core.list_namespaced_pod("shop")
        assert caught.value.status == 503
    assert cluster.core.list_namespaced_pod("shop").items == []


# -- watch ------------------------------------------------------------------------------------


def later(action: Any, delay_seconds: float = 0.1) -> threading.Timer:
    timer = threading.Timer(delay_seconds, action)
    timer.start()
    return timer


def first_event(list_call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The first event of a watch (which is then stopped); fails if the watch ends empty."""
    stream = Watch()
    for event in stream.stream(
        list_call, *args, timeout_seconds=50, _request_timeout=REQUEST_TIMEOUT, **kwargs
    ):
        stream.stop()
        return dict(event)
    raise AssertionError("the watch ended without an event")


def test_watch_from_list_version_sees_added_modified_deleted(cluster: Cluster) -> None:
    state = cluster.state
    state.create("pods", pod("web-1"))
    listed = cluster.core.list_namespaced_pod("shop", label_selector="app=web")

    def changes() -> None:
        state.create("pods", pod("db-1", app="db"))
        state.create("pods", pod("web-2"))
        state.mutate("pods", "shop", "web-2", lambda p: p["status"].update(phase="Failed"))
        state.delete("pods", "shop", "web-2")

    later(changes)
    seen: list[tuple[str, str, str]] = []
    stream = Watch()
    for event in stream.stream(
        cluster.core.list_namespaced_pod,
        "shop",
        label_selector="app=web",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=50,
        _request_timeout=REQUEST_TIMEOUT,
    ):
        seen.append((event["type"], event["object"].metadata.name, event["object"].status.phase))
        if event["type"] == "DELETED":
            stream.stop()
    assert seen == [
        ("ADDED", "web-2", "Running"),
        ("MODIFIED", "web-2", "Failed"),
        ("DELETED", "web-2", "Failed"),
    ]
    assert int(stream.resource_version) == state.resource_version


def test_watch_without_version_starts_with_current_state(cluster: Cluster) -> None:
    cluster.state.create("deployments", deployment("web"))
    first = first_event(cluster.apps.list_namespaced_deployment, "shop")
    assert (first["type"], first["object"].metadata.name) == ("ADDED", "web")
    assert cluster.state.requests[-1][2]["watch"] == "true"


def test_object_leaving_the_selector_is_deleted_for_the_watcher(cluster: Cluster) -> None:
    cluster.state.create("pods", pod("web-1"))
    rv = cluster.core.list_namespaced_pod("shop").metadata.resource_version
    later(
        lambda: cluster.state.mutate(
            "pods", "shop", "web-1", lambda p: p["metadata"]["labels"].update(app="old")
        )
    )
    event = first_event(
        cluster.core.list_namespaced_pod, "shop", label_selector="app=web", resource_version=rv
    )
    assert (event["type"], event["object"].metadata.labels) == ("DELETED", {"app": "old"})


def test_watch_ends_by_itself_at_timeout_with_a_bookmark(cluster: Cluster) -> None:
    cluster.state.create("pods", pod("web-1"))
    rv = cluster.core.list_namespaced_pod("shop").metadata.resource_version
    types = [
        event["type"]
        for event in Watch().stream(
            cluster.core.list_namespaced_pod,
            "shop",
            resource_version=rv,
            timeout_seconds=2,
            allow_watch_bookmarks=True,
            _request_timeout=REQUEST_TIMEOUT,
        )
    ]
    assert types
    assert set(types) == {"BOOKMARK"}


def test_watch_time_scale_shortens_the_timeout(clock: SteppedClock) -> None:
    state = ClusterState(clock)
    with ApiServer(state, watch_time_scale=1000) as server:
        api_client: Any = client.ApiClient(client.Configuration(host=server.url))
        core: Any = client.CoreV1Api(api_client)
        events = list(
            Watch().stream(
                core.list_namespaced_pod,
                "shop",
                timeout_seconds=100,
                _request_timeout=REQUEST_TIMEOUT,
            )
        )
        api_client.close()
    assert events == []


def test_watch_from_compacted_version_is_410(cluster: Cluster) -> None:
    cluster.state.create("pods", pod("web-1"))
    rv = cluster.core.list_namespaced_pod("shop").metadata.resource_version
    cluster.state.create("pods", pod("web-2"))
    cluster.state.compact()
    with pytest.raises(client.ApiException) as caught:
        for _ in Watch().stream(
            cluster.core.list_namespaced_pod,
            "shop",
            resource_version=rv,
            timeout_seconds=50,
            _request_timeout=REQUEST_TIMEOUT,
        ):
            pass
    assert caught.value.status == 410
    assert "Expired" in str(caught.value.reason)


def test_cut_watches_drops_the_connection(cluster: Cluster) -> None:
    cluster.state.create("pods", pod("web-1"))

    def watch_and_cut() -> None:
        for _ in Watch().stream(
            cluster.core.list_namespaced_pod,
            "shop",
            timeout_seconds=300,
            _request_timeout=REQUEST_TIMEOUT,
        ):
            cluster.server.cut_watches()

    with pytest.raises(urllib3.exceptions.ProtocolError):
        watch_and_cut()
    assert cluster.core.list_namespaced_pod("shop").items[0].metadata.name == "web-1"


def test_stop_ends_open_watches_and_connections(clock: SteppedClock) -> None:
    state = ClusterState(clock)
    server = ApiServer(state).start()
    api_client: Any = client.ApiClient(client.Configuration(host=server.url))
    core: Any = client.CoreV1Api(api_client)
    state.create("pods", pod("web-1"))
    assert len(core.list_namespaced_pod("shop").items) == 1  # leaves an idle keep-alive connection
    started, ended = threading.Event(), threading.Event()

    def consume() -> None:
        for _ in Watch().stream(
            core.list_namespaced_pod, "shop", timeout_seconds=600, _request_timeout=REQUEST_TIMEOUT
        ):
            started.set()
        ended.set()

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    assert started.wait(REQUEST_TIMEOUT)
    server.stop()
    assert ended.wait(REQUEST_TIMEOUT)
    with pytest.raises(urllib3.exceptions.HTTPError):
        core.list_namespaced_pod("shop", _request_timeout=REQUEST_TIMEOUT)
    api_client.close()


# -- logs -------------------------------------------------------------------------------------


def test_logs_current_previous_and_limits(cluster: Cluster, clock: SteppedClock) -> None:
    state, core = cluster.state, cluster.core
    state.create("pods", pod("web-1"))
    state.write_log("shop", "web-1", "app", "booting\npanic: no config\n")
    state.restart_log("shop", "web-1", "app")
    state.write_log("shop", "web-1", "app", "booting again")
    clock.sleep(30)
    state.write_log("shop", "web-1", "app", "listening on :8080")

    assert core.read_namespaced_pod_log("web-1", "shop") == "booting again\nlistening on :8080\n"
    assert (
        core.read_namespaced_pod_log("web-1", "shop", previous=True, tail_lines=1)
        == "panic: no config\n"
    )
    assert (
        core.read_namespaced_pod_log("web-1", "shop", container="app", limit_bytes=7) == "booting"
    )
    assert core.read_namespaced_pod_log("web-1", "shop", since_seconds=10) == "listening on :8080\n"
    stamped = core.read_namespaced_pod_log("web-1", "shop", timestamps=True, tail_lines=1)
    assert stamped == "2026-01-01T00:00:30.000000000Z listening on :8080\n"
    raw = core.read_namespaced_pod_log("web-1", "shop", _preload_content=False)
    assert raw.headers["Content-Type"].startswith("text/plain")


def test_log_errors_match_the_api_server(cluster: Cluster) -> None:
    cluster.state.create("pods", pod("web-1"))
    cluster.state.create("pods", pod("two-1", containers=("app", "proxy")))
    with pytest.raises(client.ApiException) as caught:
        cluster.core.read_namespaced_pod_log("web-1", "shop", previous=True)
    assert caught.value.status == 400
    assert (
        status_of(caught.value)["message"]
        == 'previous terminated container "app" in pod "web-1" not found'
    )
    with pytest.raises(client.ApiException) as caught:
        cluster.core.read_namespaced_pod_log("two-1", "shop")
    assert status_of(caught.value)["message"] == (
        "a container name must be specified for pod two-1, choose one of: [app proxy]"
    )
    with pytest.raises(client.ApiException) as caught:
        cluster.core.read_namespaced_pod_log("gone", "shop")
    assert caught.value.status == 404


def test_denied_log_read_names_the_log_subresource(cluster: Cluster) -> None:
    cluster.state.create("pods", pod("web-1"))
    cluster.state.deny("log", "pods")
    with pytest.raises(client.ApiException) as caught:
        cluster.core.read_namespaced_pod_log("web-1", "shop")
    assert caught.value.status == 403
    assert status_of(caught.value)["message"] == (
        'pods "web-1" is forbidden: User "system:serviceaccount:ci:deployer" cannot get resource '
        '"pods/log" in API group "" in the namespace "shop"'
    )
    assert cluster.core.read_namespaced_pod("web-1", "shop").metadata.name == "web-1"


def test_log_follow_streams_new_lines_until_the_pod_goes(cluster: Cluster) -> None:
    state = cluster.state
    state.create("pods", pod("web-1"))
    state.write_log("shop", "web-1", "app", "one")

    def more() -> None:
        state.write_log("shop", "web-1", "app", "two")
        state.delete("pods", "shop", "web-1")

    later(more)
    lines = list(
        Watch().stream(
            cluster.core.read_namespaced_pod_log,
            "web-1",
            "shop",
            follow=True,
            _request_timeout=REQUEST_TIMEOUT,
        )
    )
    assert lines == ["one", "two"]


# -- events -----------------------------------------------------------------------------------


def test_events_v1_view_translates_core_events(cluster: Cluster) -> None:
    web = cluster.state.create("pods", pod("web-1"))
    for _ in range(3):
        cluster.state.record_event(
            web,
            "BackOff",
            "Back-off restarting failed container app",
            type="Warning",
            host="node-a",
        )
    listed = cluster.events.list_namespaced_event("shop", field_selector="regarding.name=web-1")
    (event,) = listed.items
    assert event.regarding.uid == web["metadata"]["uid"]
    assert (event.note, event.type, event.deprecated_count) == (
        "Back-off restarting failed container app",
        "Warning",
        3,
    )
    assert event.reporting_controller == "kubelet"
    assert event.event_time == ORIGIN
    assert (
        cluster.events.list_event_for_all_namespaces(field_selector="regarding.name=other").items
        == []
    )


def test_recorded_events_aggregate_and_name_like_the_recorder(cluster: Cluster) -> None:
    web = cluster.state.create("pods", pod("web-1"))
    first = cluster.state.record_event(
        web,
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
        type="Warning",
    )
    second = cluster.state.record_event(
        web,
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
        type="Warning",
    )
    other = cluster.state.record_event(
        web, "Unhealthy", "Liveness probe failed: timeout", type="Warning"
    )
    assert first["metadata"]["name"] == second["metadata"]["name"] != other["metadata"]["name"]
    assert first["metadata"]["name"].startswith("web-1.")
    assert second["count"] == 2
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    typed = cluster.core.read_namespaced_event(first["metadata"]["name"], "shop")
    assert typed.involved_object.resource_version == web["metadata"]["resourceVersion"]


def test_events_v1_watch_yields_typed_events(cluster: Cluster) -> None:
    web = cluster.state.create("pods", pod("web-1"))
    rv = cluster.events.list_namespaced_event("shop").metadata.resource_version
    later(
        lambda: cluster.state.record_event(
            web,
            "Pulling",
            'Pulling image "img:1"',
            host="node-a",
            field_path="spec.containers{app}",
        )
    )
    event = first_event(cluster.events.list_namespaced_event, "shop", resource_version=rv)
    assert event["type"] == "ADDED"
    assert event["object"].regarding.field_path == "spec.containers{app}"
    assert event["object"].reporting_instance == "node-a"


# -- state contract ---------------------------------------------------------------------------


def test_listeners_get_copies_and_unchanged_mutations_record_nothing(clock: SteppedClock) -> None:
    state = ClusterState(clock)
    seen: list[tuple[str, str, dict[str, Any]]] = []
    state.add_listener(lambda plural, kind, obj: seen.append((plural, kind, obj)))
    state.create("deployments", deployment("web"))
    version = state.resource_version
    state.mutate("deployments", "shop", "web", lambda d: d["spec"].update(replicas=2))
    assert state.resource_version == version
    state.mutate("deployments", "shop", "web", lambda d: d["spec"].update(replicas=3))
    seen[0][2]["spec"]["replicas"] = 99
    assert [(p, k) for p, k, _ in seen] == [("deployments", "ADDED"), ("deployments", "MODIFIED")]
    stored = state.get("deployments", "shop", "web") or {}
    assert (stored["spec"]["replicas"], stored["metadata"]["generation"]) == (3, 2)
    with pytest.raises(ApiError) as caught:
        state.mutate("deployments", "shop", "gone", lambda d: None)
    assert caught.value.status == 404


def test_history_is_bounded_and_older_versions_expire(clock: SteppedClock) -> None:
    state = ClusterState(clock, history_limit=3)
    for index in range(5):
        state.create("configmaps", {"metadata": {"name": f"c{index}"}})
    assert [rv for rv, _, _ in state.history_since("configmaps", 2)] == [3, 4, 5]
    with pytest.raises(ApiError) as caught:
        state.history_since("configmaps", 1)
    assert (caught.value.status, caught.value.reason) == (410, "Expired")
    deleted = state.delete("configmaps", "default", "c4")
    assert deleted["metadata"]["resourceVersion"] == "6"
    assert state.history_since("configmaps", 5) == [(6, "DELETED", deleted)]


def test_go_bool_parsing_accepts_both_client_spellings() -> None:
    assert all(go_bool(text, "watch") for text in ("True", "true", "1", "t"))
    assert not any(go_bool(text, "watch") for text in ("False", "false", "0", None))
    with pytest.raises(ApiError):
        go_bool("yes", "watch")


def test_scaled_clock_timestamps_are_api_timestamps() -> None:
    state = ClusterState(ScaledClock(speed=1, origin=ORIGIN))
    created = state.create("pods", pod("web-1"))
    assert created["metadata"]["creationTimestamp"].endswith("Z")
    assert created["metadata"]["resourceVersion"] == "1"


# -- graceful pod deletion --------------------------------------------------------------------


def terminable_pod(
    name: str, grace_seconds: int | None = 30, phase: str = "Running", bound: bool = True
) -> dict[str, Any]:
    obj = pod(name, phase=phase)
    if grace_seconds is not None:
        obj["spec"]["terminationGracePeriodSeconds"] = grace_seconds
    if not bound:
        del obj["spec"]["nodeName"]
    return obj


def test_api_delete_of_a_running_pod_waits_for_the_deletion_handler(cluster: Cluster) -> None:
    state = cluster.state
    handed: list[dict[str, Any]] = []
    state.add_deletion_handler(handed.append)
    state.create("pods", terminable_pod("web-1"))
    version = state.resource_version

    answered = cluster.core.delete_namespaced_pod("web-1", "shop")

    assert answered.metadata.deletion_timestamp == ORIGIN + timedelta(seconds=30)
    assert answered.metadata.deletion_grace_period_seconds == 30
    stored = state.get("pods", "shop", "web-1") or {}
    assert stored["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:30Z"
    assert [kind for _, kind, _ in state.history_since("pods", version)] == ["MODIFIED"]
    assert [p["metadata"]["deletionGracePeriodSeconds"] for p in handed] == [30]

    cluster.core.delete_namespaced_pod("web-1", "shop")  # a repeat keeps the first deadline
    assert len(handed) == 1
    assert state.resource_version == version + 1
    state.delete("pods", "shop", "web-1")  # the behaviour side finishes the deletion
    with pytest.raises(client.ApiException) as caught:
        cluster.core.read_namespaced_pod("web-1", "shop")
    assert caught.value.status == 404


def test_a_shorter_grace_period_moves_the_deadline_and_zero_forces(cluster: Cluster) -> None:
    state = cluster.state
    handed: list[dict[str, Any]] = []
    state.add_deletion_handler(handed.append)
    state.create("pods", terminable_pod("web-1"))
    cluster.core.delete_namespaced_pod("web-1", "shop")

    shortened = cluster.core.delete_namespaced_pod("web-1", "shop", grace_period_seconds=5)

    assert shortened.metadata.deletion_timestamp == ORIGIN + timedelta(seconds=5)
    assert [p["metadata"]["deletionGracePeriodSeconds"] for p in handed] == [30, 5]
    cluster.core.delete_namespaced_pod(
        "web-1", "shop", body=client.V1DeleteOptions(grace_period_seconds=0)
    )
    assert state.get("pods", "shop", "web-1") is None
    assert len(handed) == 2


@pytest.mark.parametrize(
    "obj",
    [
        terminable_pod("unbound", bound=False),
        terminable_pod("finished", phase="Succeeded"),
        terminable_pod("no-grace", grace_seconds=None),
        terminable_pod("zero-grace", grace_seconds=0),
    ],
    ids=["unscheduled", "succeeded", "no-grace-period", "zero-grace-period"],
)
def test_pods_that_cannot_terminate_gracefully_go_at_once(
    cluster: Cluster, obj: dict[str, Any]
) -> None:
    handed: list[dict[str, Any]] = []
    cluster.state.add_deletion_handler(handed.append)
    name = obj["metadata"]["name"]
    cluster.state.create("pods", obj)
    cluster.core.delete_namespaced_pod(name, "shop")
    assert cluster.state.get("pods", "shop", name) is None
    assert handed == []


def test_without_a_deletion_handler_api_delete_removes_running_pods_at_once(
    cluster: Cluster,
) -> None:
    cluster.state.create("pods", terminable_pod("web-1"))
    version = cluster.state.resource_version
    cluster.core.delete_namespaced_pod("web-1", "shop")
    assert cluster.state.get("pods", "shop", "web-1") is None
    assert [kind for _, kind, _ in cluster.state.history_since("pods", version)] == ["DELETED"]


def test_negative_grace_period_is_one_second_as_the_pod_strategy_rounds() -> None:
    running = terminable_pod("web-1")
    assert deletion_grace_seconds(running, -3) == 1
    assert deletion_grace_seconds(running, None) == 30
    assert deletion_grace_seconds(running, 7) == 7


def test_bad_grace_period_is_a_400(cluster: Cluster) -> None:
    cluster.state.create("pods", terminable_pod("web-1"))
    url = f"{cluster.server.url}/api/v1/namespaces/shop/pods/web-1"
    answer = urllib3.request("DELETE", url, body=b'{"gracePeriodSeconds": "soon"}', timeout=5)
    assert answer.status == 400
    query = urllib3.request("DELETE", url + "?gracePeriodSeconds=soon", timeout=5)
    assert query.status == 400
    assert cluster.state.get("pods", "shop", "web-1") is not None


# -- events.k8s.io/v1 field selectors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("regarding.kind=Pod,regarding.namespace=shop,regarding.name=web-1", True),
        ("regarding.kind=Deployment", False),
        ("regarding.namespace=other", False),
        ("reportingController=kubelet,type=Warning,reason=BackOff", True),
        ("reportingController=default-scheduler", False),
        ("type=Normal", False),
        ("reason!=BackOff", False),
    ],
)
def test_events_v1_field_selectors_use_the_v1_field_names(
    cluster: Cluster, selector: str, matches: bool
) -> None:
    web = cluster.state.create("pods", pod("web-1"))
    cluster.state.record_event(web, "BackOff", "Back-off restarting", type="Warning")
    uid = web["metadata"]["uid"]
    listed = cluster.events.list_namespaced_event("shop", field_selector=selector).items
    assert [e.regarding.uid for e in listed] == ([uid] if matches else [])
    by_uid = cluster.events.list_event_for_all_namespaces(
        field_selector=f"regarding.uid={uid},{selector}"
    ).items
    assert len(by_uid) == (1 if matches else 0)
