"""Container logs: the per-container store and the pods/log subresource served from it.

Each line carries the clock's time when it was written, so `sinceSeconds` and `timestamps` follow
the simulated clock. A restart moves the current log to "previous" (one generation, as the
kubelet keeps). Reads apply sinceSeconds, then tailLines, then limitBytes, in the kubelet's order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from deploy_assistant.clock import Clock
from deploy_assistant.sim.objects import ApiError, Obj, not_found
from deploy_assistant.sim.routes import Request, go_bool, int_param

if TYPE_CHECKING:  # the store owns a PodLogs; importing it here at run time would be a cycle
    from deploy_assistant.sim.state import ClusterState

LogKey = tuple[str, str, str]
LogLine = tuple[datetime, str]
FOLLOW_POLL_SECONDS = 0.25


class PodLogs:
    """Per-container current and previous logs, one clock timestamp per line."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._current: dict[LogKey, list[LogLine]] = {}
        self._previous: dict[LogKey, list[LogLine]] = {}

    def write(self, namespace: str, pod: str, container: str, text: str) -> None:
        now = self._clock.now()
        lines = self._current.setdefault((namespace, pod, container), [])
        for line in text.splitlines():
            lines.append((now, line + "\n"))

    def restart(self, namespace: str, pod: str, container: str) -> None:
        key = (namespace, pod, container)
        self._previous[key] = self._current.pop(key, [])

    def lines(
        self, namespace: str, pod: str, container: str, previous: bool
    ) -> list[LogLine] | None:
        """A copy of the stored lines; None when `previous` is asked and there was no restart."""
        key = (namespace, pod, container)
        if previous:
            found = self._previous.get(key)
            return None if found is None else list(found)
        return list(self._current.get(key, []))

    def render(
        self,
        lines: list[LogLine],
        *,
        since_seconds: int | None = None,
        tail_lines: int | None = None,
        limit_bytes: int | None = None,
        timestamps: bool = False,
    ) -> str:
        """The log text as the kubelet serves it, after sinceSeconds, tailLines and limitBytes."""
        if since_seconds is not None:
            cutoff = self._clock.now() - timedelta(seconds=since_seconds)
            lines = [line for line in lines if line[0] >= cutoff]
        if tail_lines is not None:
            lines = lines[-tail_lines:] if tail_lines > 0 else []
        if timestamps:
            text = "".join(
                f"{moment.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {line}" for moment, line in lines
            )
        else:
            text = "".join(line for _, line in lines)
        if limit_bytes is not None:
            text = text.encode()[:limit_bytes].decode("utf-8", "replace")
        return text


def log_container(pod: Obj, requested: str | None) -> str:
    """The container a log request reads; 400 worded like the API server when it is ambiguous or
    not in the pod."""
    spec = pod.get("spec") or {}
    names: list[str] = [c.get("name", "") for c in spec.get("containers") or []]
    init_names: list[str] = [c.get("name", "") for c in spec.get("initContainers") or []]
    pod_name = pod["metadata"]["name"]
    if requested:
        if requested not in names + init_names:
            raise ApiError(
                400, "BadRequest", f"container {requested} is not valid for pod {pod_name}"
            )
        return requested
    if len(names) == 1:
        return names[0]
    choices = " ".join(names)
    message = f"a container name must be specified for pod {pod_name}, choose one of: [{choices}]"
    if init_names:
        message += f" or one of the init containers: [{' '.join(init_names)}]"
    raise ApiError(400, "BadRequest", message)


@dataclass(frozen=True)
class LogRead:
    """The answer to one pods/log request: the text so far and whether to follow."""

    namespace: str
    pod: str
    container: str
    text: str
    lines_sent: int
    follow: bool


def read_log(state: ClusterState, req: Request) -> LogRead:
    """Authorize and answer GET pods/{name}/log with the request's query parameters."""
    name = req.name or ""
    state.authorize("log", "pods", req.namespace, name)
    pod = state.get("pods", req.namespace, name)
    if pod is None:
        raise not_found("pods", name)
    namespace = pod["metadata"]["namespace"]
    container = log_container(pod, req.query.get("container"))
    previous = go_bool(req.query.get("previous"), "previous")
    with state.cond:
        lines = state.logs.lines(namespace, name, container, previous)
    if lines is None:
        raise ApiError(
            400,
            "BadRequest",
            f'previous terminated container "{container}" in pod "{name}" not found',
        )
    text = state.logs.render(
        lines,
        since_seconds=int_param(req.query, "sinceSeconds"),
        tail_lines=int_param(req.query, "tailLines"),
        limit_bytes=int_param(req.query, "limitBytes"),
        timestamps=go_bool(req.query.get("timestamps"), "timestamps"),
    )
    follow = go_bool(req.query.get("follow"), "follow") and not previous
    return LogRead(namespace, name, container, text, len(lines), follow)


class ChunkSink(Protocol):
    """Where a followed log goes: one chunk per write, then the terminating chunk."""

    def chunk(self, data: bytes) -> None: ...

    def end(self) -> None: ...


def follow_log(
    state: ClusterState, read: LogRead, out: ChunkSink, closing: Callable[[], bool]
) -> None:
    """Stream new lines until the container restarts, the pod goes or `closing()` turns true."""
    sent = read.lines_sent
    while True:
        with state.cond:
            lines = state.logs.lines(read.namespace, read.pod, read.container, False) or []
            ended = state.get("pods", read.namespace, read.pod) is None or closing()
            if len(lines) == sent and not ended:
                state.cond.wait(FOLLOW_POLL_SECONDS)
                continue
        if len(lines) > sent:
            out.chunk(state.logs.render(lines[sent:]).encode())
        if len(lines) < sent or ended:
            out.end()
            return
        sent = len(lines)
