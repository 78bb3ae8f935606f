"""Resource quantities (`500m`, `1.5`, `512Mi`, `2G`) and pod requests, as the scheduler and
quota admission count them."""

from __future__ import annotations

import functools
import re
from typing import Any

_QUANTITY = re.compile(r"^([0-9.]+(?:[eE][0-9]+)?)([a-zA-Z]*)$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_DECIMAL = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}

MEMORY_KEYS = ("memory", "ephemeral-storage")


@functools.lru_cache(maxsize=4096)
def parse_quantity(text: str | int | float) -> float:
    """The quantity in base units (cores or bytes); `m` means thousandths."""
    match = _QUANTITY.match(str(text).strip())
    if not match:
        raise ValueError(f"invalid quantity {text!r}")
    number, suffix = float(match.group(1)), match.group(2)
    if suffix == "m":
        return number / 1000
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    raise ValueError(f"invalid quantity suffix in {text!r}")


def format_quantity(resource: str, value: float) -> str:
    """Canonical text as the API server prints it in quota messages (`1536Mi`, `1500m`, `2`)."""
    base = resource.rsplit(".", 1)[-1]
    if base in MEMORY_KEYS:
        whole = round(value)
        for suffix in ("Ti", "Gi", "Mi", "Ki"):
            if whole and whole % _BINARY[suffix] == 0:
                return f"{whole // _BINARY[suffix]}{suffix}"
        return str(whole)
    if base == "pods" or float(value).is_integer():
        return str(round(value))
    return f"{round(value * 1000)}m"


def container_resources(pod_spec: dict[str, Any], section: str) -> dict[str, float]:
    """Sum of `requests` or `limits` over app containers, max'd with any init container."""
    total: dict[str, float] = {}
    for container in pod_spec.get("containers") or []:
        for key, value in ((container.get("resources") or {}).get(section) or {}).items():
            total[key] = total.get(key, 0.0) + parse_quantity(value)
    for container in pod_spec.get("initContainers") or []:
        for key, value in ((container.get("resources") or {}).get(section) or {}).items():
            total[key] = max(total.get(key, 0.0), parse_quantity(value))
    if section == "requests":
        # A container with limits but no requests gets requests equal to its limits.
        for container in pod_spec.get("containers") or []:
            resources = container.get("resources") or {}
            for key, value in (resources.get("limits") or {}).items():
                if key not in (resources.get("requests") or {}):
                    total[key] = total.get(key, 0.0) + parse_quantity(value)
    return total


def pod_quota_usage(pod_spec: dict[str, Any]) -> dict[str, float]:
    """What one pod counts against a ResourceQuota (`pods`, `requests.cpu`, `limits.memory`…)."""
    usage = {"pods": 1.0, "count/pods": 1.0}
    for section in ("requests", "limits"):
        for key, value in container_resources(pod_spec, section).items():
            usage[f"{section}.{key}"] = value
            if section == "requests":
                usage[key] = value
    return usage
