"""rollout_diff: what changed between the previous and the new pod template."""

from __future__ import annotations

import copy
from typing import Any

from deploy_assistant.kube.diff import rollout_diff
from deploy_assistant.models import FieldChange

SECRET_VALUE = "hunter2-very-secret"


def template(**spec_overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "serviceAccountName": "checkout",
        "containers": [
            {
                "name": "app",
                "image": "registry.example.com/shop/checkout:1.4.2",
                "args": ["--port=8080"],
                "env": [
                    {"name": "DB_PASSWORD", "value": SECRET_VALUE},
                    {
                        "name": "API_TOKEN",
                        "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}},
                    },
                ],
                "envFrom": [{"configMapRef": {"name": "checkout-config"}}],
                "resources": {
                    "requests": {"cpu": "100m", "memory": "256Mi"},
                    "limits": {"memory": "512Mi"},
                },
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": 8080},
                    "initialDelaySeconds": 10,
                    "periodSeconds": 10,
                    "failureThreshold": 3,
                },
                "volumeMounts": [{"name": "config", "mountPath": "/etc/checkout"}],
            }
        ],
        "volumes": [{"name": "config", "configMap": {"name": "checkout-files"}}],
    }
    spec.update(spec_overrides)
    return {
        "metadata": {"labels": {"app": "checkout", "pod-template-hash": "abc"}},
        "spec": spec,
    }


