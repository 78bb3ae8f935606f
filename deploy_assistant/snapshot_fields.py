"""Lenient readers of a snapshot's fields: verdict, git context, target, timestamps, Events.

Each takes whatever JSON the file holds and returns the model, or None with one sentence appended
to `missing` naming what was ignored; `core_v1_event` puts events.k8s.io/v1 Events in core/v1 names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from deploy_assistant.models import (
    FailureRule,
    GitContext,
    KubeObject,
    RolloutStatus,
    Target,
    Verdict,
)


def core_v1_event(event: Mapping[str, Any]) -> KubeObject:
    """An Event in core/v1 field names; events.k8s.io/v1 ones are translated, others kept as is."""
    is_v1 = str(event.get("apiVersion", "")).startswith("events.k8s.io/") or (
        "involvedObject" not in event and ("regarding" in event or "note" in event)
    )
    if not is_v1:
        return dict(event)
    renames = {
        "regarding": "involvedObject",
        "note": "message",
        "deprecatedCount": "count",
        "deprecatedFirstTimestamp": "firstTimestamp",
        "deprecatedLastTimestamp": "lastTimestamp",
        "deprecatedSource": "source",
        "reportingController": "reportingComponent",
    }
    result: KubeObject = {}
    for key, value in event.items():
        if value is not None:
            result[renames.get(key, key)] = value
    result["apiVersion"] = "v1"
    series = event.get("series")
    if isinstance(series, Mapping):
        if not result.get("count") and series.get("count") is not None:
            result["count"] = series["count"]
        if not result.get("lastTimestamp") and series.get("lastObservedTime"):
            result["lastTimestamp"] = series["lastObservedTime"]
    if event.get("eventTime"):
        result.setdefault("firstTimestamp", event["eventTime"])
        result.setdefault("lastTimestamp", event["eventTime"])
    return result


def lenient_datetime(value: Any, what: str, missing: list[str]) -> datetime | None:
    """An ISO 8601 timestamp (a trailing Z accepted), or None with the bad value named."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        missing.append(f"The snapshot's {what} {str(value)[:40]!r} is not a timestamp; ignored.")
        return None


def lenient_verdict(value: Any, missing: list[str]) -> Verdict | None:
    """A Verdict from what is readable: an unknown status drops it, an unknown rule the rule."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        missing.append("The snapshot's verdict is not an object; ignored.")
        return None
    try:
        status = RolloutStatus(str(value.get("status")))
    except ValueError:
        missing.append(
            f"The snapshot's verdict status {str(value.get('status'))[:40]!r} is unknown; "
            "the verdict was ignored."
        )
        return None
    rule: FailureRule | None = None
    if value.get("rule") is not None:
        try:
            rule = FailureRule(str(value["rule"]))
        except ValueError:
            missing.append(
                f"The snapshot's verdict rule {str(value['rule'])[:40]!r} is unknown; ignored."
            )
    texts = {k: value[k] for k in ("message", "pod", "container") if isinstance(value.get(k), str)}
    return Verdict(
        status=status,
        rule=rule,
        target=lenient_target(value.get("target")),
        observed_at=lenient_datetime(value.get("observed_at"), "verdict time", missing),
        **texts,
    )


def lenient_git(value: Any, missing: list[str]) -> GitContext | None:
    """A GitContext when `project` and `commit` are readable; other bad fields are dropped."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(value.get(k), str) and value.get(k) for k in ("project", "commit")
    ):
        missing.append("The snapshot's git context lacks project or commit; ignored.")
        return None
    fields: dict[str, Any] = {
        name: value[name]
        for name in GitContext.model_fields
        if name != "mr_iid" and isinstance(value.get(name), str)
    }
    iid = value.get("mr_iid")
    if isinstance(iid, int | str) and str(iid).isdigit():
        fields["mr_iid"] = int(iid)
    return GitContext(**fields)


def lenient_target(value: Any) -> Target | None:
    """A Target when namespace and deployment are non-empty strings, else None."""
    if not isinstance(value, Mapping):
        return None
    namespace, deployment = value.get("namespace"), value.get("deployment")
    if isinstance(namespace, str) and namespace and isinstance(deployment, str) and deployment:
        return Target(namespace=namespace, deployment=deployment)
    return None
