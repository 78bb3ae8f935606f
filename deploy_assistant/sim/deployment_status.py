"""Deployment status as the controller computes it: counters summed over the ReplicaSets, the
Available and Progressing conditions (`syncRolloutStatus`), ReplicaFailure copied from the new
ReplicaSet, and when to look again for the progress deadline (`requeueStuckDeployment`)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from deploy_assistant.sim.cluster import SimContext
from deploy_assistant.sim.state import Obj, clone

COMPLETE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"


def _int_or_percent(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        scaled = int(value[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(value)


def surge_and_unavailable(deployment: Obj) -> tuple[int, int]:
    """`ResolveFenceposts`: maxSurge rounds up, maxUnavailable down; both 0 means 1 unavailable."""
    spec = deployment["spec"]
    if spec.get("strategy", {}).get("type") == "Recreate":
        return 0, 0
    rolling = spec["strategy"].get("rollingUpdate") or {}
    replicas = int(spec.get("replicas", 1))
    surge = _int_or_percent(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def set_condition(
    ctx: SimContext,
    status: dict[str, Any],
    kind: str,
    value: str,
    reason: str,
    message: str,
    *,
    refresh: bool = False,
) -> None:
    """`SetDeploymentCondition`; `refresh` replaces an equal condition to bump lastUpdateTime."""
    current = _condition(status, kind)
    if current and current["status"] == value and current["reason"] == reason and not refresh:
        return
    now = ctx.stamp()
    condition = {
        "type": kind,
        "status": value,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }
    if current and current["status"] == value:
        condition["lastTransitionTime"] = current["lastTransitionTime"]
    others = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    status["conditions"] = [*others, condition]


def _count(rs: Obj, field: str) -> int:
    return int((rs.get("status") or {}).get(field, 0))


def _counters(deployment: Obj, all_rss: list[Obj], new_rs: Obj | None) -> dict[str, int]:
    total = sum(int(rs["spec"].get("replicas", 0)) for rs in all_rss)
    available = sum(_count(rs, "availableReplicas") for rs in all_rss)
    return {
        "observedGeneration": int(deployment["metadata"].get("generation", 1)),
        "replicas": sum(_count(rs, "replicas") for rs in all_rss),
        "updatedReplicas": _count(new_rs, "replicas") if new_rs else 0,
        "readyReplicas": sum(_count(rs, "readyReplicas") for rs in all_rss),
        "availableReplicas": available,
        "unavailableReplicas": max(total - available, 0),
    }


def _complete(deployment: Obj, counts: dict[str, int]) -> bool:
    replicas = int(deployment["spec"].get("replicas", 1))
    return (
        counts["updatedReplicas"] == replicas
        and counts["replicas"] == replicas
        and counts["availableReplicas"] == replicas
        and counts["observedGeneration"] >= int(deployment["metadata"].get("generation", 1))
    )


def _progressed(old: dict[str, Any], counts: dict[str, int]) -> bool:
    def get(field: str) -> int:
        return int(old.get(field, 0))

    old_pods = get("replicas") - get("updatedReplicas")
    return (
        counts["updatedReplicas"] > get("updatedReplicas")
        or counts["replicas"] - counts["updatedReplicas"] < old_pods
        or counts["readyReplicas"] > get("readyReplicas")
        or counts["availableReplicas"] > get("availableReplicas")
    )


def rollout_status(
    ctx: SimContext, deployment: Obj, all_rss: list[Obj], new_rs: Obj | None
) -> tuple[dict[str, Any], float | None]:
    """The new status, and in how many seconds to re-check the progress deadline (or None)."""
    old = deployment.get("status") or {}
    counts = _counters(deployment, all_rss, new_rs)
    status: dict[str, Any] = {k: v for k, v in counts.items() if v or k == "observedGeneration"}
    if "collisionCount" in old:
        status["collisionCount"] = old["collisionCount"]
    status["conditions"] = clone(old.get("conditions") or [])
    spec = deployment["spec"]
    replicas = int(spec.get("replicas", 1))
    max_unavailable = min(surge_and_unavailable(deployment)[1], replicas)
    if counts["availableReplicas"] >= replicas - max_unavailable:
        set_condition(
            ctx,
            status,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    else:
        set_condition(
            ctx,
            status,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    progressing = _condition(status, "Progressing")
    if spec.get("paused"):
        if not progressing or progressing["reason"] not in (TIMED_OUT, PAUSED):
            set_condition(ctx, status, "Progressing", "Unknown", PAUSED, "Deployment is paused")
        return status, None
    if progressing and progressing["reason"] == PAUSED:
        set_condition(
            ctx, status, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed"
        )
    _set_progress(ctx, deployment, status, old, counts, new_rs)
    failure = _condition((new_rs or {}).get("status") or {}, "ReplicaFailure")
    if failure:
        set_condition(ctx, status, "ReplicaFailure", "True", failure["reason"], failure["message"])
    else:
        status["conditions"] = [c for c in status["conditions"] if c["type"] != "ReplicaFailure"]
    return status, _recheck_seconds(ctx, deployment, status, counts)


def _set_progress(
    ctx: SimContext,
    deployment: Obj,
    status: dict[str, Any],
    old: dict[str, Any],
    counts: dict[str, int],
    new_rs: Obj | None,
) -> None:
    current = _condition(status, "Progressing")
    if (
        counts["replicas"] == counts["updatedReplicas"]
        and current
        and current["reason"] == COMPLETE
    ):
        return
    subject = (
        f'ReplicaSet "{new_rs["metadata"]["name"]}"'
        if new_rs
        else f'Deployment "{deployment["metadata"]["name"]}"'
    )
    if _complete(deployment, counts):
        set_condition(
            ctx, status, "Progressing", "True", COMPLETE, f"{subject} has successfully progressed."
        )
    elif _progressed(old, counts):
        set_condition(
            ctx,
            status,
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            f"{subject} is progressing.",
            refresh=True,
        )
    elif _timed_out(ctx, deployment, current):
        set_condition(
            ctx, status, "Progressing", "False", TIMED_OUT, f"{subject} has timed out progressing."
        )


def _timed_out(ctx: SimContext, deployment: Obj, progressing: dict[str, Any] | None) -> bool:
    if progressing is None or progressing["reason"] == COMPLETE:
        return False
    if progressing["reason"] == TIMED_OUT:
        return True
    deadline = int(deployment["spec"].get("progressDeadlineSeconds", 600))
    waited = (ctx.now() - _parse(progressing["lastUpdateTime"])).total_seconds()
    return waited > deadline


def _recheck_seconds(
    ctx: SimContext, deployment: Obj, status: dict[str, Any], counts: dict[str, int]
) -> float | None:
    progressing = _condition(status, "Progressing")
    if progressing is None or progressing["reason"] in (COMPLETE, TIMED_OUT):
        return None
    if _complete(deployment, counts):
        return None
    deadline = int(deployment["spec"].get("progressDeadlineSeconds", 600))
    waited = (ctx.now() - _parse(progressing["lastUpdateTime"])).total_seconds()
    return max(deadline - waited, 0.0) + 1.0
