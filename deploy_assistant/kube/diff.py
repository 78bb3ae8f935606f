"""What changed between the previous and the new pod template (the rollout diff).

Pure: two pod templates in (`spec.template` of the previous ReplicaSet and of the Deployment), a
tuple of `FieldChange` out, in a fixed order (containers in template order, then init containers,
then pod-level fields, then template metadata). Field names read like paths:
`container/app.image`, `container/app.resources.limits.memory`, `initContainer/migrate.args`,
`volume/config.configMap.name`, `spec.serviceAccountName`.

Environment variables are reported by NAME only: a change says a variable was added, removed,
changed its literal value, or now comes from another Secret/ConfigMap key — never the value itself,
so the diff can be shown anywhere without redaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from deploy_assistant.models import FieldChange

HASH_LABEL = "pod-template-hash"

# Container keys with their own rendering; every other key is compared leaf by leaf.
_CONTAINER_SPECIAL = frozenset({"name", "env", "envFrom", "volumeMounts", "ports"})
_POD_SPECIAL = frozenset({"containers", "initContainers", "volumes"})
_LITERAL = "literal value"
_WHOLE_KEYS = frozenset({"livenessProbe", "readinessProbe", "startupProbe"})


def rollout_diff(
    previous_template: Mapping[str, Any] | None, new_template: Mapping[str, Any]
) -> tuple[FieldChange, ...]:
    """Differences from `previous_template` to `new_template`; () when there is no previous one."""
    if previous_template is None:
        return ()
    before_spec = _mapping(previous_template.get("spec"))
    after_spec = _mapping(new_template.get("spec"))
    changes: list[FieldChange] = []
    changes += _containers_diff("container", before_spec, after_spec, "containers")
    changes += _containers_diff("initContainer", before_spec, after_spec, "initContainers")
    changes += _named_diff(
        "volume", _by_name(before_spec.get("volumes")), _by_name(after_spec.get("volumes"))
    )
    before_rest = {k: v for k, v in before_spec.items() if k not in _POD_SPECIAL}
    after_rest = {k: v for k, v in after_spec.items() if k not in _POD_SPECIAL}
    changes += _leaf_changes("spec", before_rest, after_rest)
    changes += _leaf_changes(
        "metadata",
        _template_metadata(previous_template),
        _template_metadata(new_template),
    )
    return tuple(changes)


# --- containers -----------------------------------------------------------------------------------


def _containers_diff(
    kind: str, before_spec: Mapping[str, Any], after_spec: Mapping[str, Any], key: str
) -> list[FieldChange]:
    before = _by_name(before_spec.get(key))
    after = _by_name(after_spec.get(key))
    changes: list[FieldChange] = []
    for name in _ordered_names(before, after):
        prefix = f"{kind}/{name}"
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            # A whole container appeared or went away: name its image, nothing else.
            changes.append(FieldChange(field=prefix, before=_image(old), after=_image(new)))
            continue
        changes += _container_changes(prefix, old, new)
    return changes


def _container_changes(
    prefix: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[FieldChange]:
    changes: list[FieldChange] = []
    if old.get("image") != new.get("image"):
        changes.append(FieldChange(field=f"{prefix}.image", before=_image(old), after=_image(new)))
    rest_old = {k: v for k, v in old.items() if k not in _CONTAINER_SPECIAL and k != "image"}
    rest_new = {k: v for k, v in new.items() if k not in _CONTAINER_SPECIAL and k != "image"}
    changes += _leaf_changes(prefix, rest_old, rest_new)
    changes += _env_changes(prefix, old.get("env"), new.get("env"))
    changes += _set_changes(
        f"{prefix}.envFrom", _env_from_refs(old.get("envFrom")), _env_from_refs(new.get("envFrom"))
    )
    changes += _leaf_changes(
        f"{prefix}.volumeMounts",
        _keyed(old.get("volumeMounts"), "mountPath"),
        _keyed(new.get("volumeMounts"), "mountPath"),
        items=True,
    )
    changes += _leaf_changes(
        f"{prefix}.ports",
        _keyed(old.get("ports"), "name"),
        _keyed(new.get("ports"), "name"),
        items=True,
    )
    return changes


def _env_changes(prefix: str, old: Any, new: Any) -> list[FieldChange]:
    before = _env_sources(old)
    after = _env_sources(new)
    changes: list[FieldChange] = []
    for name in _ordered_names(before, after):
        old_source, new_source = before.get(name), after.get(name)
        if old_source == new_source:
            continue
        old_label = old_source[0] if old_source else None
        new_label = new_source[0] if new_source else None
        if old_label == new_label == _LITERAL:
            new_label = f"{_LITERAL} (changed)"
        changes.append(FieldChange(field=f"{prefix}.env.{name}", before=old_label, after=new_label))
    return changes


def _env_sources(env: Any) -> dict[str, tuple[str, str]]:
    """name → (label shown, fingerprint compared). The fingerprint never leaves this module."""
    sources: dict[str, tuple[str, str]] = {}
    for entry in env if isinstance(env, list) else []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            continue
        value_from = entry.get("valueFrom")
        if isinstance(value_from, Mapping) and value_from:
            label = _value_from_label(value_from)
            sources[entry["name"]] = (label, label)
        else:
            sources[entry["name"]] = (_LITERAL, str(entry.get("value", "")))
    return sources


def _value_from_label(value_from: Mapping[str, Any]) -> str:
    for kind, ref in sorted(value_from.items()):
        ref = _mapping(ref)
        if kind in ("secretKeyRef", "configMapKeyRef"):
            return f"{kind} {ref.get('name', '?')}/{ref.get('key', '?')}"
        if kind == "fieldRef":
            return f"fieldRef {ref.get('fieldPath', '?')}"
        if kind == "resourceFieldRef":
            return f"resourceFieldRef {ref.get('resource', '?')}"
        return kind
    return "valueFrom"


def _env_from_refs(env_from: Any) -> set[str]:
    refs: set[str] = set()
    for entry in env_from if isinstance(env_from, list) else []:
        if not isinstance(entry, Mapping):
            continue
        prefix = f" (prefix {entry['prefix']})" if entry.get("prefix") else ""
        for kind in ("configMapRef", "secretRef"):
            if isinstance(entry.get(kind), Mapping):
                refs.add(f"{kind} {entry[kind].get('name', '?')}{prefix}")
    return refs


# --- generic comparison ---------------------------------------------------------------------------


def _leaf_changes(
    prefix: str, before: Any, after: Any, *, items: bool = False
) -> list[FieldChange]:
    """Leaf-by-leaf changes; with `items`, the top level holds list items (mounts, volumes)."""
    return [
        FieldChange(field=field, before=old, after=new)
        for field, old, new in _walk(prefix, before, after, items=items)
        if old != new
    ]


def _walk(
    path: str, before: Any, after: Any, *, items: bool = False
) -> Iterator[tuple[str, str | None, str | None]]:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in sorted(set(before) | set(after), key=str):
            old, new = before.get(key), after.get(key)
            if (items or key in _WHOLE_KEYS) and (old is None or new is None):
                # A mount, volume or probe added or removed is one change, not one per leaf.
                yield f"{path}.{key}", _render(old), _render(new)
            else:
                yield from _walk(f"{path}.{key}", old, new)
        return
    if isinstance(before, Mapping) and after is None:
        yield from _walk(path, before, {})
        return
    if before is None and isinstance(after, Mapping):
        yield from _walk(path, {}, after)
        return
    if path.endswith(".httpHeaders"):
        # Probe headers can carry credentials: compare and show their names only.
        before, after = _header_names(before), _header_names(after)
    yield path, _render(before), _render(after)


def _header_names(headers: Any) -> list[str] | None:
    if not isinstance(headers, list):
        return None
    return sorted(str(h.get("name")) for h in headers if isinstance(h, Mapping))


def _set_changes(field: str, before: set[str], after: set[str]) -> list[FieldChange]:
    removed = [FieldChange(field=field, before=ref, after=None) for ref in sorted(before - after)]
    added = [FieldChange(field=field, before=None, after=ref) for ref in sorted(after - before)]
    return removed + added


def _named_diff(
    kind: str, before: dict[str, Mapping[str, Any]], after: dict[str, Mapping[str, Any]]
) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for name in _ordered_names(before, after):
        old = {k: v for k, v in before.get(name, {}).items() if k != "name"}
        new = {k: v for k, v in after.get(name, {}).items() if k != "name"}
        if name not in before or name not in after:
            changes.append(
                FieldChange(
                    field=f"{kind}/{name}",
                    before=_render(old) if name in before else None,
                    after=_render(new) if name in after else None,
                )
            )
        else:
            changes += _leaf_changes(f"{kind}/{name}", old, new)
    return changes


def _render(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(_masked(value), sort_keys=True, separators=(",", ":"))


def _masked(value: Any) -> Any:
    """`value` with every probe header reduced to its name."""
    if isinstance(value, Mapping):
        return {k: _header_names(v) if k == "httpHeaders" else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _by_name(items: Any) -> dict[str, Mapping[str, Any]]:
    return _keyed(items, "name")


def _keyed(items: Any, key: str) -> dict[str, Mapping[str, Any]]:
    """List of objects → dict by `key` (falling back to the position), keeping list order."""
    result: dict[str, Mapping[str, Any]] = {}
    for index, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, Mapping):
            result[str(item.get(key, f"#{index}"))] = item
    return result


def _ordered_names(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Names in the new order, then the removed ones in their old order."""
    return [*after, *(name for name in before if name not in after)]


def _image(container: Mapping[str, Any] | None) -> str | None:
    if container is None:
        return None
    return str(container.get("image") or "")


def _template_metadata(template: Mapping[str, Any]) -> dict[str, Any]:
    metadata = _mapping(template.get("metadata"))
    labels = {k: v for k, v in _mapping(metadata.get("labels")).items() if k != HASH_LABEL}
    return {"labels": labels, "annotations": dict(_mapping(metadata.get("annotations")))}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
