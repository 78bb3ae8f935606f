"""Named reduction ops and the default plan per failure class.

An op edits a `Workspace` (the reducer's scratch state) in place: it narrows what is kept or
adds optional evidence. Ops never touch the invariants (pinned items), which the reducer always
keeps, so any plan, including one chosen by an LLM, is safe to run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from deploy_assistant.models import DroppedNote, EventSummary, FailureClass, LogTemplate, PodSummary
from deploy_assistant.reduce.evidence import deepest_cause, is_error_text
from deploy_assistant.reduce.masking import mask_line
from deploy_assistant.reduce.templates import LogEvent, TemplateStats

logger = logging.getLogger(__name__)

TAIL_LINES = 20
MAX_OPTIONAL_LINE_CHARS = 400


@dataclass
class LogWork:
    """One container log being reduced."""

    pod: str
    container: str
    previous: bool
    total_lines: int
    events: list[LogEvent]
    templates: list[TemplateStats]
    errors: list[LogEvent]
    pinned: list[str] = field(default_factory=list)
    optional: list[tuple[int, str]] = field(default_factory=list)  # (priority, text); low first
    shown_templates: list[LogTemplate] = field(default_factory=list)


@dataclass
class Workspace:
    pods: list[PodSummary]
    events: list[EventSummary]
    pinned_events: set[int]
    logs: list[LogWork]
    healthy_pods: set[str]
    dropped: list[DroppedNote] = field(default_factory=list)
    line_cap_chars: int = 100_000


Op = Callable[[Workspace], None]


def new_pods_only(ws: Workspace) -> None:
    """Keep only the new ReplicaSet's pods (when at least one pod is known to be new)."""
    if not any(p.new for p in ws.pods):
        return
    old = {p.name for p in ws.pods if not p.new}
    if not old:
        return
    ws.pods = [p for p in ws.pods if p.new]
    ws.logs = [log for log in ws.logs if log.pod not in old]
    ws.dropped.append(DroppedNote(what=f"{len(old)} pod(s) of older ReplicaSets", why="not new"))


def dedupe_events(ws: Workspace) -> None:
    """Merge events with the same object, reason and masked message; Warnings first."""
    merged: dict[tuple[str, str, str], EventSummary] = {}
    pinned: set[tuple[str, str, str]] = set()
    for index, event in enumerate(ws.events):
        key = (event.object, event.reason, mask_line(event.message))
        if index in ws.pinned_events:
            pinned.add(key)
        seen = merged.get(key)
        if seen is None:
            merged[key] = event
            continue
        merged[key] = seen.model_copy(
            update={
                "count": seen.count + event.count,
                "first_seen": _earliest(seen.first_seen, event.first_seen),
                "last_seen": _latest(seen.last_seen, event.last_seen),
            }
        )
    keys = sorted(merged, key=lambda k: merged[k].type != "Warning")
    before = len(ws.events)
    ws.events = [merged[k] for k in keys]
    ws.pinned_events = {i for i, k in enumerate(keys) if k in pinned}
    if before > len(ws.events):
        ws.dropped.append(
            DroppedNote(what=f"{before - len(ws.events)} repeated event(s)", why="deduplicated")
        )


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(a, b) if a is not None and b is not None else a or b


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a is not None and b is not None else a or b


def template_logs(ws: Workspace) -> None:
    """Offer each log's templates (with count, first and last line) as optional evidence."""
    for log in ws.logs:
        log.shown_templates = [
            LogTemplate(
                template=_cap(t.template, 300),
                count=t.count,
                first=_cap(t.first.text, MAX_OPTIONAL_LINE_CHARS),
                last=_cap(t.last.text, MAX_OPTIONAL_LINE_CHARS) if t.count > 1 else "",
            )
            for t in sorted(log.templates, key=lambda t: (not is_error_text(t.first.text), t.count))
        ]


def keep_error_blocks(ws: Workspace) -> None:
    """Offer every error event (not only the pinned ones), earliest first."""
    for log in ws.logs:
        pinned = set(log.pinned)
        for event in log.errors:
            if event.text not in pinned:
                log.optional.append((10, _cap(event.text, MAX_OPTIONAL_LINE_CHARS * 4)))


def keep_last_lines_before_exit(ws: Workspace) -> None:
    """Offer the last lines of each log (the Kubernetes termination-message convention)."""
    for log in ws.logs:
        pinned = set(log.pinned)
        for event in log.events[-TAIL_LINES:]:
            if event.text not in pinned:
                log.optional.append((20, _cap(event.text, MAX_OPTIONAL_LINE_CHARS)))


