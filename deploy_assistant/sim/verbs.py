"""What each non-streaming API verb does to the cluster state, and what it answers.

`answer` takes a routed request and returns the HTTP status code and JSON body; it raises
`ApiError` for every refusal (403, 404, 405, 409, 415, 422, ...), which the server renders as a
Status. Watches and pod logs stream, so the server serves those itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deploy_assistant.sim.objects import ApiError, Obj, not_found
from deploy_assistant.sim.routes import Request, grace_period_of, json_body
from deploy_assistant.sim.views import (
    checked_namespace,
    deleted_answer,
    field_filter,
    list_body,
    patched_object,
    validate_workload,
)

if TYPE_CHECKING:  # only for annotations; the state never imports this module
    from deploy_assistant.sim.state import ClusterState

Answer = tuple[int, Obj]


def _not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method")


def answer(state: ClusterState, req: Request, body: bytes, content_type: str) -> Answer:
    """(HTTP status, JSON body) for get, list, create, replace, patch and delete."""
    if req.method == "GET":
        return _get(state, req) if req.name else _list(state, req)
    if req.events_v1 or req.sub == "log":
        raise _not_allowed()
    if req.method == "POST" and not req.name:
        return _create(state, req, json_body(body))
    if req.method == "PUT" and req.name:
        return _replace(state, req, json_body(body))
    if req.method == "PATCH" and req.name:
        return _patch(state, req, json_body(body), content_type)
    if req.method == "DELETE" and req.name:
        return _delete(state, req, body)
    raise _not_allowed()


def _get(state: ClusterState, req: Request) -> Answer:
    name = req.name or ""
    state.authorize("get", req.plural, req.namespace, name)
    found = state.get(req.plural, req.namespace, name)
    if found is None:
        raise not_found(req.plural, name)
    return 200, req.view(found)


def _list(state: ClusterState, req: Request) -> Answer:
    state.authorize("list", req.plural, req.namespace)
    fields_ok = field_filter(req.query.get("fieldSelector"))
    items, rv = state.list(req.plural, req.namespace, req.query.get("labelSelector"))
    views = [view for view in map(req.view, items) if fields_ok(view)]
    return 200, list_body(req.plural, req.events_v1, views, rv)


def _create(state: ClusterState, req: Request, obj: Obj) -> Answer:
    state.authorize("create", req.plural, req.namespace)
    obj = checked_namespace(req.plural, req.namespace, obj)
    validate_workload(req.plural, obj)
    return 201, state.create(req.plural, obj)


def _replace(state: ClusterState, req: Request, obj: Obj) -> Answer:
    name = req.name or ""
    state.authorize("update", req.plural, req.namespace, name)
    obj = checked_namespace(req.plural, req.namespace, obj)
    if obj["metadata"].get("name", req.name) != req.name:
        raise ApiError(
            400, "BadRequest", "the name of the object does not match the name on the URL"
        )
    obj["metadata"]["name"] = req.name
    if req.sub == "status":
        status = obj.get("status")

        def set_status(current: Obj) -> None:
            current["status"] = status

        return 200, state.mutate(req.plural, req.namespace, name, set_status)
    validate_workload(req.plural, obj)
    return 200, state.replace(req.plural, obj)


def _patch(state: ClusterState, req: Request, patch: Any, content_type: str) -> Answer:
    name = req.name or ""
    state.authorize("patch", req.plural, req.namespace, name)

    def patched(current: Obj) -> None:
        result = patched_object(
            req.plural, content_type, current, patch, status_only=req.sub == "status"
        )
        current.clear()
        current.update(result)

    return 200, state.mutate(req.plural, req.namespace, name, patched)


def _delete(state: ClusterState, req: Request, body: bytes) -> Answer:
    name = req.name or ""
    state.authorize("delete", req.plural, req.namespace, name)
    grace_seconds = grace_period_of(req.query, body)
    obj, removed = state.request_deletion(req.plural, req.namespace, name, grace_seconds)
    if not removed:  # graceful: the API server answers with the terminating object
        return 200, obj
    return 200, deleted_answer(req.plural, obj)
