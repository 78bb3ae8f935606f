"""What the kubelet checks before creating a container or mounting a pod's volumes: referenced
ConfigMaps, Secrets and keys must exist (messages as `kuberuntime_container.go` and the volume
plugins word them)."""

from __future__ import annotations

from typing import Any

from deploy_assistant.sim.cluster import SimContext

_KINDS = {
    "configMap": ("configmaps", "configmap", "ConfigMap"),
    "secret": ("secrets", "secret", "Secret"),
}


def _lookup(ctx: SimContext, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
    return ctx.state.get(_KINDS[kind][0], namespace, name)


def _key_ref_error(ctx: SimContext, namespace: str, kind: str, ref: dict[str, Any]) -> str | None:
    plural, noun, title = _KINDS[kind]
    obj = ctx.state.get(plural, namespace, ref["name"])
    if obj is None:
        return None if ref.get("optional") else f'{noun} "{ref["name"]}" not found'
    data = {**(obj.get("data") or {}), **(obj.get("stringData") or {})}
    if ref["key"] not in data and not ref.get("optional"):
        return f"couldn't find key {ref['key']} in {title} {namespace}/{ref['name']}"
    return None


def config_error(ctx: SimContext, namespace: str, container: dict[str, Any]) -> str | None:
    """The CreateContainerConfigError message for this container, or None."""
    for env in container.get("env") or []:
        source = env.get("valueFrom") or {}
        for field, kind in (("configMapKeyRef", "configMap"), ("secretKeyRef", "secret")):
            if field in source:
                error = _key_ref_error(ctx, namespace, kind, source[field])
                if error:
                    return error
    for env_from in container.get("envFrom") or []:
        for field, kind in (("configMapRef", "configMap"), ("secretRef", "secret")):
            ref = env_from.get(field)
            if (
                ref
                and not ref.get("optional")
                and _lookup(ctx, namespace, kind, ref["name"]) is None
            ):
                return f'{_KINDS[kind][1]} "{ref["name"]}" not found'
    return None


def mount_errors(
    ctx: SimContext, namespace: str, pod_spec: dict[str, Any]
) -> list[tuple[str, str]]:
    """(volume, FailedMount message) for each ConfigMap/Secret volume whose source is missing."""
    errors = []
    for volume in pod_spec.get("volumes") or []:
        for kind, name_field in (("configMap", "name"), ("secret", "secretName")):
            source = volume.get(kind)
            if not source or source.get("optional"):
                continue
            name = source.get(name_field, "")
            if _lookup(ctx, namespace, kind, name) is None:
                errors.append(
                    (
                        volume["name"],
                        f'MountVolume.SetUp failed for volume "{volume["name"]}" : '
                        f'{_KINDS[kind][1]} "{name}" not found',
                    )
                )
    return errors
