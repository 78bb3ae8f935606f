"""The three PATCH flavours the API server accepts, applied to JSON-shaped objects.

- JSON merge patch (RFC 7386, `application/merge-patch+json`): maps merge, `null` deletes, lists
  are replaced whole.
- Strategic merge patch (`application/strategic-merge-patch+json`): like a merge patch, but lists of
  named things merge item by item on their merge key (`containers` by `name`, `volumeMounts` by
  `mountPath`, `ports` by `containerPort`, ...), `$patch: delete` removes a list item and
  `$patch: replace` replaces a map. Other `$` directives (`$setElementOrder/...`, `$retainKeys`) are
  accepted and ignored.
- JSON patch (RFC 6902, `application/json-patch+json`): add, remove, replace, move, copy, test.

Every function returns a new value and leaves its inputs untouched. Errors raise `PatchError`.
"""

from __future__ import annotations

from typing import Any

from deploy_assistant.sim.objects import clone

MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "conditions": "type",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
}


class PatchError(ValueError):
    """The patch body is malformed or cannot be applied to the object."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Kubernetes strategic merge patch for the list fields named in `MERGE_KEYS`."""
    if not isinstance(patch, dict):
        return clone(patch)
    if patch.get("$patch") == "replace":
        return {k: clone(v) for k, v in patch.items() if k != "$patch"}
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif key in MERGE_KEYS and isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, MERGE_KEYS[key])
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def _merge_list(target: Any, patch: list[Any], merge_key: str) -> list[Any]:
    items: list[Any] = clone(target) if isinstance(target, list) else []
    for patch_item in patch:
        if not isinstance(patch_item, dict) or merge_key not in patch_item:
            raise PatchError(f"map item in the list lacks the merge key {merge_key!r}")
        position = next(
            (
                i
                for i, item in enumerate(items)
                if isinstance(item, dict) and item.get(merge_key) == patch_item[merge_key]
            ),
            None,
        )
        if patch_item.get("$patch") == "delete":
            if position is not None:
                del items[position]
        elif position is None:
            items.append({k: clone(v) for k, v in patch_item.items() if not k.startswith("$")})
        else:
            items[position] = strategic_merge_patch(items[position], patch_item)
    return items


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise PatchError(f"path segment {part!r} does not exist") from exc
    return node


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts)
    try:
        return parent[int(parts[-1])] if isinstance(parent, list) else parent[parts[-1]]
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise PatchError(f"path {path!r} does not exist") from exc


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    parent = _parent(doc, parts)
    try:
        return parent.pop(int(parts[-1]) if isinstance(parent, list) else parts[-1])
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise PatchError(f"path {path!r} does not exist") from exc


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _parent(doc, parts)
    if isinstance(parent, list):
        index = len(parent) if parts[-1] == "-" else int(parts[-1])
        if not 0 <= index <= len(parent):
            raise PatchError(f"index out of range in {path!r}")
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[parts[-1]] = value
    else:
        raise PatchError(f"cannot add at {path!r}")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = clone(target)
    for operation in operations:
        op, path = operation.get("op"), operation.get("path", "")
        if op == "add":
            doc = _add(doc, path, clone(operation.get("value")))
        elif op == "remove":
            _remove(doc, path)
        elif op == "replace":
            _remove(doc, path)
            doc = _add(doc, path, clone(operation.get("value")))
        elif op in ("move", "copy"):
            source = operation.get("from", "")
            value = _remove(doc, source) if op == "move" else clone(_get(doc, source))
            doc = _add(doc, path, value)
        elif op == "test":
            if _get(doc, path) != operation.get("value"):
                raise PatchError(f"test operation failed at {path!r}")
        else:
            raise PatchError(f"unknown JSON patch operation {op!r}")
    return doc


def apply_patch(content_type: str, target: Any, patch: Any) -> Any:
    """Dispatch on the request's Content-Type; unknown types raise `PatchError`."""
    media = content_type.split(";")[0].strip().lower()
    if media == "application/merge-patch+json":
        return merge_patch(target, patch)
    if media == "application/strategic-merge-patch+json":
        return strategic_merge_patch(target, patch)
    if media == "application/json-patch+json":
        return json_patch(target, patch)
    raise PatchError(f"the media type {media!r} is not a supported patch type")
