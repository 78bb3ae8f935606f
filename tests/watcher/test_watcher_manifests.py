"""The watcher's kustomize manifests: valid, least-privilege, hardened, wired to real endpoints."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy_assistant.settings import Settings
from deploy_assistant.watcher import ingest

ROOT = Path(__file__).resolve().parents[2] / "watcher"
READ_VERBS = {"get", "list", "watch"}
SECRET_KEYS = {"DA_INGEST__TOKENS", "DA_SLACK__TOKEN", "DA_GITLAB__TOKEN", "DA_STORE__URL"}


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomized(folder: Path) -> list[dict[str, Any]]:
    """The resources a kustomization lists, followed through folders (no patches applied)."""
    kustomization = documents(folder / "kustomization.yaml")[0]
    found: list[dict[str, Any]] = []
    for entry in kustomization["resources"]:
        target = (folder / entry).resolve()
        found += kustomized(target) if target.is_dir() else documents(target)
    return found


def one(resources: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [match] = [r for r in resources if r["kind"] == kind]
    return match


def container(resources: list[dict[str, Any]]) -> dict[str, Any]:
    [watcher] = one(resources, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert isinstance(watcher, dict)
    return watcher


def test_every_manifest_is_valid_yaml_with_kind_and_name() -> None:
    files = sorted(ROOT.rglob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        for doc in documents(path):
            assert doc.get("apiVersion"), path
            assert doc.get("kind"), path
            if doc["kind"] != "Kustomization":
                assert doc["metadata"]["name"], path


def test_the_secret_template_is_not_applied_and_holds_the_documented_keys() -> None:
    applied = kustomized(ROOT) + kustomized(ROOT / "namespaced")
    assert all(r["kind"] != "Secret" for r in applied)
    [secret] = documents(ROOT / "secret.example.yaml")
    assert set(secret["stringData"]) == SECRET_KEYS
    [env_from] = container(kustomized(ROOT))["envFrom"]
    assert env_from["secretRef"]["name"] == secret["metadata"]["name"]


@pytest.mark.parametrize(("variant", "role_kind"), [("", "ClusterRole"), ("namespaced", "Role")])
def test_rbac_is_read_only_and_never_touches_secrets(variant: str, role_kind: str) -> None:
    resources = kustomized(ROOT / variant)
    assert {r["kind"] for r in resources} & {"ClusterRole", "Role"} == {role_kind}
    role = one(resources, role_kind)
    granted = {
        (group, resource): set(rule["verbs"])
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    for (group, resource), verbs in granted.items():
        assert verbs <= READ_VERBS, (group, resource)
        assert "*" not in (group, resource)
        assert resource.split("/")[0] not in ("secrets", "configmaps")
    for resource in ("deployments", "replicasets"):
        assert granted[("apps", resource)] == READ_VERBS
    for key in (("", "pods"), ("", "events"), ("events.k8s.io", "events")):
        assert granted[key] == READ_VERBS
    assert granted[("", "pods/log")] == {"get"}
    assert (("", "nodes") in granted) is (role_kind == "ClusterRole")
    binding = one(resources, role_kind + "Binding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": role_kind,
        "name": role["metadata"]["name"],
    }
    [subject] = binding["subjects"]
    account = one(resources, "ServiceAccount")["metadata"]
    assert (subject["name"], subject["namespace"]) == (account["name"], account["namespace"])


def test_the_pod_runs_non_root_with_a_read_only_root_filesystem() -> None:
    resources = kustomized(ROOT)
    pod = one(resources, "Deployment")["spec"]["template"]["spec"]
    watcher = container(resources)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    context = watcher["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in watcher["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert watcher["resources"]["requests"]
    assert watcher["resources"]["limits"]
    assert watcher["command"] == ["da-watcher"]
    assert watcher["image"] == "registry.gitlab.com/deploy-assistant/deploy-assistant:0.1.0"


def test_probes_and_service_point_at_the_ingest_api() -> None:
    resources = kustomized(ROOT)
    watcher = container(resources)
    [port] = watcher["ports"]
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = watcher[probe]["httpGet"]
        assert get["path"] == path
        assert ingest._ROUTES[path] == "GET"
        assert get["port"] in (port["name"], port["containerPort"])
    env = {e["name"]: e.get("value") for e in watcher["env"]}
    assert int(env["DA_INGEST__PORT"]) == port["containerPort"]
    [service_port] = one(resources, "Service")["spec"]["ports"]
    assert service_port["targetPort"] in (port["name"], port["containerPort"])


def test_every_environment_variable_names_a_setting() -> None:
    names = [e["name"] for e in container(kustomized(ROOT))["env"]]
    names += [*sorted(SECRET_KEYS), "DA_WATCHER__NAMESPACES"]
    for name in names:
        if not name.startswith("DA_"):
            continue
        group, _, field = name[3:].lower().partition("__")
        assert group in Settings.model_fields, name
        if field:
            nested = Settings.model_fields[group].annotation
            assert field in nested.model_fields, name  # type: ignore[union-attr]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("variant", ["", "namespaced"])
def test_kustomize_renders_each_variant(variant: str) -> None:
    result = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / variant)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    kinds = [doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc]
    assert "Deployment" in kinds
