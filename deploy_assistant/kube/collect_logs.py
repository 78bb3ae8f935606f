"""Container logs of a rollout's pods for `collect_raw_context`: which to read, and reading them.

Read: every container of a new pod that ran (previous logs too when it restarted), init containers
that did not finish cleanly, and the main containers of sampled old pods; tail- and byte-bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

from deploy_assistant.kube.client import KubeClient
from deploy_assistant.models import KubeObject, LogEntry
from deploy_assistant.settings import ReduceSettings

T = TypeVar("T")


class Attempts(Protocol):
    """The reader `pod_logs` reads through: failures become sentences, `last_status` the code."""

    client: KubeClient
    namespace: str
    settings: ReduceSettings
    last_status: int | None

    def attempt(
        self, what: str, call: Callable[[], T], *, kind: str | None = None, note: bool = True
    ) -> T | None: ...


def pod_logs(
    reader: Attempts, new_pods: list[KubeObject], old_pods: list[KubeObject]
) -> list[LogEntry]:
    """Logs of `new_pods` (all containers that ran), then the old pods' main containers."""
    plan = [
        (pod, name, init, previous)
        for pods, old in ((new_pods, False), (old_pods, True))
        for pod in pods
        for name, init, previous in _log_reads(pod, old=old)
    ]
    entries: list[LogEntry] = []
    gone: set[str] = set()
    for pod, container, init, previous in plan:
        pod_name = _name(pod)
        if pod_name in gone:
            continue
        entry = _log(reader, pod_name, container, init=init, previous=previous)
        if entry is not None:
            entries.append(entry)
        elif reader.last_status == 404:
            gone.add(pod_name)
    return entries


def _log(
    reader: Attempts, pod: str, container: str, *, init: bool, previous: bool
) -> LogEntry | None:
    which = "previous " if previous else ""
    settings = reader.settings
    limit = settings.log_bytes_per_container
    text = reader.attempt(
        f"The {which}log of container {container} in pod {pod}",
        lambda: reader.client.read_pod_log(
            reader.namespace,
            pod,
            container,
            previous=previous,
            tail_lines=settings.log_tail_lines,
            limit_bytes=limit,
        ),
        kind="log",
    )
    if text is None:
        return None
    data = text.encode("utf-8")
    # The API bounds the bytes already; a server that ignores limitBytes must not flood us.
    bounded = data[-limit:].decode("utf-8", "ignore") if len(data) > limit else text
    truncated = len(data) >= limit or text.count("\n") >= settings.log_tail_lines
    return LogEntry(
        pod=pod,
        container=container,
        previous=previous,
        init=init,
        text=bounded,
        truncated=truncated,
    )


def _log_reads(pod: KubeObject, *, old: bool) -> Iterator[tuple[str, bool, bool]]:
    """(container, init, previous) log reads worth making; a container that never ran has none."""
    status = _mapping(pod.get("status"))
    groups = [(False, status.get("containerStatuses"))]
    if not old:
        groups.insert(0, (True, status.get("initContainerStatuses")))
    for init, statuses in groups:
        for cs in statuses or []:
            cs = _mapping(cs)
            state, last = _mapping(cs.get("state")), _mapping(cs.get("lastState"))
            restarts = cs.get("restartCount") if isinstance(cs.get("restartCount"), int) else 0
            ran = "running" in state or "terminated" in state or "terminated" in last or restarts
            clean_init = init and _mapping(state.get("terminated")).get("exitCode") == 0
            if not cs.get("name") or not ran or (clean_init and not restarts):
                continue
            yield str(cs["name"]), init, False
            if restarts and not old:
                yield str(cs["name"]), init, True


def _name(obj: Mapping[str, Any]) -> str:
    return str(_mapping(obj.get("metadata")).get("name") or "")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
