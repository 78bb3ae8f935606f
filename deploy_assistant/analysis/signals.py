"""Facts read out of a RawContext: the new ReplicaSet's pods, their containers, events and logs.

Everything here is pure and lenient: objects may be partial (a pod with only
`status.containerStatuses`, an event with only `reason` and `message`), so every lookup tolerates
missing keys. Old-ReplicaSet pods are kept apart so that healthy old pods never hide a failing
new one (k8s-failures.md §8.3).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from deploy_assistant.models import FieldChange, KubeObject, LogEntry, RawContext
from deploy_assistant.workloads import is_ready, snapshot_new_replicaset
from deploy_assistant.workloads import split_pods as split_by_replicaset


@dataclass(frozen=True)
class ContainerFact:
    """One container's status, current and last termination flattened."""

    pod: str
    name: str
    init: bool
    ready: bool
    restarts: int
    state: str
    reason: str
    message: str
    exit_code: int | None
    last_reason: str
    last_message: str
    last_exit_code: int | None


@dataclass(frozen=True)
class EventFact:
    kind: str
    name: str
    reason: str
    message: str
    type: str
    count: int


@dataclass(frozen=True)
class Facts:
    """What the rules look at, already narrowed to the rollout's new revision."""

    namespace: str
    deployment: str
    new_rs: str | None
    pods: tuple[KubeObject, ...]
    old_ready_pods: int
    service_down: bool
    """The Deployment reports no available replica at all (nothing is serving)."""
    containers: tuple[ContainerFact, ...]
    events: tuple[EventFact, ...]
    logs: tuple[LogEntry, ...]
    conditions: tuple[dict[str, Any], ...]
    diff: tuple[FieldChange, ...]