def keep_deepest_cause(ws: Workspace) -> None:
    """Offer the deepest cause of every distinct trace (the first one is pinned anyway)."""
    for log in ws.logs:
        for template in log.templates:
            cause = deepest_cause(template.first.lines) if template.first.is_trace else None
            if cause:
                log.optional.append((5, _cap("deepest cause: " + cause, MAX_OPTIONAL_LINE_CHARS)))


def diff_against_healthy_pods(ws: Workspace) -> None:
    """Drop optional templates and lines whose shape also occurs in healthy pods' logs."""
    healthy = {
        mask_line(t.first.lines[0])
        for log in ws.logs
        if log.pod in ws.healthy_pods
        for t in log.templates
    }
    if not healthy:
        return
    removed = 0
    for log in ws.logs:
        if log.pod in ws.healthy_pods:
            continue
        templates = [t for t in log.shown_templates if _shape(t.first) not in healthy]
        lines = [(p, text) for p, text in log.optional if _shape(text) not in healthy]
        removed += len(log.shown_templates) - len(templates) + len(log.optional) - len(lines)
        log.shown_templates, log.optional = templates, lines
    if removed:
        ws.dropped.append(DroppedNote(what=f"{removed} log item(s)", why="also in healthy pods"))


def _shape(text: str) -> str:
    return mask_line(text.split("\n", 1)[0])


def drop_healthy_containers(ws: Workspace) -> None:
    """Drop the logs of pods that are healthy (ready, never restarted)."""
    before = len(ws.logs)
    ws.logs = [log for log in ws.logs if log.pod not in ws.healthy_pods or log.pinned]
    if before > len(ws.logs):
        ws.dropped.append(
            DroppedNote(what=f"{before - len(ws.logs)} log(s) of healthy pods", why="healthy")
        )


def truncate_to_budget(ws: Workspace) -> None:
    """Cut long optional lines harder; the final fit to the budget always happens anyway."""
    for log in ws.logs:
        log.optional = [(p, _cap(text, MAX_OPTIONAL_LINE_CHARS // 2)) for p, text in log.optional]


def _cap(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = len(text) - max_chars
    return text[: max_chars // 2] + f" …[cut {cut} chars]… " + text[-(max_chars // 2) :]


OPS: dict[str, Op] = {
    "new_pods_only": new_pods_only,
    "dedupe_events": dedupe_events,
    "template_logs": template_logs,
    "keep_error_blocks": keep_error_blocks,
    "keep_last_lines_before_exit": keep_last_lines_before_exit,
    "keep_deepest_cause": keep_deepest_cause,
    "diff_against_healthy_pods": diff_against_healthy_pods,
    "drop_healthy_containers": drop_healthy_containers,
    "truncate_to_budget": truncate_to_budget,
}

_COMMON = ("new_pods_only", "dedupe_events", "drop_healthy_containers")
_LOGS = ("template_logs", "keep_error_blocks", "keep_deepest_cause", "keep_last_lines_before_exit")
_PLANS: dict[FailureClass, tuple[str, ...]] = {
    FailureClass.CRASH_LOOP: (*_COMMON, *_LOGS, "diff_against_healthy_pods"),
    FailureClass.OOM_KILLED: (*_COMMON, "keep_last_lines_before_exit", "template_logs"),
    FailureClass.CONFIG_ERROR: (*_COMMON, "keep_error_blocks"),
    FailureClass.PROBE_FAILURE: (*_COMMON, *_LOGS, "diff_against_healthy_pods"),
    FailureClass.INIT_FAILURE: (*_COMMON, *_LOGS),
    FailureClass.IMAGE_PULL: (*_COMMON,),
    FailureClass.UNSCHEDULABLE: (*_COMMON,),
    FailureClass.QUOTA_OR_ADMISSION: (*_COMMON,),
    FailureClass.VOLUME_MOUNT: (*_COMMON,),
}


def known_ops() -> tuple[str, ...]:
    """Names the reduction-plan chain may choose from."""
    return tuple(OPS)


def default_plan(failure_class: FailureClass) -> tuple[str, ...]:
    """The plan used when no LLM picks one; every plan ends with `truncate_to_budget`."""
    plan = _PLANS.get(failure_class, (*_COMMON, *_LOGS))
    return (*plan, "truncate_to_budget")


def run_plan(ws: Workspace, plan: tuple[str, ...] | list[str]) -> None:
    """Run the named ops in order; unknown names are skipped and noted."""
    for name in plan:
        op = OPS.get(name)
        if op is None:
            ws.dropped.append(DroppedNote(what=f"op {name!r}", why="unknown reduction op, skipped"))
            continue
        op(ws)
