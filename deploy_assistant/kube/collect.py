"""Collect everything about one rollout into a `RawContext` (seed §13.2), never crashing.

What is read: the Deployment, its new and previous ReplicaSets, the new ReplicaSet's pods and a
sample of old pods for comparison, the Events of all of those (core/v1 and events.k8s.io/v1,
deduplicated, kept in core/v1 shape), container logs (current, previous for restarted containers,
init containers that did not finish cleanly; tail- and byte-bounded), the nodes hosting failing
pods (trimmed), and the rollout diff. Every read that fails (forbidden, gone, API error) becomes
one sentence in `RawContext.missing`; once the API is unreachable nothing more is tried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any, TypeVar

from deploy_assistant.clock import Clock
from deploy_assistant.errors import ClusterUnavailable
from deploy_assistant.kube.client import KubeApiError, KubeClient
from deploy_assistant.kube.collect_logs import pod_logs
from deploy_assistant.kube.diff import rollout_diff
from deploy_assistant.kube.revisions import (
    find_new_replicaset,
    find_previous_replicaset,
    is_ready,
    label_selector,
    owned_replicasets,
    split_pods,
)
from deploy_assistant.models import GitContext, KubeObject, RawContext, Target, Verdict
from deploy_assistant.settings import ReduceSettings
from deploy_assistant.snapshot import core_v1_event

log = logging.getLogger(__name__)
T = TypeVar("T")

_V1_EVENT = "events.k8s.io event"
MAX_DETAIL_PODS = 10
"""New pods whose events and logs are read (failing first); more are alike and only cost calls."""


def collect_raw_context(
    client: KubeClient,
    target: Target,
    *,
    verdict: Verdict | None,
    git: GitContext | None,
    cluster: str | None,
    clock: Clock,
    settings: ReduceSettings,
) -> RawContext:
    """Everything about `target`'s rollout; what could not be read is named in `missing`."""
    reader = _Reader(client, target.namespace, settings)
    base: dict[str, Any] = {
        "taken_at": clock.now(),
        "cluster": cluster,
        "target": target,
        "verdict": verdict,
        "git": git,
    }
    deployment = reader.attempt(
        f"Deployment {target.namespace}/{target.deployment}",
        lambda: client.read_deployment(target.namespace, target.deployment),
    )
    if deployment is None:
        return RawContext(**base, missing=tuple(reader.missing))
    selector = label_selector(deployment)
    rs_list = reader.attempt(
        f"The ReplicaSets of {target.deployment}",
        lambda: client.list_replicasets(target.namespace, selector).items,
    )
    owned = owned_replicasets(deployment, rs_list or [])
    new_rs = find_new_replicaset(deployment, owned)
    previous_rs = find_previous_replicaset(deployment, owned)
    all_pods = reader.attempt(
        f"The pods of {target.deployment}",
        lambda: client.list_pods(target.namespace, selector).items,
    )
    new_pods, old_pods = split_pods(all_pods or [], new_rs, previous_rs, owned, rs_list is None)
    old_sample = old_pods[: max(settings.old_pod_sample, 0)]
    replicasets = tuple(rs for rs in (new_rs, previous_rs) if rs is not None)
    pods = (*new_pods, *old_sample)
    verdict_pod = verdict.pod if verdict else None
    ranked = sorted(new_pods, key=lambda p: (_name(p) != verdict_pod, is_ready(p), _name(p)))
    detailed, skipped = ranked[:MAX_DETAIL_PODS], len(ranked[MAX_DETAIL_PODS:])
    if skipped:
        reader.missing.append(
            f"Events and logs of {skipped} more new pods were not read "
            f"(only {MAX_DETAIL_PODS}, failing ones first)."
        )
    previous_template = _spec(previous_rs).get("template") if previous_rs else None
    raw = RawContext(
        **base,
        deployment=deployment,
        replicasets=replicasets,
        pods=pods,
        events=tuple(
            reader.events(
                [("Deployment", deployment)]
                + [("ReplicaSet", rs) for rs in replicasets]
                + [("pod", pod) for pod in (*detailed, *old_sample)]
            )
        ),
        logs=tuple(pod_logs(reader, detailed, old_sample)),
        nodes=tuple(reader.nodes(new_pods)),
        rollout_diff=rollout_diff(previous_template, _spec(deployment).get("template") or {}),
        missing=(*reader.missing, *reader.skipped_notes()),
    )
    log.info("collected %s/%s: %d missing", target.namespace, target.deployment, len(raw.missing))
    return raw


def trimmed_node(node: Mapping[str, Any]) -> KubeObject:
    """Only what explains a failing pod: name, labels, conditions, nodeInfo and allocatable."""
    metadata, status = _mapping(node.get("metadata")), _mapping(node.get("status"))
    return {
        "kind": "Node",
        "metadata": {k: metadata[k] for k in ("name", "labels") if k in metadata},
        "status": {k: status[k] for k in ("conditions", "nodeInfo", "allocatable") if k in status},
    }


