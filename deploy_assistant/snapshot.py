"""Snapshot files (`deploy-assistant/snapshot@1`): a `RawContext` on disk, and back.

`write_snapshot` writes JSON (gzip when the name ends in `.gz`) atomically; the caller redacts
first. `load_snapshot` is lenient, as the format promises: only `format`, `target` and each
object's `metadata.name` (events excepted) are required; what cannot be read is dropped and named
in `missing`; events.k8s.io/v1 Events are normalised to core/v1 field names. A file that is not a
snapshot at all raises `SnapshotError` with one sentence naming the file and the problem.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deploy_assistant.errors import SnapshotError
from deploy_assistant.models import FieldChange, KubeObject, LogEntry, RawContext
from deploy_assistant.snapshot_fields import core_v1_event as core_v1_event
from deploy_assistant.snapshot_fields import lenient_datetime as lenient_datetime
from deploy_assistant.snapshot_fields import lenient_git as lenient_git
from deploy_assistant.snapshot_fields import lenient_target as lenient_target
from deploy_assistant.snapshot_fields import lenient_verdict as lenient_verdict

FORMAT = "deploy-assistant/snapshot@1"
_GZIP_MAGIC = b"\x1f\x8b"


def snapshot_to_json(raw: RawContext) -> dict[str, Any]:
    """The snapshot as a JSON-ready dict: Kubernetes objects untouched, empty optionals left out."""
    data = raw.model_dump(mode="json")
    for key in ("verdict", "git"):
        if isinstance(data.get(key), dict):
            data[key] = {k: v for k, v in data[key].items() if v is not None}
    return {k: v for k, v in data.items() if v is not None}


def write_snapshot(raw: RawContext, path: Path) -> None:
    """Write `raw` to `path` atomically (temp file + rename); `.gz` names are gzip-compressed."""
    text = json.dumps(snapshot_to_json(raw), indent=2, ensure_ascii=False) + "\n"
    data = text.encode("utf-8")
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    directory = path.parent if str(path.parent) else Path()
    tmp_name: str | None = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=directory, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as tmp:
            tmp_name = tmp.name
            tmp.write(data)
        os.replace(tmp_name, path)
    except OSError as exc:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
        raise SnapshotError(f"Cannot write snapshot {path}: {exc.strerror or exc}.") from exc


def load_snapshot(path: Path) -> RawContext:
    """Read a snapshot file (plain or gzip, detected by magic bytes) as leniently as possible."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"Cannot read snapshot {path}: {exc.strerror or exc}.") from exc
    if data.startswith(_GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise SnapshotError(f"Snapshot {path} is a damaged gzip file.") from exc
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"Snapshot {path} is not UTF-8 text.") from exc
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"Snapshot {path} is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        ) from exc
    return parse_snapshot(document, source=str(path))


def parse_snapshot(document: Any, *, source: str = "snapshot") -> RawContext:
    """A decoded snapshot document → RawContext; `source` names it in error sentences."""
    if not isinstance(document, Mapping):
        raise SnapshotError(f"Snapshot {source} is not a JSON object.")
    if document.get("format") != FORMAT:
        found = document.get("format")
        problem = "has no `format` field" if found is None else f"has format {found!r}"
        raise SnapshotError(f"Snapshot {source} {problem}; expected {FORMAT!r}.")
    target = lenient_target(document.get("target"))
    if target is None:
        raise SnapshotError(
            f"Snapshot {source} has no usable `target` (needs namespace and deployment)."
        )
    missing: list[str] = [str(m) for m in _list(document.get("missing")) if isinstance(m, str)]
    deployment = document.get("deployment")
    if deployment is not None:
        kept = _named_objects([deployment], "deployment", missing)
        deployment = kept[0] if kept else None
    return RawContext(
        taken_at=lenient_datetime(document.get("taken_at"), "taken_at", missing),
        cluster=document.get("cluster") if isinstance(document.get("cluster"), str) else None,
        target=target,
        verdict=lenient_verdict(document.get("verdict"), missing),
        git=lenient_git(document.get("git"), missing),
        deployment=deployment,
        replicasets=tuple(_named_objects(document.get("replicasets"), "replicaset", missing)),
        pods=tuple(_named_objects(document.get("pods"), "pod", missing)),
        events=tuple(_events(document.get("events"), missing)),
        logs=tuple(_logs(document.get("logs"), missing)),
        nodes=tuple(_named_objects(document.get("nodes"), "node", missing)),
        rollout_diff=tuple(_field_changes(document.get("rollout_diff"), missing)),
        missing=tuple(missing),
    )


# --- lenient pieces -------------------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _named_objects(value: Any, kind: str, missing: list[str]) -> list[KubeObject]:
    if value is not None and not isinstance(value, list):
        missing.append(f"The snapshot's {kind} list is not a list; it was ignored.")
        return []
    kept: list[KubeObject] = []
    for index, obj in enumerate(_list(value)):
        metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        if not isinstance(name, str) or not name:
            missing.append(
                f"A {kind} in the snapshot (#{index + 1}) has no metadata.name; ignored."
            )
            continue
        kept.append(_shape_checked(obj, kind, name, missing))
    return kept


def _shape_checked(obj: Mapping[str, Any], kind: str, name: str, missing: list[str]) -> KubeObject:
    """Drop `spec`/`status` when they are not objects, so readers can trust their type."""
    result = dict(obj)
    for key in ("spec", "status"):
        if key in result and not isinstance(result[key], Mapping):
            del result[key]
            missing.append(f"The {key} of {kind} {name} in the snapshot is malformed; ignored.")
    return result


def _events(value: Any, missing: list[str]) -> list[KubeObject]:
    events: list[KubeObject] = []
    for index, event in enumerate(_list(value)):
        if not isinstance(event, Mapping):
            missing.append(f"Event #{index + 1} in the snapshot is not an object; ignored.")
            continue
        events.append(core_v1_event(event))
    return events


def _logs(value: Any, missing: list[str]) -> list[LogEntry]:
    logs: list[LogEntry] = []
    for index, entry in enumerate(_list(value)):
        if not isinstance(entry, Mapping) or not all(
            isinstance(entry.get(key), str) for key in ("pod", "container")
        ):
            missing.append(f"Log #{index + 1} in the snapshot names no pod and container; ignored.")
            continue
        text = entry.get("text")
        logs.append(
            LogEntry(
                pod=entry["pod"],
                container=entry["container"],
                previous=entry.get("previous") is True,
                init=entry.get("init") is True,
                text=text if isinstance(text, str) else "",
                truncated=entry.get("truncated") is True,
            )
        )
    return logs


def _field_changes(value: Any, missing: list[str]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for entry in _list(value):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("field"), str):
            missing.append("A rollout_diff entry in the snapshot names no field; ignored.")
            continue
        changes.append(
            FieldChange(
                field=entry["field"],
                before=_text_or_none(entry.get("before")),
                after=_text_or_none(entry.get("after")),
            )
        )
    return changes


def _text_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None
    return str(value)
