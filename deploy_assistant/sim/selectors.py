"""Label and field selectors with the Kubernetes API server's grammar.

Label selectors: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists) and `!k`,
joined by commas. Field selectors: `path=v`, `path==v`, `path!=v` on dotted object paths such as
`metadata.name`, `involvedObject.uid` or `status.phase`. A selector that cannot be parsed raises
`SelectorError`, which the server renders as a 400 BadRequest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

LabelMatcher = Callable[[Mapping[str, str]], bool]
ObjectMatcher = Callable[[Mapping[str, Any]], bool]

_TERM_SPLIT = re.compile(r",(?![^()]*\))")
_SET_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s+(in|notin)\s*\(([^()]*)\)\s*$")
_EQ_TERM = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")
_EXISTS_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*$")


class SelectorError(ValueError):
    """The selector text does not follow the API server's grammar."""


def _split_terms(selector: str) -> list[str]:
    return [term for term in _TERM_SPLIT.split(selector) if term.strip()]


def _label_term(term: str) -> LabelMatcher:
    set_match = _SET_TERM.match(term)
    if set_match and not set_match.group(1):
        key, operator = set_match.group(2), set_match.group(3)
        values = frozenset(v.strip() for v in set_match.group(4).split(",") if v.strip())
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    eq_match = _EQ_TERM.match(term)
    if eq_match:
        key, operator, value = eq_match.groups()
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    exists_match = _EXISTS_TERM.match(term)
    if exists_match:
        negated, key = exists_match.groups()
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(f"unable to parse requirement: {term.strip()!r}")


def label_matcher(selector: str | None) -> LabelMatcher:
    """A predicate over a label map; an empty or missing selector matches everything."""
    terms = [_label_term(term) for term in _split_terms(selector or "")]
    return lambda labels: all(term(labels) for term in terms)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string form of the field at dotted `path`; "" when absent, as the API server compares."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return ""
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field_term(term: str) -> ObjectMatcher:
    match = re.match(r"^\s*([A-Za-z0-9._-]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
    if not match:
        raise SelectorError(f"invalid field selector: {term.strip()!r}")
    path, operator, value = match.groups()
    if operator == "!=":
        return lambda obj: field_value(obj, path) != value
    return lambda obj: field_value(obj, path) == value


def field_matcher(selector: str | None) -> ObjectMatcher:
    """A predicate over a whole object; an empty or missing selector matches everything."""
    terms = [_field_term(term) for term in (selector or "").split(",") if term.strip()]
    return lambda obj: all(term(obj) for term in terms)


def object_matcher(label_selector: str | None, field_selector: str | None) -> ObjectMatcher:
    """Both selectors together over a whole object (labels read from `metadata.labels`)."""
    labels_ok = label_matcher(label_selector)
    fields_ok = field_matcher(field_selector)

    def matches(obj: Mapping[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return labels_ok(labels) and fields_ok(obj)

    return matches