class _Reader:
    """Performs reads, turning each failure into one sentence in `missing`."""

    def __init__(self, client: KubeClient, namespace: str, settings: ReduceSettings) -> None:
        self.client = client
        self.namespace = namespace
        self.settings = settings
        self.missing: list[str] = []
        self.unreachable = False
        self.last_status: int | None = None
        self._stopped: set[str | None] = set()
        """Kinds of read that failed in a way that will repeat (forbidden, API absent)."""
        self._skipped: dict[str, int] = {}

    def attempt(
        self, what: str, call: Callable[[], T], *, kind: str | None = None, note: bool = True
    ) -> T | None:
        """`call()`, or None with its failure noted. A forbidden `kind` is not asked again."""
        self.last_status = None
        if self.unreachable or kind in self._stopped:
            if kind not in (None, _V1_EVENT) and not self.unreachable:
                self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return None
        try:
            return call()
        except KubeApiError as exc:
            self.last_status = exc.status
            # Forbidden repeats for every object; a 404 on an event list means the API is absent.
            if kind is not None and (
                exc.status == 403 or (exc.status == 404 and kind == _V1_EVENT)
            ):
                self._stopped.add(kind)
            if note:
                self.missing.append(_sentence(what, exc))
        except ClusterUnavailable as exc:
            self.unreachable = True
            self.missing.append(f"{what} could not be read, nor anything after it: {exc}")
        return None

    def skipped_notes(self) -> list[str]:
        return [
            f"{count} more {kind} reads were skipped after the first was refused."
            for kind, count in sorted(self._skipped.items())
        ]

    # --- events -----------------------------------------------------------------------------------

    def events(self, objects: list[tuple[str, KubeObject]]) -> list[KubeObject]:
        """Events about each (kind, object) from both APIs, once each, oldest first."""
        seen: dict[tuple[str, ...], KubeObject] = {}
        for kind, obj in objects:
            uid = _mapping(obj.get("metadata")).get("uid")
            if not uid:
                continue
            for event in self._events_about(str(uid), f"{kind} {_name(obj)}"):
                seen.setdefault(_event_key(event), event)
        return sorted(seen.values(), key=_event_time)

    def _events_about(self, uid: str, label: str) -> Iterator[KubeObject]:
        core = self.attempt(
            f"The events of {label}",
            lambda: self.client.list_events(self.namespace, f"involvedObject.uid={uid}").items,
            kind="event",
        )
        yield from core or []
        v1 = self.attempt(
            f"The events.k8s.io events of {label}",
            lambda: self.client.list_events_v1(self.namespace, f"regarding.uid={uid}").items,
            kind=_V1_EVENT,
            note=core is None,  # both APIs serve the same events: one failure loses nothing
        )
        yield from (core_v1_event(event) for event in v1 or [])

    # --- nodes ------------------------------------------------------------------------------------

    def nodes(self, new_pods: list[KubeObject]) -> list[KubeObject]:
        names = sorted(
            {
                str(_spec(pod).get("nodeName"))
                for pod in new_pods
                if _spec(pod).get("nodeName") and not is_ready(pod)
            }
        )
        nodes = (
            self.attempt(f"Node {name}", partial(self.client.read_node, name), kind="node")
            for name in names
        )
        return [trimmed_node(node) for node in nodes if node is not None]


def _sentence(what: str, exc: KubeApiError) -> str:
    message = str(exc).rstrip(".")
    if exc.status == 403:
        return f"{what} could not be read: forbidden by RBAC ({message})."
    if exc.status == 404:
        return f"{what} could not be read: not found, it may have been deleted ({message})."
    return f"{what} could not be read: the API answered {exc.status} ({message})."


def _event_key(event: Mapping[str, Any]) -> tuple[str, ...]:
    """An events.k8s.io/v1 Event and its core/v1 twin share uid and name."""
    metadata = _mapping(event.get("metadata"))
    if metadata.get("uid"):
        return ("uid", str(metadata["uid"]))
    if metadata.get("name"):
        return ("name", str(metadata.get("namespace")), str(metadata["name"]))
    involved = _mapping(event.get("involvedObject"))
    return (
        "content",
        str(involved.get("uid")),
        str(event.get("reason")),
        str(event.get("message")),
    )


def _event_time(event: Mapping[str, Any]) -> tuple[str, str]:
    moment = event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
    return (str(moment or ""), str(_mapping(event.get("metadata")).get("name") or ""))


def _spec(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return _mapping(obj.get("spec")) if obj is not None else {}


def _name(obj: Mapping[str, Any]) -> str:
    return str(_mapping(obj.get("metadata")).get("name") or "")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
