"""The simulated API's vocabulary: served kinds, JSON-shaped objects, API timestamps, `ApiError`.

Objects are plain JSON dicts in API shape (`Obj`); `clone` copies them, because the store never
hands out or keeps a reference that someone else may modify.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar, cast

Obj = dict[str, Any]
T = TypeVar("T")

CLUSTER_SCOPED = {"nodes", "namespaces"}
KINDS: dict[str, tuple[str, str]] = {
    "deployments": ("apps/v1", "Deployment"),
    "replicasets": ("apps/v1", "ReplicaSet"),
    "pods": ("v1", "Pod"),
    "events": ("v1", "Event"),
    "namespaces": ("v1", "Namespace"),
    "nodes": ("v1", "Node"),
    "configmaps": ("v1", "ConfigMap"),
    "secrets": ("v1", "Secret"),
    "persistentvolumeclaims": ("v1", "PersistentVolumeClaim"),
    "resourcequotas": ("v1", "ResourceQuota"),
}
GENERATION_KINDS = {"deployments", "replicasets"}


class ApiError(Exception):
    """An API failure the server renders as a Kubernetes Status body with HTTP `status`."""

    def __init__(
        self, status: int, reason: str, message: str, details: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.details = details or {}


def _clone_any(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clone_any(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone_any(v) for v in value]
    return value


def clone(value: T) -> T:
    """A deep copy of JSON-shaped data (several times faster than copy.deepcopy)."""
    return cast(T, _clone_any(value))


def timestamp(moment: datetime) -> str:
    """RFC 3339 seconds precision, as metav1.Time serialises."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_timestamp(moment: datetime) -> str:
    """RFC 3339 microseconds precision, as metav1.MicroTime serialises."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def micro_timestamp_of(text: str | None) -> str | None:
    """A metav1.Time string in MicroTime form ("...:05Z" -> "...:05.000000Z")."""
    if not text or "." in text or not text.endswith("Z"):
        return text
    return text[:-1] + ".000000Z"


def api_group(plural: str) -> str:
    """The API group of a plural ("" for core)."""
    api_version = KINDS[plural][0]
    return api_version.split("/")[0] if "/" in api_version else ""


def qualified_resource(plural: str) -> str:
    """`deployments.apps` / `pods`, as API server messages name resources."""
    group = api_group(plural)
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, name: str) -> ApiError:
    """404 NotFound for `name`, worded and detailed like the API server."""
    details = {"name": name, "group": api_group(plural), "kind": plural}
    return ApiError(404, "NotFound", f'{qualified_resource(plural)} "{name}" not found', details)
