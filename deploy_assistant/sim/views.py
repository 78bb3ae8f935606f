"""What the API server sends back and what it refuses: Status bodies, list bodies, the
events.k8s.io/v1 view of stored core/v1 Events, the 403 wording and the 400/422 checks on request
objects.

The events.k8s.io/v1 view is computed per request, so field selectors on it use its own names:
`regarding.name`, `regarding.uid`, `regarding.kind`, `regarding.namespace`, `reportingController`,
`type`, `reason`, `metadata.name`, ...
"""

from __future__ import annotations

from typing import Any

from deploy_assistant.sim.objects import (
    CLUSTER_SCOPED,
    KINDS,
    ApiError,
    Obj,
    api_group,
    micro_timestamp_of,
    qualified_resource,
)
from deploy_assistant.sim.patch import PatchError, apply_patch
from deploy_assistant.sim.selectors import (
    LabelMatcher,
    ObjectMatcher,
    SelectorError,
    field_matcher,
    label_matcher,
)

EVENTS_V1 = "events.k8s.io/v1"
# Registries with ReturnDeletedObject: DELETE answers with the object, not a Status.
RETURNS_DELETED_OBJECT = {"pods", "persistentvolumeclaims", "resourcequotas"}


def status_body(error: ApiError) -> Obj:
    """The metav1.Status the API server sends with an error."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": error.message,
        "reason": error.reason,
        "details": error.details,
        "code": error.status,
    }


def forbidden(user: str, verb: str, plural: str, namespace: str | None, name: str = "") -> ApiError:
    """403 Forbidden for `user`, worded like the API server's authorizer (`log` is the `get`
    verb on the `pods/log` subresource)."""
    resource = f"{plural}/log" if verb == "log" else plural
    subject = f'{qualified_resource(plural)} "{name}"' if name else qualified_resource(plural)
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return ApiError(
        403,
        "Forbidden",
        f'{subject} is forbidden: User "{user}" cannot {"get" if verb == "log" else verb} '
        f'resource "{resource}" in API group "{api_group(plural)}" {scope}',
    )


def deleted_answer(plural: str, deleted: Obj) -> Obj:
    """What DELETE answers for an object removed at once: the object itself for the kinds
    whose registry returns it (the client deserialises a V1Pod), else a Success Status."""
    if plural in RETURNS_DELETED_OBJECT:
        return deleted
    return deleted_status(plural, deleted["metadata"].get("name"), deleted["metadata"].get("uid"))


def deleted_status(plural: str, name: str | None, uid: str | None) -> Obj:
    """The Success Status the API server sends for an object deleted at once."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": api_group(plural), "kind": plural, "uid": uid},
    }


def event_v1(event: Obj) -> Obj:
    """A stored core/v1 Event as events.k8s.io/v1 serves it."""
    first = event.get("firstTimestamp")
    return {
        "apiVersion": EVENTS_V1,
        "kind": "Event",
        "metadata": event["metadata"],
        "eventTime": event.get("eventTime") or micro_timestamp_of(first),
        "regarding": event.get("involvedObject", {}),
        "note": event.get("message", ""),
        "reason": event.get("reason", ""),
        "type": event.get("type", "Normal"),
        "action": event.get("action", ""),
        "reportingController": event.get("reportingComponent", ""),
        "reportingInstance": event.get("reportingInstance", ""),
        "deprecatedSource": event.get("source", {}),
        "deprecatedCount": event.get("count", 1),
        "deprecatedFirstTimestamp": first,
        "deprecatedLastTimestamp": event.get("lastTimestamp"),
    }


def type_meta(plural: str, events_v1: bool) -> tuple[str, str]:
    """(apiVersion, kind) of `plural` in the request's API group."""
    api_version, kind = KINDS[plural]
    return (EVENTS_V1 if events_v1 else api_version), kind


def list_body(plural: str, events_v1: bool, items: list[Obj], resource_version: str) -> Obj:
    """A `<Kind>List` of already-translated items."""
    api_version, kind = type_meta(plural, events_v1)
    return {
        "apiVersion": api_version,
        "kind": f"{kind}List",
        "metadata": {"resourceVersion": resource_version},
        "items": items,
    }


def label_filter(selector: str | None) -> LabelMatcher:
    """The label selector's predicate; 400 BadRequest when it does not parse."""
    try:
        return label_matcher(selector)
    except SelectorError as exc:
        raise ApiError(400, "BadRequest", str(exc)) from exc


def field_filter(selector: str | None) -> ObjectMatcher:
    """The field selector's predicate; 400 BadRequest when it does not parse."""
    try:
        return field_matcher(selector)
    except SelectorError as exc:
        raise ApiError(400, "BadRequest", str(exc)) from exc


def _go_map(labels: dict[str, str]) -> str:
    return "map[string]string{" + ", ".join(f'"{k}":"{labels[k]}"' for k in sorted(labels)) + "}"


def _selector_text(selector: Obj) -> str:
    terms = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if operator in ("In", "NotIn"):
            terms.append(f"{key} {operator.lower()} ({','.join(values)})")
        else:
            terms.append(f"!{key}" if operator == "DoesNotExist" else str(key))
    return ",".join(terms)


def validate_workload(plural: str, obj: Obj) -> None:
    """422 Invalid for a Deployment/ReplicaSet without selector, template or matching labels."""
    if plural not in ("deployments", "replicasets"):
        return
    name = (obj.get("metadata") or {}).get("name", "")
    prefix = f'{KINDS[plural][1]}.apps "{name}" is invalid: '
    spec = obj.get("spec") or {}
    if not spec.get("selector"):
        raise ApiError(422, "Invalid", prefix + "spec.selector: Required value")
    template = spec.get("template") or {}
    if not (template.get("spec") or {}).get("containers"):
        raise ApiError(422, "Invalid", prefix + "spec.template.spec.containers: Required value")
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not labels or not label_matcher(_selector_text(spec["selector"]))(labels):
        raise ApiError(
            422,
            "Invalid",
            prefix + f"spec.template.metadata.labels: Invalid value: {_go_map(labels)}: "
            "`selector` does not match template `labels`",
        )


def checked_namespace(plural: str, namespace: str | None, obj: Obj) -> Obj:
    """`obj` with the URL's namespace filled in; 400 when the body names another one."""
    meta = obj.setdefault("metadata", {})
    if plural in CLUSTER_SCOPED:
        return obj
    if meta.get("namespace") and namespace and meta["namespace"] != namespace:
        raise ApiError(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    meta["namespace"] = namespace or meta.get("namespace") or "default"
    return obj


def patched_object(
    plural: str, content_type: str, current: Obj, patch: Any, status_only: bool
) -> Obj:
    """`current` after the PATCH (only `status` for the /status subresource); 415 for an unknown
    patch type, 422 when the patch does not apply or the result is not a valid object."""
    try:
        result = apply_patch(content_type, current, patch)
    except PatchError as exc:
        code = 415 if "media type" in str(exc) else 422
        reason = "UnsupportedMediaType" if code == 415 else "Invalid"
        raise ApiError(code, reason, str(exc)) from exc
    if not isinstance(result, dict):
        raise ApiError(422, "Invalid", "the patch must produce an object")
    if status_only:
        return {**current, "status": result.get("status")}
    validate_workload(plural, result)
    return result
