"""Status summaries of malformed snapshots: wrong types are ignored, never a crash."""

from __future__ import annotations

from typing import Any

from deploy_assistant.models import RawContext
from deploy_assistant.reduce.ops import known_ops
from deploy_assistant.reduce.reducer import build_reduced_context
from deploy_assistant.reduce.status import (
    container_summaries,
    deployment_summary,
    event_summaries,
    healthy_pod_names,
    pod_is_healthy,
    pod_summaries,
)
from tests.reduce.reduce_fixtures import HEALTHY_STATUS, crash_loop_context, crashing_status, pod


def _with_pods(*pods: dict[str, Any]) -> RawContext:
    return crash_loop_context().model_copy(update={"pods": pods})


def test_container_statuses_that_are_a_string_give_no_containers() -> None:
    bad = pod("checkout-new-abcde", "checkout-new", [])
    bad["status"]["containerStatuses"] = "x"
    summaries = pod_summaries(_with_pods(bad))
    assert [(s.name, s.containers) for s in summaries] == [("checkout-new-abcde", ())]
    assert not pod_is_healthy(bad)


def test_restart_count_that_is_not_a_number_reads_as_zero() -> None:
    status = crashing_status() | {"restartCount": "many"}
    [summary] = container_summaries([status], init=False)
    assert summary.restarts == 0
    assert summary.state == "waiting: CrashLoopBackOff"
    assert summary.exit_code == 1


def test_container_status_items_of_the_wrong_type_are_skipped() -> None:
    statuses = ["app", 3, None, {"name": "app", "state": "running", "lastState": [1]}]
    [summary] = container_summaries(statuses, init=False)
    assert (summary.name, summary.state, summary.reason, summary.restarts) == ("app", "", None, 0)


def test_events_with_fields_of_the_wrong_type_are_summarised_with_defaults() -> None:
    events: list[Any] = [
        {"count": "x", "lastTimestamp": "yesterday", "involvedObject": "pod"},
        "not an event",
        {"reason": "BackOff", "series": {"count": True}, "regarding": {"kind": "Pod", "name": "p"}},
    ]
    first, second = event_summaries(events)
    assert (first.object, first.count, first.last_seen) == ("", 1, None)
    assert (second.object, second.reason, second.count) == ("Pod/p", "BackOff", 1)


def test_malformed_pod_fields_do_not_break_pod_summaries() -> None:
    odd = pod("odd", "checkout-new", [HEALTHY_STATUS])
    odd["status"] |= {"conditions": "Ready", "phase": 7, "initContainerStatuses": {"a": 1}}
    odd["spec"] = ["not", "a", "spec"]
    [summary] = pod_summaries(_with_pods(odd))
    assert (summary.phase, summary.node, summary.conditions) == (None, None, ())


def test_healthy_pod_names_skip_unreadable_statuses() -> None:
    healthy = pod("good", "checkout-new", [HEALTHY_STATUS])
    odd = pod("odd", "checkout-new", [HEALTHY_STATUS | {"restartCount": "many"}])
    assert healthy_pod_names([healthy, odd]) == {"good"}


def test_deployment_with_wrong_types_gives_a_partial_summary() -> None:
    summary = deployment_summary(
        {"metadata": {"name": "web", "annotations": "x"}, "spec": "x", "status": ["x"]}
    )
    assert summary["name"] == "web"
    assert summary["revision"] is None
    assert summary["containers"] == []


def test_whole_reduction_of_a_malformed_snapshot_keeps_the_evidence() -> None:
    raw = crash_loop_context()
    bad_pod = pod("checkout-new-abcde", "checkout-new", [crashing_status() | {"restartCount": "x"}])
    raw = raw.model_copy(
        update={
            "pods": (bad_pod, pod("checkout-new-zzz", "checkout-new", [])),
            "events": ({"count": "x", "involvedObject": "pod"}, *raw.events),
        }
    )
    raw.pods[1]["status"]["containerStatuses"] = "x"
    reduced = build_reduced_context(raw, None, known_ops())
    assert "CrashLoopBackOff" in reduced.model_dump_json()
