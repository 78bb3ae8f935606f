"""Snapshot files: atomic plain/gzip writing, the lenient loader, clear errors for broken files."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deploy_assistant.errors import SnapshotError
from deploy_assistant.models import (
    FailureRule,
    FieldChange,
    GitContext,
    LogEntry,
    RawContext,
    RolloutStatus,
    Target,
    Verdict,
)
from deploy_assistant.snapshot import (
    FORMAT,
    core_v1_event,
    load_snapshot,
    snapshot_to_json,
    write_snapshot,
)

TARGET = {"namespace": "shop", "deployment": "checkout"}


def full_context() -> RawContext:
    return RawContext(
        taken_at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
        cluster="prod-eu",
        target=Target(namespace="shop", deployment="checkout"),
        verdict=Verdict(
            status=RolloutStatus.FAILED,
            rule=FailureRule.CRASH_LOOP,
            observed_at=datetime(2026, 11, 27, 9, 59, tzinfo=UTC),
        ),
        git=GitContext(project="group/shop", commit="3f2a", mr_iid=12),
        deployment={
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "checkout"},
        },
        pods=(
            {
                "metadata": {"name": "checkout-7d9f-abcde", "ownerReferences": []},
                "status": {"containerStatuses": [{"name": "app", "restartCount": 3}]},
            },
        ),
        events=(
            {
                "involvedObject": {"kind": "Pod"},
                "reason": "BackOff",
                "message": "Back-off",
                "count": 2,
            },
        ),
        logs=(
            LogEntry(pod="checkout-7d9f-abcde", container="app", previous=True, text="boom ✗\n"),
        ),
        rollout_diff=(FieldChange(field="container/app.image", before="a:1", after="a:2"),),
        missing=("logs of pod x: forbidden by RBAC.",),
    )


def write_json(tmp_path: Path, document: Any, name: str = "snap.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["snap.json", "snap.json.gz"])
def test_round_trip_keeps_everything(tmp_path: Path, name: str) -> None:
    raw = full_context()
    path = tmp_path / name
    write_snapshot(raw, path)
    assert load_snapshot(path) == raw
    assert path.read_bytes().startswith(b"\x1f\x8b") == name.endswith(".gz")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_json_shape_uses_format_fields_and_keeps_k8s_objects_untouched() -> None:
    data = snapshot_to_json(full_context())
    assert data["format"] == FORMAT
    assert data["taken_at"] == "2026-11-27T10:00:00Z"
    assert data["verdict"] == {
        "status": "FAILED",
        "rule": "CRASH_LOOP",
        "message": "",
        "observed_at": "2026-11-27T09:59:00Z",
    }
    assert data["pods"][0]["status"]["containerStatuses"][0]["restartCount"] == 3
    assert data["pods"][0]["metadata"]["ownerReferences"] == []


def test_gzip_detected_by_magic_bytes_not_name(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_bytes(gzip.compress(json.dumps({"format": FORMAT, "target": TARGET}).encode()))
    assert load_snapshot(path).target == Target(namespace="shop", deployment="checkout")


def test_minimal_hand_made_snapshot_loads(tmp_path: Path) -> None:
    path = write_json(
        tmp_path,
        {
            "format": FORMAT,
            "target": TARGET,
            "pods": [
                {"metadata": {"name": "p1"}, "status": {"containerStatuses": [{"name": "a"}]}}
            ],
            "events": [{"reason": "BackOff", "message": "Back-off restarting failed container"}],
            "unknown_top_level": {"ignored": True},
        },
    )
    raw = load_snapshot(path)
    assert raw.deployment is None
    assert raw.replicasets == ()
    assert raw.pods[0]["metadata"]["name"] == "p1"
    assert raw.events == ({"reason": "BackOff", "message": "Back-off restarting failed container"},)
    assert raw.missing == ()


def test_events_v1_are_normalised_to_core_names(tmp_path: Path) -> None:
    v1 = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "e1", "uid": "u1"},
        "regarding": {"kind": "Pod", "name": "p1"},
        "note": "Back-off restarting failed container",
        "reason": "BackOff",
        "type": "Warning",
        "eventTime": "2026-11-27T09:58:00.000000Z",
        "series": {"count": 7, "lastObservedTime": "2026-11-27T09:59:30.000000Z"},
        "reportingController": "kubelet",
    }
    raw = load_snapshot(write_json(tmp_path, {"format": FORMAT, "target": TARGET, "events": [v1]}))
    event = raw.events[0]
    assert event["involvedObject"] == {"kind": "Pod", "name": "p1"}
    assert event["message"] == "Back-off restarting failed container"
    assert event["count"] == 7
    assert event["firstTimestamp"] == "2026-11-27T09:58:00.000000Z"
    assert event["lastTimestamp"] == "2026-11-27T09:59:30.000000Z"
    assert event["reportingComponent"] == "kubelet"
    assert "regarding" not in event
    assert "note" not in event


def test_deprecated_v1_fields_map_to_core_names() -> None:
    event = core_v1_event(
        {
            "regarding": {"name": "p"},
            "note": "m",
            "deprecatedCount": 4,
            "deprecatedFirstTimestamp": "2026-11-27T09:00:00Z",
            "deprecatedLastTimestamp": "2026-11-27T09:01:00Z",
            "deprecatedSource": {"component": "kubelet"},
        }
    )
    assert event["count"] == 4
    assert event["firstTimestamp"] == "2026-11-27T09:00:00Z"
    assert event["lastTimestamp"] == "2026-11-27T09:01:00Z"
    assert event["source"] == {"component": "kubelet"}
    core = {"involvedObject": {"name": "p"}, "message": "m", "count": 1}
    assert core_v1_event(core) == core


def test_unknown_verdict_rule_is_dropped_and_noted(tmp_path: Path) -> None:
    document = {
        "format": FORMAT,
        "target": TARGET,
        "verdict": {"status": "FAILED", "rule": "FUTURE_RULE", "extra": 1, "pod": "p1"},
        "git": {"project": "g/p", "commit": "abc", "mr_iid": "17", "unknown": "x", "ref": 5},
    }
    raw = load_snapshot(write_json(tmp_path, document))
    assert raw.verdict == Verdict(status=RolloutStatus.FAILED, pod="p1")
    assert raw.git == GitContext(project="g/p", commit="abc", mr_iid=17)
    assert any("FUTURE_RULE" in note for note in raw.missing)


def test_unknown_verdict_status_drops_the_verdict(tmp_path: Path) -> None:
    document = {"format": FORMAT, "target": TARGET, "verdict": {"status": "EXPLODED"}, "git": {}}
    raw = load_snapshot(write_json(tmp_path, document))
    assert raw.verdict is None
    assert raw.git is None
    assert any("EXPLODED" in note for note in raw.missing)
    assert any("git" in note for note in raw.missing)


def test_unreadable_parts_are_dropped_and_noted(tmp_path: Path) -> None:
    document = {
        "format": FORMAT,
        "target": TARGET,
        "taken_at": "yesterday",
        "pods": [{"status": {}}, {"metadata": {"name": "p2"}, "status": "broken"}, "junk"],
        "replicasets": {"not": "a list"},
        "events": ["junk"],
        "logs": [{"pod": "p2"}, {"pod": "p2", "container": "app", "text": 5}],
        "rollout_diff": [{"before": "x"}, {"field": "container/a.image", "before": 1}],
    }
    raw = load_snapshot(write_json(tmp_path, document))
    assert [p["metadata"]["name"] for p in raw.pods] == ["p2"]
    assert "status" not in raw.pods[0]
    assert raw.replicasets == ()
    assert raw.events == ()
    assert raw.logs == (LogEntry(pod="p2", container="app", text=""),)
    assert raw.rollout_diff == (FieldChange(field="container/a.image", before="1"),)
    assert raw.taken_at is None
    assert len(raw.missing) == 8


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "is not JSON"),
        (b"\xff\xfe\x00garbage", "is not UTF-8"),
        (b"[1, 2]", "is not a JSON object"),
        (json.dumps({"target": TARGET}).encode(), "has no `format` field"),
        (json.dumps({"format": "other@2", "target": TARGET}).encode(), "has format 'other@2'"),
        (json.dumps({"format": FORMAT}).encode(), "no usable `target`"),
        (json.dumps({"format": FORMAT, "target": {"namespace": "x"}}).encode(), "no usable"),
        (b"\x1f\x8b\x08\x00broken", "damaged gzip"),
    ],
)
def test_broken_files_raise_one_sentence_naming_the_file(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(SnapshotError) as info:
        load_snapshot(path)
    message = str(info.value)
    assert str(path) in message
    assert problem in message
    assert message.endswith(".")
    assert "\n" not in message


def test_missing_file_raises_snapshot_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="Cannot read snapshot"):
        load_snapshot(tmp_path / "absent.json")


def test_write_into_missing_directory_raises_snapshot_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="Cannot write snapshot"):
        write_snapshot(full_context(), tmp_path / "no" / "such" / "dir.json")


def test_overwrite_replaces_existing_file_atomically(tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    path.write_text("old content", encoding="utf-8")
    write_snapshot(full_context(), path)
    assert load_snapshot(path).cluster == "prod-eu"
