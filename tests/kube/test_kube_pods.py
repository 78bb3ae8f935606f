"""New-ReplicaSet identification, new/old pod split, per-pod signals, message classifiers."""

from __future__ import annotations

import pytest

from deploy_assistant.kube.messages import (
    CreateRefusal,
    classify_config_error_message,
    classify_create_refusal,
    classify_image_pull_message,
    is_deterministic_start_error,
)
from deploy_assistant.kube.pods import (
    analyze_pod_failures,
    container_key,
    find_new_replicaset,
    needs_events,
    pod_signals,
    restart_baselines,
    split_pods,
)
from deploy_assistant.models import ConfigErrorClass, ImagePullClass
from tests.kube.rollout_objects import (
    NEW_HASH,
    NEW_RS_UID,
    T0,
    deployment,
    pod,
    replicaset,
    running,
    waiting,
)


def test_new_replicaset_is_the_owned_one_with_the_deployment_template() -> None:
    found = find_new_replicaset(deployment(), [replicaset(new=False), replicaset()])
    assert found is not None
    assert (found.uid, found.pod_template_hash, found.revision_matches) == (
        NEW_RS_UID,
        NEW_HASH,
        True,
    )


def test_replicaset_of_another_owner_is_not_ours() -> None:
    assert find_new_replicaset(deployment(), [replicaset(owner="someone-else")]) is None


def test_oldest_matching_replicaset_wins() -> None:
    newer = replicaset(created=5, uid="rs-dup")
    found = find_new_replicaset(deployment(), [newer, replicaset(created=-10)])
    assert found is not None
    assert found.uid == NEW_RS_UID


def test_revision_lag_is_flagged_not_decided() -> None:
    found = find_new_replicaset(deployment(revision="3"), [replicaset(revision="2")])
    assert found is not None
    assert not found.revision_matches


def test_split_uses_owner_and_hash() -> None:
    new_rs = find_new_replicaset(deployment(), [replicaset()])
    stray = pod("stray")
    stray["metadata"]["ownerReferences"][0]["uid"] = "rs-other"
    new, old = split_pods([pod("a"), pod("b", new=False), stray], new_rs)
    assert [p["metadata"]["name"] for p in new] == ["a"]
    assert [p["metadata"]["name"] for p in old] == ["b", "stray"]


def test_rollback_pod_restarts_before_apply_are_subtracted() -> None:
    old_pod = pod("a", created=-3600, containers=[running(restarts=7)])
    baselines = restart_baselines(old_pod, T0)
    assert baselines == {container_key("uid-a", "app", init=False): 7}
    fresh = pod("b", created=10, containers=[running(restarts=2)])
    assert set(restart_baselines(fresh, T0).values()) == {0}
    signals = pod_signals(old_pod, baselines)
    assert signals.containers[0].restarts_since_start == 0


def test_pod_signals_cover_init_containers_and_scheduling() -> None:
    p = pod(
        "a",
        init=[waiting("CrashLoopBackOff", restarts=3, last=("Error", 1, 5), name="migrate")],
        containers=[waiting("PodInitializing")],
    )
    signals = pod_signals(p, {})
    assert signals.init_containers[0].init
    assert signals.init_containers[0].last_exit_code == 1
    pending = pod_signals(
        pod("b", unschedulable="0/3 nodes are available: 3 Insufficient cpu."), {}
    )
    assert pending.scheduled is False
    assert pending.unschedulable_message
    assert "Insufficient cpu" in pending.unschedulable_message


def test_remembered_pull_class_carries_over_bare_backoff() -> None:
    p = pod("a", containers=[waiting("ImagePullBackOff", 'Back-off pulling image "web:v2"')])
    key = container_key("uid-a", "app", init=False)
    signals = pod_signals(p, {}, {key: ImagePullClass.PERMANENT})
    assert signals.containers[0].image_pull_class is ImagePullClass.PERMANENT


def test_pending_pod_that_is_scheduled_is_not_a_scheduling_problem() -> None:
    scheduled_pending = pod("a", phase="Pending", containers=[waiting("ContainerCreating")])
    counted = analyze_pod_failures([pod_signals(scheduled_pending, {})])
    assert counted.pending_scheduling_pods == 0
    assert needs_events(pod_signals(scheduled_pending, {}))


# --- message corpus: image pulls ------------------------------------------------------------

