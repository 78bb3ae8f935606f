"""build_reduced_context: RawContext → ReducedContext within a token budget. Pure.

Steps: sanitise logs (ANSI, control bytes, huge lines, huge logs), redact everything, summarise
pods/events, mine log templates, pin the invariants, run the plan's ops, then fit the budget.
Invariants (never dropped, only shortened proportionally when they alone exceed the budget):
exit reason and code, termination/state messages, the last error block of each log, the first
occurrence of each error template, the deepest cause of each trace, the Warning events that
name the problem, and the rollout diff.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deploy_assistant.models import (
    Classification,
    DroppedNote,
    FieldChange,
    GitContext,
    LogEntry,
    LogExcerpt,
    LogTemplate,
    PodSummary,
    RawContext,
    ReducedContext,
)
from deploy_assistant.reduce.budget import cut_middle, estimate_tokens, largest_fitting
from deploy_assistant.reduce.evidence import deepest_cause, is_error_text
from deploy_assistant.reduce.ops import LogWork, Workspace, run_plan
from deploy_assistant.reduce.redact import Redactor
from deploy_assistant.reduce.status import (
    deployment_summary,
    event_summaries,
    healthy_pod_names,
    pinned_event_indexes,
    pod_summaries,
)
from deploy_assistant.reduce.templates import group_events, mine_event_templates

MAX_LINE_CHARS = 4_000
MAX_LOG_CHARS = 16_000_000
MIN_INVARIANT_CHARS = 24
_NOISE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\n]*\x07?|[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]"
)


def build_reduced_context(
    raw: RawContext,
    git: GitContext | None,
    plan: Sequence[str],
    budget_tokens: int = 3000,
    classification: Classification | None = None,
    *,
    max_log_chars: int = MAX_LOG_CHARS,
) -> ReducedContext:
    """Reduce `raw` to what the analysis needs, redacted, within `budget_tokens` (chars / 4).

    A log longer than `max_log_chars` keeps its first quarter and its end (noted in `dropped`),
    which bounds time and memory whatever the input size.
    """
    notes: list[DroppedNote] = []
    logs = tuple(_sanitized_log(e, notes, max_log_chars) for e in raw.logs)
    sanitized = raw.model_copy(update={"logs": logs})
    redactor = Redactor()
    redacted = redactor.redact_raw_context(
        sanitized.model_copy(update={"git": git or sanitized.git})
    )
    ws = workspace_of(redacted, notes)
    run_plan(ws, list(plan))
    base = ReducedContext(
        target=redacted.target,
        verdict=redacted.verdict,
        git=redacted.git,
        classification=classification.model_copy(
            update={"rationale": redactor.redact(classification.rationale)}
        )
        if classification
        else None,
        deployment=deployment_summary(redacted.deployment),
        rollout_diff=redacted.rollout_diff,
        missing=(*redacted.missing, *_missing_notes(redacted)),
        budget_tokens=budget_tokens,
    )
    return _fit(base, ws, budget_tokens)


def _sanitized_log(entry: LogEntry, notes: list[DroppedNote], max_chars: int) -> LogEntry:
    text = entry.text
    where = f"log of {entry.pod}/{entry.container}"
    if len(text) > max_chars:
        head = max_chars // 4
        cut = len(text) - max_chars
        text = text[:head] + "\n" + text[-(max_chars - head) :]
        notes.append(
            DroppedNote(what=f"{cut} chars in the middle of the {where}", why="log too large")
        )
    text = _NOISE.sub("", text)
    lines = text.split("\n")
    if any(len(line) > MAX_LINE_CHARS for line in lines):
        long_lines = sum(len(line) > MAX_LINE_CHARS for line in lines)
        lines = [cut_middle(line, MAX_LINE_CHARS) for line in lines]
        notes.append(DroppedNote(what=f"{long_lines} over-long line(s) in the {where}", why="cut"))
        text = "\n".join(lines)
    return entry.model_copy(update={"text": text})


def workspace_of(raw: RawContext, notes: list[DroppedNote] | None = None) -> Workspace:
    """The reducer's scratch state for an already sanitised and redacted RawContext."""
    events = event_summaries(raw.events)
    logs = [_log_work(entry) for entry in raw.logs if entry.text.strip()]
    return Workspace(
        pods=pod_summaries(raw),
        events=events,
        pinned_events=pinned_event_indexes(events),
        logs=logs,
        healthy_pods=healthy_pod_names(raw.pods),
        dropped=notes if notes is not None else [],
    )


def _log_work(entry: LogEntry) -> LogWork:
    lines = entry.text.rstrip("\n").split("\n")
    events = list(group_events(lines))
    templates = mine_event_templates(events)
    errors = [e for e in events if is_error_text(e.text)]
    pinned: list[str] = []
    for template in templates:
        first = template.first
        if is_error_text(first.text):
            pinned.append(first.text)
        cause = deepest_cause(first.lines) if first.is_trace else None
        if cause and cause not in first.text[-len(cause) - 1 :]:
            pinned.append("deepest cause: " + cause)
    if errors and errors[-1].text not in pinned:
        pinned.append(errors[-1].text)
    return LogWork(
        pod=entry.pod,
        container=entry.container,
        previous=entry.previous,
        total_lines=len(lines),
        events=events,
        templates=templates,
        errors=errors,
        pinned=pinned,
    )


def _missing_notes(raw: RawContext) -> list[str]:
    notes = []
    if raw.deployment is None:
        notes.append("the Deployment object was not collected")
    if not raw.pods:
        notes.append("no pods were collected")
    if not raw.logs:
        notes.append("no container logs were collected")
    return notes


