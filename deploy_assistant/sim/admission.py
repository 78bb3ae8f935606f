"""Pod admission as the API server runs it on create: PodSecurity, validating webhooks, then
ResourceQuota. Each refusal is worded exactly like the API server's error."""

from __future__ import annotations

import re
from typing import Any

from deploy_assistant.sim.cluster import SimContext
from deploy_assistant.sim.resources import format_quantity, parse_quantity, pod_quota_usage
from deploy_assistant.sim.state import Obj

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"


def admission_error(ctx: SimContext, pod: Obj) -> str | None:
    """The error message that refuses this pod's creation, or None when it is admitted."""
    # Admission runs before the name is generated, so errors name the generateName prefix.
    name = pod["metadata"].get("generateName") or pod["metadata"]["name"]
    for check in (_pod_security, _webhooks, _quota):
        error = check(ctx, pod)
        if error is not None:
            prefix = "" if error.startswith("Internal error") else f'pods "{name}" is forbidden: '
            return prefix + error
    return None


def _restricted_violations(spec: dict[str, Any]) -> list[str]:
    pod_sc = spec.get("securityContext") or {}
    escalation, capabilities, non_root, seccomp = [], [], [], []
    for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        name = container["name"]
        sc = container.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            escalation.append(name)
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            capabilities.append(name)
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            non_root.append(name)
        profile = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if profile not in ("RuntimeDefault", "Localhost"):
            seccomp.append(name)

    def names(items: list[str]) -> str:
        quoted = ", ".join(f'"{n}"' for n in items)
        return f"container {quoted}" if len(items) == 1 else f"containers {quoted}"

    violations = []
    if escalation:
        violations.append(
            f"allowPrivilegeEscalation != false ({names(escalation)} must set "
            "securityContext.allowPrivilegeEscalation=false)"
        )
    if capabilities:
        violations.append(
            f"unrestricted capabilities ({names(capabilities)} must set "
            'securityContext.capabilities.drop=["ALL"])'
        )
    if non_root:
        violations.append(
            f"runAsNonRoot != true (pod or {names(non_root)} must set "
            "securityContext.runAsNonRoot=true)"
        )
    if seccomp:
        violations.append(
            f"seccompProfile (pod or {names(seccomp)} must set securityContext.seccompProfile.type "
            'to "RuntimeDefault" or "Localhost")'
        )
    return violations


def _pod_security(ctx: SimContext, pod: Obj) -> str | None:
    namespace = ctx.state.get("namespaces", None, pod["metadata"]["namespace"])
    level = ((namespace or {}).get("metadata", {}).get("labels") or {}).get(ENFORCE_LABEL)
    if level != "restricted":
        return None
    violations = _restricted_violations(pod["spec"])
    if not violations:
        return None
    return 'violates PodSecurity "restricted:latest": ' + ", ".join(violations)


def _webhooks(ctx: SimContext, pod: Obj) -> str | None:
    labels = pod["metadata"].get("labels") or {}
    images = [c.get("image", "") for c in pod["spec"].get("containers", [])]
    for hook in ctx.scenario.cluster.webhooks:
        if hook.unavailable:
            svc = hook.name.split(".")[0]
            return (
                f'Internal error occurred: failed calling webhook "{hook.name}": failed to call '
                f'webhook: Post "https://{svc}.policy-system.svc:443/validate?timeout=10s": '
                f'no endpoints available for service "{svc}"'
            )
        missing = [label for label in hook.require_labels if label not in labels]
        bad_image = hook.reject_images is not None and any(
            re.search(hook.reject_images, image) for image in images
        )
        if missing or bad_image:
            return f'admission webhook "{hook.name}" denied the request: {hook.message}'
    return None


def _quota(ctx: SimContext, pod: Obj) -> str | None:
    namespace = pod["metadata"]["namespace"]
    quotas, _ = ctx.state.list("resourcequotas", namespace)
    if not quotas:
        return None
    wanted = pod_quota_usage(pod["spec"])
    used = _namespace_usage(ctx, namespace)
    for quota in quotas:
        hard = {k: parse_quantity(v) for k, v in (quota.get("spec", {}).get("hard") or {}).items()}
        unspecified = sorted(k for k in hard if k not in wanted)
        if unspecified:
            return f"failed quota: {quota['metadata']['name']}: must specify " + ",".join(
                unspecified
            )
        over = sorted(k for k in hard if used.get(k, 0.0) + wanted[k] > hard[k])
        if over:

            def show(values: dict[str, float], keys: list[str] = over) -> str:
                return ",".join(f"{k}={format_quantity(k, values.get(k, 0.0))}" for k in keys)

            return (
                f"exceeded quota: {quota['metadata']['name']}, requested: {show(wanted)}, "
                f"used: {show(used)}, limited: {show(hard)}"
            )
    return None


def _namespace_usage(ctx: SimContext, namespace: str) -> dict[str, float]:
    pods, _ = ctx.state.list("pods", namespace)
    usage: dict[str, float] = {}
    for pod in pods:
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for key, value in pod_quota_usage(pod["spec"]).items():
            usage[key] = usage.get(key, 0.0) + value
    return usage