PULL_CORPUS = [
    (
        'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/'
        'nginx:nope": failed to resolve reference "docker.io/library/nginx:nope": docker.io/'
        "library/nginx:nope: not found",
        ImagePullClass.PERMANENT,
    ),
    (
        "rpc error: code = Unknown desc = Error response from daemon: manifest for "
        "registry.example.com/web:v9 not found: manifest unknown: manifest unknown",
        ImagePullClass.PERMANENT,
    ),
    (
        "rpc error: code = Unknown desc = Error response from daemon: pull access denied for "
        "webb, repository does not exist or may require 'docker login': denied: requested "
        "access to the resource is denied",
        ImagePullClass.PERMANENT,
    ),
    (
        'Failed to apply default image tag "Web:V2": couldn\'t parse image reference '
        '"Web:V2": invalid reference format: repository name must be lowercase',
        ImagePullClass.PERMANENT,
    ),
    (
        "no match for platform in manifest: not found",
        ImagePullClass.PERMANENT,
    ),
    (
        'failed to resolve reference "registry.example.com/private/web:v2": failed to '
        "authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized",
        ImagePullClass.AUTH,
    ),
    (
        'failed to pull and unpack image "ghcr.io/acme/web:v2": failed to resolve reference: '
        "unexpected status from HEAD request: 403 Forbidden",
        ImagePullClass.AUTH,
    ),
    ("Error response from daemon: no basic auth credentials", ImagePullClass.AUTH),
    (
        "toomanyrequests: You have reached your pull rate limit. You may increase the limit "
        "by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
        ImagePullClass.TRANSIENT,
    ),
    (
        'failed to do request: Head "https://registry.example.com/v2/web/manifests/v2": dial '
        "tcp: lookup registry.example.com on 10.96.0.10:53: no such host",
        ImagePullClass.TRANSIENT,
    ),
    (
        "unexpected status from HEAD request: 503 Service Unavailable",
        ImagePullClass.TRANSIENT,
    ),
    ("net/http: TLS handshake timeout", ImagePullClass.TRANSIENT),
    ("read tcp 10.0.0.5:443: connection reset by peer", ImagePullClass.TRANSIENT),
    ("context deadline exceeded", ImagePullClass.TRANSIENT),
    (
        'Back-off pulling image "registry.example.com/web:v9": ErrImagePull: manifest unknown',
        ImagePullClass.PERMANENT,
    ),
    ('Back-off pulling image "registry.example.com/web:v2"', ImagePullClass.UNKNOWN),
    ("something nobody has seen before", ImagePullClass.UNKNOWN),
    ("", ImagePullClass.UNKNOWN),
]


@pytest.mark.parametrize(("message", "expected"), PULL_CORPUS)
def test_image_pull_message_corpus(message: str, expected: ImagePullClass) -> None:
    assert classify_image_pull_message(message) is expected


CONFIG_CORPUS = [
    ('configmap "web-config" not found', ConfigErrorClass.MISSING_CONFIGMAP),
    ('secret "db-password" not found', ConfigErrorClass.MISSING_SECRET),
    ("couldn't find key DB_URL in ConfigMap shop/web-config", ConfigErrorClass.MISSING_KEY),
    ("couldn't find key password in Secret shop/db", ConfigErrorClass.MISSING_KEY),
    (
        "failed to sync secret cache: timed out waiting for the condition",
        ConfigErrorClass.CACHE_SYNC,
    ),
    (
        'container has runAsNonRoot and image will run as root (pod: "web-1", container: app)',
        ConfigErrorClass.RUN_AS_NON_ROOT,
    ),
    ("something else entirely", ConfigErrorClass.OTHER),
]


@pytest.mark.parametrize(("message", "expected"), CONFIG_CORPUS)
def test_config_error_message_corpus(message: str, expected: ConfigErrorClass) -> None:
    assert classify_config_error_message(message) is expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('exec: "srv": executable file not found in $PATH', True),
        ("exec /app/run.sh: permission denied", True),
        ("exec format error", True),
        ("failed to reserve container name: name is reserved", False),
    ],
)
def test_start_error_corpus(message: str, expected: bool) -> None:
    assert is_deterministic_start_error(message) is expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            'pods "web-5d8f-x" is forbidden: violates PodSecurity "restricted:latest": '
            "allowPrivilegeEscalation != false",
            CreateRefusal.ADMISSION,
        ),
        (
            'admission webhook "validate.kyverno.svc" denied the request: image tag latest',
            CreateRefusal.ADMISSION,
        ),
        (
            'pods "web-5d8f-x" is forbidden: exceeded quota: compute, requested: limits.cpu=1',
            CreateRefusal.QUOTA,
        ),
        (
            'Internal error occurred: failed calling webhook "x": Post "https://svc": '
            "no endpoints available for service",
            CreateRefusal.WEBHOOK_UNAVAILABLE,
        ),
        ("", CreateRefusal.OTHER),
    ],
)
def test_create_refusal_corpus(message: str, expected: CreateRefusal) -> None:
    assert classify_create_refusal(message) is expected