@dataclass(frozen=True)
class _Optional:
    """An optional item: a log line, a log template or an event, by log/event index."""

    kind: str
    index: int
    line: str = ""
    template: LogTemplate | None = None


def _shrunk(text: str, permille: int | None) -> str:
    """`text` shortened to `permille`/1000 of its length (at least a short recognisable head)."""
    if permille is None:
        return text
    return cut_middle(text, max(MIN_INVARIANT_CHARS, len(text) * permille // 1000))


def _render(
    base: ReducedContext, ws: Workspace, optional_count: int, permille: int | None
) -> ReducedContext:
    """The context with the first `optional_count` optional items (in priority order) and,
    when `permille` is set, every invariant text shortened proportionally."""
    offered = _optional_items(ws)
    chosen = offered[:optional_count]
    excerpts = [_excerpt(log, i, chosen, permille) for i, log in enumerate(ws.logs)]
    chosen_events = {item.index for item in chosen if item.kind == "event"}
    compact: dict[str, Any] = {} if permille is None else {"first_seen": None, "last_seen": None}
    events = [
        e.model_copy(update={"message": _shrunk(e.message, permille), **compact})
        for i, e in enumerate(ws.events)
        if i in ws.pinned_events or i in chosen_events
    ]
    notes = list(ws.dropped)
    if len(offered) > len(chosen):
        what = f"{len(offered) - len(chosen)} optional item(s) (log lines, templates, events)"
        notes.append(DroppedNote(what=what, why="token budget"))
    update: dict[str, Any] = {"events": tuple(events), "logs": tuple(excerpts)}
    if permille is None:
        update["pods"] = tuple(ws.pods)
    else:
        notes.append(DroppedNote(what=f"invariants shortened to {permille / 10:.1f}%", why=""))
        notes = [DroppedNote(what="; ".join(n.what for n in notes), why="token budget")]
        update["pods"] = tuple(_shrunk_pod(p, permille) for p in ws.pods)
        update["deployment"] = {k: base.deployment.get(k) for k in ("name", "revision")}
        update["rollout_diff"] = tuple(_shrunk_change(c, permille) for c in base.rollout_diff)
        if base.verdict is not None:
            update["verdict"] = base.verdict.model_copy(update={"message": ""})
    update["dropped"] = tuple(notes)
    return base.model_copy(update=update)


def _shrunk_change(change: FieldChange, permille: int) -> FieldChange:
    before = _shrunk(change.before, permille) if change.before else change.before
    after = _shrunk(change.after, permille) if change.after else change.after
    return change.model_copy(update={"before": before, "after": after})


def _excerpt(log: LogWork, index: int, chosen: list[_Optional], permille: int | None) -> LogExcerpt:
    lines = [_shrunk(t, permille) for t in log.pinned]
    extra = [item.line for item in chosen if item.kind == "line" and item.index == index]
    lines += [t for t in dict.fromkeys(extra) if t not in lines]
    templates = tuple(
        item.template
        for item in chosen
        if item.kind == "template" and item.index == index and item.template is not None
    )
    return LogExcerpt(
        pod=log.pod,
        container=log.container,
        previous=log.previous,
        lines=tuple(lines),
        templates=templates,
        total_lines=log.total_lines,
    )


def _shrunk_pod(pod: PodSummary, permille: int) -> PodSummary:
    containers = tuple(
        c.model_copy(update={"message": _shrunk(c.message, permille) if c.message else None})
        for c in pod.containers
    )
    return pod.model_copy(update={"containers": containers, "conditions": (), "node": None})


def _optional_items(ws: Workspace) -> list[_Optional]:
    scored: list[tuple[int, int, _Optional]] = []
    for index, log in enumerate(ws.logs):
        for order, (priority, text) in enumerate(log.optional):
            scored.append((priority, order, _Optional("line", index, line=text)))
        for order, template in enumerate(log.shown_templates):
            scored.append((30, order, _Optional("template", index, template=template)))
    for index, event in enumerate(ws.events):
        if index not in ws.pinned_events:
            priority = 15 if event.type == "Warning" else 40
            scored.append((priority, index, _Optional("event", index)))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [item for _, _, item in scored]


def _finish(reduced: ReducedContext) -> ReducedContext:
    return reduced.model_copy(update={"estimated_tokens": estimate_tokens(reduced)})


def _fit(base: ReducedContext, ws: Workspace, budget_tokens: int) -> ReducedContext:
    def fits_optional(n: int) -> bool:
        return estimate_tokens(_render(base, ws, n, None)) <= budget_tokens

    total = len(_optional_items(ws))
    best = largest_fitting(0, total, fits_optional)
    if best is not None:
        return _finish(_render(base, ws, best, None))

    def fits_shrunk(permille: int) -> bool:
        return estimate_tokens(_render(base, ws, 0, permille)) <= budget_tokens

    permille = largest_fitting(0, 999, fits_shrunk)
    if permille is not None:
        return _finish(_render(base, ws, 0, permille))
    return _finish(_minimal(base, budget_tokens))


def _minimal(base: ReducedContext, budget_tokens: int) -> ReducedContext:
    """Last resort when even shortened invariants cannot fit: the target and one note."""
    note = DroppedNote(what="all evidence", why="budget below the minimum context size")
    bare = ReducedContext(target=base.target, budget_tokens=budget_tokens, dropped=(note,))
    if estimate_tokens(bare) <= budget_tokens:
        return bare
    return ReducedContext(target=base.target, budget_tokens=budget_tokens)
