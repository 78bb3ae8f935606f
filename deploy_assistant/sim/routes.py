"""Which API request a URL is: the path route, query parameters and request bodies.

Query booleans parse like Go's strconv.ParseBool, because clients differ (`watch=true` vs
`watch=True`); integers that do not parse are a 400, as the API server answers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from deploy_assistant.sim.objects import KINDS, ApiError, Obj, api_group
from deploy_assistant.sim.views import event_v1

ROUTE = re.compile(
    r"^/(?:api/v1|apis/(?P<group>apps|events\.k8s\.io)/v1)"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+))?"
    r"(?:/(?P<sub>log|status))?$"
)
GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
GO_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def go_bool(text: str | None, name: str) -> bool:
    """strconv.ParseBool; a missing value is false; anything else is a 400."""
    if text is None or text in GO_FALSE or text == "":
        return False
    if text in GO_TRUE:
        return True
    raise ApiError(
        400, "BadRequest", f'invalid value for {name}: strconv.ParseBool: parsing "{text}"'
    )


def int_param(query: dict[str, str], name: str) -> int | None:
    """The integer query parameter `name`; None when missing or empty; 400 when not a number."""
    text = query.get(name)
    if text in (None, ""):
        return None
    try:
        return int(str(text))
    except ValueError as exc:
        raise ApiError(400, "BadRequest", f'invalid value for {name}: "{text}"') from exc


def json_body(body: bytes) -> Any:
    """The decoded request body (None when empty); 400 when it is not JSON."""
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise ApiError(400, "BadRequest", f"the request body is not valid JSON: {exc}") from exc


def grace_period_of(query: dict[str, str], body: bytes) -> int | None:
    """DeleteOptions.gracePeriodSeconds: from a non-empty body, else from the query (as the API
    server decodes them); None when not given."""
    if not body:
        return int_param(query, "gracePeriodSeconds")
    options = json_body(body)
    value = options.get("gracePeriodSeconds") if isinstance(options, dict) else None
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(400, "BadRequest", f'invalid value for gracePeriodSeconds: "{value}"')
    return value


@dataclass(frozen=True)
class Request:
    """One routed API request."""

    method: str
    plural: str
    namespace: str | None
    name: str | None
    sub: str | None
    query: dict[str, str]
    events_v1: bool

    def view(self, obj: Obj) -> Obj:
        """`obj` as this request's API group serves it (events.k8s.io/v1 or as stored)."""
        return event_v1(obj) if self.events_v1 else obj


def route_of(method: str, path: str, query: dict[str, str]) -> Request:
    """Parse the URL path; 404 for anything the simulator does not serve."""
    match = ROUTE.match(path)
    plural = match.group("plural") if match else ""
    if not match or plural not in KINDS:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    group = match.group("group") or ""
    events_v1 = group == "events.k8s.io"
    if group != api_group(plural) and not (events_v1 and plural == "events"):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    namespace = match.group("ns")
    name = match.group("name")
    return Request(
        method=method,
        plural=plural,
        namespace=unquote(namespace) if namespace else None,
        name=unquote(name) if name else None,
        sub=match.group("sub"),
        query=query,
        events_v1=events_v1,
    )