def dig(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def dicts(value: Any) -> list[dict[str, Any]]:
    """The dict items of a list; anything else (a hand-edited snapshot's surprise) is none."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def as_int(value: Any, default: int | None = 0) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _name(obj: KubeObject) -> str:
    return str(dig(obj, "metadata", "name") or "")


def new_replicaset(raw: RawContext) -> KubeObject | None:
    """The Deployment's current ReplicaSet (controller semantics, then the revision, then the
    newest); None when the snapshot holds no ReplicaSet."""
    return snapshot_new_replicaset(raw.deployment, raw.replicasets)


def split_pods(raw: RawContext) -> tuple[tuple[KubeObject, ...], tuple[KubeObject, ...]]:
    """(new pods, old pods). Without a ReplicaSet in the snapshot every pod counts as new, and so
    does a pod that records neither an owner nor a hash."""
    rs = new_replicaset(raw)
    if rs is None:
        return raw.pods, ()
    new, old = split_by_replicaset(raw.pods, rs, unknown_are_new=True)
    return tuple(new), tuple(old)


def _state(status: dict[str, Any], key: str) -> tuple[str, dict[str, Any]]:
    state = status.get(key)
    for name, detail in (state if isinstance(state, dict) else {}).items():
        return str(name), detail if isinstance(detail, dict) else {}
    return "", {}


def _container(pod: str, status: dict[str, Any], init: bool) -> ContainerFact:
    state, now = _state(status, "state")
    _, last = _state(status, "lastState")
    return ContainerFact(
        pod=pod,
        name=str(status.get("name") or "?"),
        init=init,
        ready=bool(status.get("ready")),
        restarts=as_int(status.get("restartCount")) or 0,
        state=state,
        reason=str(now.get("reason") or ""),
        message=str(now.get("message") or ""),
        exit_code=as_int(now.get("exitCode"), None),
        last_reason=str(last.get("reason") or ""),
        last_message=str(last.get("message") or ""),
        last_exit_code=as_int(last.get("exitCode"), None),
    )


def container_facts(pods: tuple[KubeObject, ...]) -> tuple[ContainerFact, ...]:
    """Init containers first (they run first), then app containers, in status order."""
    facts = []
    for pod in pods:
        for key, init in (("initContainerStatuses", True), ("containerStatuses", False)):
            for status in dicts(dig(pod, "status", key)):
                facts.append(_container(_name(pod), status, init))
    return tuple(facts)


def _event(ev: KubeObject) -> EventFact:
    involved = ev.get("involvedObject") or ev.get("regarding")
    involved = involved if isinstance(involved, dict) else {}
    return EventFact(
        kind=str(involved.get("kind") or ""),
        name=str(involved.get("name") or ""),
        reason=str(ev.get("reason") or ""),
        message=str(ev.get("message") or ev.get("note") or ""),
        type=str(ev.get("type") or "Normal"),
        count=as_int(ev.get("count") or ev.get("deprecatedCount"), 1) or 1,
    )


def _event_relevant(ev: EventFact, new: set[str], old: set[str], new_rs: str | None) -> bool:
    if not ev.name or ev.kind == "Deployment":
        return True
    if ev.kind == "ReplicaSet":
        return new_rs is None or ev.name == new_rs
    if ev.name in old:
        return False
    # A pod event for a pod already gone still belongs to the new RS when its name says so.
    return ev.name in new or new_rs is None or ev.name.startswith(new_rs + "-") or not old


def _service_down(deployment: KubeObject | None) -> bool:
    # The API omits zero counts, so an absent availableReplicas in a present status means 0.
    status = dig(deployment, "status")
    wanted = as_int(dig(deployment, "spec", "replicas"), 1)
    if not isinstance(status, dict) or not status or not wanted:
        return False
    return as_int(status.get("availableReplicas")) == 0


def collect_facts(raw: RawContext) -> Facts:
    """Narrow the snapshot to the rollout's new revision (all of it when that is unknown)."""
    rs = new_replicaset(raw)
    new_rs = _name(rs) if rs is not None else None
    new, old = split_pods(raw)
    new_names, old_names = {_name(p) for p in new}, {_name(p) for p in old}
    events = tuple(
        ev
        for ev in (_event(e) for e in raw.events)
        if _event_relevant(ev, new_names, old_names, new_rs)
    )
    logs = tuple(entry for entry in raw.logs if entry.pod not in old_names)
    conditions = tuple(dicts(dig(raw.deployment, "status", "conditions"))) + tuple(
        dicts(dig(rs, "status", "conditions"))
    )
    return Facts(
        namespace=raw.target.namespace,
        deployment=raw.target.deployment,
        new_rs=new_rs,
        pods=new,
        old_ready_pods=sum(1 for p in old if is_ready(p)),
        service_down=_service_down(raw.deployment),
        containers=container_facts(new),
        events=events,
        logs=logs,
        conditions=conditions,
        diff=raw.rollout_diff,
    )


def container_spec(pods: tuple[KubeObject, ...], container: str) -> dict[str, Any]:
    """The pod-spec entry of a container, from the first pod that has one ({} if none)."""
    for pod in pods:
        for key in ("containers", "initContainers"):
            for spec in dicts(dig(pod, "spec", key)):
                if spec.get("name") == container:
                    return dict(spec)
    return {}


def render_change(change: FieldChange) -> str:
    """The one canonical text of a rollout-diff entry; evidence quotes it verbatim."""
    return f"{change.field}: {change.before} -> {change.after}"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def context_texts(raw: RawContext) -> tuple[str, ...]:
    """Every text in the snapshot an Evidence may quote, plus the rendered rollout-diff lines."""
    texts = list(_strings(raw.model_dump(mode="json")))
    texts.extend(render_change(c) for c in raw.rollout_diff)
    return tuple(texts)


def is_quoted_from(text: str, texts: tuple[str, ...]) -> bool:
    """True when `text` (whitespace-normalised, non-empty) occurs inside one of `texts`."""
    needle = " ".join(text.split())
    if not needle:
        return False
    return any(needle in " ".join(t.split()) for t in texts)