def app(tpl: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = tpl["spec"]["containers"][0]
    return container


def test_identical_templates_differ_only_in_hash_label_give_no_changes() -> None:
    before = template()
    after = copy.deepcopy(before)
    after["metadata"]["labels"]["pod-template-hash"] = "def"
    assert rollout_diff(before, after) == ()


def test_first_revision_without_previous_template_gives_no_changes() -> None:
    assert rollout_diff(None, template()) == ()


def test_image_change_is_named_per_container() -> None:
    after = template()
    app(after)["image"] = "registry.example.com/shop/checkout:1.5.0"
    assert rollout_diff(template(), after) == (
        FieldChange(
            field="container/app.image",
            before="registry.example.com/shop/checkout:1.4.2",
            after="registry.example.com/shop/checkout:1.5.0",
        ),
    )


def test_memory_limit_lowered_is_derivable() -> None:
    after = template()
    app(after)["resources"]["limits"]["memory"] = "128Mi"
    assert rollout_diff(template(), after) == (
        FieldChange(field="container/app.resources.limits.memory", before="512Mi", after="128Mi"),
    )


def test_env_changes_name_variables_and_never_hold_values() -> None:
    after = template()
    app(after)["env"] = [
        {"name": "DB_PASSWORD", "value": "another-secret-value"},
        {
            "name": "API_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "api-v2", "key": "token"}},
        },
        {"name": "NEW_FLAG", "value": "s3cr3t-flag"},
    ]
    before = template()
    app(before)["env"].append({"name": "OLD_VAR", "value": "old-secret"})
    changes = rollout_diff(before, after)
    assert {c.field: (c.before, c.after) for c in changes} == {
        "container/app.env.DB_PASSWORD": ("literal value", "literal value (changed)"),
        "container/app.env.API_TOKEN": ("secretKeyRef api/token", "secretKeyRef api-v2/token"),
        "container/app.env.NEW_FLAG": (None, "literal value"),
        "container/app.env.OLD_VAR": ("literal value", None),
    }
    rendered = repr(changes)
    for value in (SECRET_VALUE, "another-secret-value", "s3cr3t-flag", "old-secret"):
        assert value not in rendered


def test_probe_fields_are_compared_leaf_by_leaf() -> None:
    after = template()
    probe = app(after)["livenessProbe"]
    probe["httpGet"]["path"] = "/health"
    probe["initialDelaySeconds"] = 1
    assert rollout_diff(template(), after) == (
        FieldChange(
            field="container/app.livenessProbe.httpGet.path", before="/healthz", after="/health"
        ),
        FieldChange(
            field="container/app.livenessProbe.initialDelaySeconds", before="10", after="1"
        ),
    )


def test_probe_header_values_are_not_shown() -> None:
    after = template()
    app(after)["livenessProbe"]["httpGet"]["httpHeaders"] = [
        {"name": "Authorization", "value": f"Bearer {SECRET_VALUE}"}
    ]
    changes = rollout_diff(template(), after)
    assert changes == (
        FieldChange(
            field="container/app.livenessProbe.httpGet.httpHeaders",
            before=None,
            after='["Authorization"]',
        ),
    )


def test_command_args_envfrom_mounts_and_volumes() -> None:
    after = template()
    app(after)["command"] = ["/bin/checkout"]
    app(after)["args"] = ["--port=9090"]
    app(after)["envFrom"] = [{"secretRef": {"name": "checkout-secrets"}}]
    app(after)["volumeMounts"] = [
        {"name": "config", "mountPath": "/etc/checkout", "readOnly": True}
    ]
    after["spec"]["volumes"] = [{"name": "config", "configMap": {"name": "checkout-files-v2"}}]
    fields = [(c.field, c.before, c.after) for c in rollout_diff(template(), after)]
    assert fields == [
        ("container/app.args", '["--port=8080"]', '["--port=9090"]'),
        ("container/app.command", None, '["/bin/checkout"]'),
        ("container/app.envFrom", "configMapRef checkout-config", None),
        ("container/app.envFrom", None, "secretRef checkout-secrets"),
        ("container/app.volumeMounts./etc/checkout.readOnly", None, "true"),
        ("volume/config.configMap.name", "checkout-files", "checkout-files-v2"),
    ]


def test_pod_level_fields_and_init_containers() -> None:
    after = template(
        serviceAccountName="checkout-v2",
        nodeSelector={"disktype": "ssd"},
        tolerations=[{"key": "gpu", "operator": "Exists"}],
        securityContext={"runAsNonRoot": True},
        initContainers=[{"name": "migrate", "image": "migrate:2"}],
    )
    before = template(initContainers=[{"name": "migrate", "image": "migrate:1"}])
    fields = [(c.field, c.before, c.after) for c in rollout_diff(before, after)]
    assert fields == [
        ("initContainer/migrate.image", "migrate:1", "migrate:2"),
        ("spec.nodeSelector.disktype", None, "ssd"),
        ("spec.securityContext.runAsNonRoot", None, "true"),
        ("spec.serviceAccountName", "checkout", "checkout-v2"),
        ("spec.tolerations", None, '[{"key":"gpu","operator":"Exists"}]'),
    ]


def test_added_and_removed_containers_name_their_images() -> None:
    after = template()
    after["spec"]["containers"].append({"name": "sidecar", "image": "envoy:1.30"})
    changes = rollout_diff(template(), after)
    assert changes == (FieldChange(field="container/sidecar", before=None, after="envoy:1.30"),)
    assert rollout_diff(after, template()) == (
        FieldChange(field="container/sidecar", before="envoy:1.30", after=None),
    )


def test_template_annotation_change_is_reported() -> None:
    after = template()
    after["metadata"]["annotations"] = {"kubectl.kubernetes.io/restartedAt": "2026-11-27T10:00:00Z"}
    assert rollout_diff(template(), after) == (
        FieldChange(
            field="metadata.annotations.kubectl.kubernetes.io/restartedAt",
            before=None,
            after="2026-11-27T10:00:00Z",
        ),
    )


def test_order_is_deterministic_and_malformed_parts_do_not_crash() -> None:
    before: dict[str, Any] = {"spec": {"containers": "not-a-list", "volumes": [None, 3]}}
    after = template()
    first = rollout_diff(before, after)
    assert first == rollout_diff(copy.deepcopy(before), copy.deepcopy(after))
    assert first[0] == FieldChange(
        field="container/app", before=None, after="registry.example.com/shop/checkout:1.4.2"
    )
    assert rollout_diff({"spec": None}, {"metadata": "junk"}) == ()


def test_added_mount_volume_and_probe_are_one_change_each() -> None:
    after = template()
    app(after)["volumeMounts"].append({"name": "tls", "mountPath": "/etc/tls", "readOnly": True})
    after["spec"]["volumes"].append({"name": "tls", "secret": {"secretName": "api-tls"}})
    app(after)["readinessProbe"] = {
        "httpGet": {
            "path": "/ready",
            "port": 8080,
            "httpHeaders": [{"name": "X-Token", "value": SECRET_VALUE}],
        },
        "periodSeconds": 5,
    }
    fields = [(c.field, c.before, c.after) for c in rollout_diff(template(), after)]
    assert fields == [
        (
            "container/app.readinessProbe",
            None,
            '{"httpGet":{"httpHeaders":["X-Token"],"path":"/ready","port":8080},"periodSeconds":5}',
        ),
        (
            "container/app.volumeMounts./etc/tls",
            None,
            '{"mountPath":"/etc/tls","name":"tls","readOnly":true}',
        ),
        ("volume/tls", None, '{"secret":{"secretName":"api-tls"}}'),
    ]
    assert [(c.field, c.before) for c in rollout_diff(after, template())][-1] == (
        "volume/tls",
        '{"secret":{"secretName":"api-tls"}}',
    )
