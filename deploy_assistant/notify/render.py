"""Render a `Message` for each sink: Slack Block Kit, the MR note, the terminal and report.md.

Jinja2 with StrictUndefined and autoescape off: every untrusted value passes through the sink's
own filter from `notify.sanitize` (`slack*`, `md*`, `fence`, `term`). Limits are enforced here,
after escaping, by cutting with a pointer to the full report: Slack 50 blocks, 3,000 characters
per section, 150 per header, about 11,000 per message (Slack refuses long messages below the
documented limits); the MR note stays under `NOTE_MAX_CHARS`.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2

from deploy_assistant.models import RolloutStatus
from deploy_assistant.notify import sanitize
from deploy_assistant.notify.message import Message, SlackMessage

MAX_BLOCKS = 50
SECTION_MAX_CHARS = 3000
HEADER_MAX_CHARS = 150
MESSAGE_BUDGET_CHARS = 11_000
FALLBACK_MAX_CHARS = 1000
NOTE_MAX_CHARS = 50_000
NOTE_EVIDENCE_MAX_CHARS = 3000
NOTE_PROSE_MAX_CHARS = 8000
NOTE_STEP_MAX_CHARS = 1000
NOTE_MAX_STEPS = 20
REPORT_EVIDENCE_MAX_CHARS = 20_000
TERMINAL_EVIDENCE_MAX_CHARS = 2000

_STATUS_DISPLAY: dict[RolloutStatus, tuple[str, str]] = {
    RolloutStatus.SUCCEEDED: ("✅", "Rollout healthy"),
    RolloutStatus.FAILED: ("❌", "Rollout failed"),
    RolloutStatus.TIMEOUT: ("⏱️", "Rollout stuck"),
    RolloutStatus.SUPERSEDED: ("↪️", "Rollout superseded"),
    RolloutStatus.PAUSED: ("⏸️", "Rollout paused"),
    RolloutStatus.UNKNOWN: ("❔", "Rollout status unknown"),
    RolloutStatus.PENDING: ("⏳", "Rollout pending"),
    RolloutStatus.PROGRESSING: ("⏳", "Rollout in progress"),
}


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("deploy_assistant.notify", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - every sink escapes explicitly through its filters
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        slack=sanitize.slack_escape,
        slack_code=sanitize.slack_code,
        slack_code_span=sanitize.slack_code_span,
        md=sanitize.gitlab_text,
        md_inline=sanitize.gitlab_inline,
        md_code=sanitize.gitlab_code_span,
        fence=sanitize.gitlab_fence,
        cell=lambda text: text.replace("|", "\\|"),
        term=sanitize.terminal_text,
    )
    env.globals.update(slack_link=sanitize.slack_link, md_link=sanitize.gitlab_link)
    return env


def status_display(status: RolloutStatus) -> tuple[str, str]:
    """The emoji and the words for a verdict status."""
    return _STATUS_DISPLAY[status]


def title_of(message: Message) -> str:
    """`Rollout failed: checkout in production` (unescaped; each sink escapes it)."""
    _, label = status_display(message.verdict.status)
    where = message.environment or f"namespace {message.target.namespace}"
    return f"{label}: {message.target.deployment} in {where}"


def note_marker(message: Message) -> str:
    """The hidden first line that identifies our MR note for one deployment and environment."""
    parts = (message.cluster, message.target.namespace, message.target.deployment)
    key = "/".join(_marker_safe(p) for p in parts)
    return f"<!-- deploy-assistant:{key}:{_marker_safe(message.environment or 'default')} -->"


def _marker_safe(value: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._/-" else "_" for c in value)
    return safe.replace("--", "-_")


def _commit_url(message: Message) -> str | None:
    git = message.git
    if git is None or git.pipeline_url is None or "/-/pipelines/" not in git.pipeline_url:
        return None
    return git.pipeline_url.split("/-/pipelines/")[0] + "/-/commit/" + git.commit


def _link_items(message: Message) -> list[tuple[str, str]]:
    git = message.git
    candidates = [
        (git.pipeline_url if git else None, "Pipeline"),
        (git.job_url if git else None, "Job"),
        (git.mr_url if git else None, "Merge request"),
        (message.report_url, "Full report"),
    ]
    return [(url, label) for url, label in candidates if url]


def _context(message: Message, evidence_max_chars: int) -> dict[str, Any]:
    """The template variables every sink shares (raw, unescaped text)."""
    analysis = message.analysis
    pointer = " (cut; the full report has everything)"
    emoji, _ = status_display(message.verdict.status)
    fallback = message.verdict.message or f"The rollout ended as {message.verdict.status.value}."
    return {
        "m": message,
        "emoji": emoji,
        "title": title_of(message),
        "healthy": message.healthy,
        "short_sha": message.git.commit[:8] if message.git else "",
        "commit_url": _commit_url(message),
        "link_items": _link_items(message),
        "report_url": message.report_url,
        "summary": analysis.summary if analysis else fallback,
        "cause": analysis.likely_cause if analysis else "Not analysed.",
        "steps": list(analysis.next_steps) if analysis else [],
        "technical": analysis.technical_details if analysis else "",
        "evidence": [
            e.model_copy(
                update={"text": sanitize.plain_truncate(e.text, evidence_max_chars, pointer)}
            )
            for e in (analysis.evidence if analysis else ())
        ],
        "changes": list(message.rollout_diff),
        "omitted": None,
    }


# --- Slack -------------------------------------------------------------------------------------


def _pointer(message: Message) -> str:
    if message.report_url:
        return " Full report: " + sanitize.slack_link(message.report_url, "job artifacts")
    return " The full report is in the job artifacts."


def _section(text: str, pointer: str) -> dict[str, Any]:
    cut = sanitize.slack_truncate(text, SECTION_MAX_CHARS, pointer)
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut}}


def _text_of(block: dict[str, Any]) -> str:
    if "text" in block:
        return str(block["text"]["text"])
    return "".join(str(e.get("text", "")) for e in block.get("elements", ()))


def render_slack_message(message: Message) -> SlackMessage:
    """The parent message (verdict, summary, cause, steps, links) and the thread reply (details)."""
    ctx = _context(message, SECTION_MAX_CHARS)
    macros: Any = _environment().get_template("slack.mrkdwn.j2").module
    pointer = _pointer(message)
    fallback = sanitize.slack_escape(f"{ctx['emoji']} {ctx['title']}")
    if message.healthy:
        line = macros.healthy(f"{ctx['emoji']} {ctx['title']}", ctx["short_sha"], ctx["link_items"])
        return SlackMessage(blocks=(_section(line, pointer),), text=fallback)
    header = sanitize.plain_truncate(
        sanitize.slack_plain(f"{ctx['emoji']} {ctx['title']}"), HEADER_MAX_CHARS
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        _section(macros.summary(ctx["summary"]), pointer),
        _section(macros.cause(ctx["cause"]), pointer),
    ]
    if ctx["steps"]:
        blocks.append(_section(macros.steps(ctx["steps"]), pointer))
    context_lines = [macros.context(message, ctx["short_sha"])]
    if message.analysis:
        context_lines.append(macros.meta(message.analysis))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": sanitize.slack_truncate(line, SECTION_MAX_CHARS)}
                for line in context_lines
            ],
        }
    )
    if ctx["link_items"]:
        blocks.append(_section(macros.links(ctx["link_items"]), pointer))
    text = sanitize.slack_truncate(
        f"{fallback}: {sanitize.slack_escape(ctx['summary'])}", FALLBACK_MAX_CHARS
    )
    thread = _thread_blocks(ctx, macros, pointer)
    thread_text = sanitize.slack_escape(f"Details: {message.deployment_ref}") if thread else ""
    return SlackMessage(
        blocks=tuple(blocks), text=text, thread_blocks=tuple(thread), thread_text=thread_text
    )


def _thread_texts(ctx: dict[str, Any], macros: Any) -> list[str]:
    texts: list[str] = []
    technical = str(ctx["technical"])
    if technical:
        chunks = _chunks(technical, SECTION_MAX_CHARS // 2)
        texts.append(macros.technical(chunks[0]))
        texts.extend(sanitize.slack_escape(chunk) for chunk in chunks[1:])
    if ctx["evidence"]:
        texts.append("*Evidence*")
        texts.extend(macros.evidence(e) for e in ctx["evidence"])
    if ctx["changes"]:
        texts.append(macros.diff(ctx["changes"]))
    return texts


def _thread_blocks(ctx: dict[str, Any], macros: Any, pointer: str) -> list[dict[str, Any]]:
    """Detail sections within the block count and the message budget; a pointer if cut."""
    blocks: list[dict[str, Any]] = []
    used = 0
    texts = _thread_texts(ctx, macros)
    for index, text in enumerate(texts):
        block = _section(text, pointer)
        size = len(_text_of(block))
        if len(blocks) >= MAX_BLOCKS - 1 or used + size > MESSAGE_BUDGET_CHARS:
            left = len(texts) - index
            note = f"_{left} more detail section(s) left out to fit Slack's limits._{pointer}"
            blocks.append(_section(note, ""))
            break
        blocks.append(block)
        used += size
    return blocks


def _chunks(text: str, max_chars: int) -> list[str]:
    """`text` split at line ends into pieces of at most about `max_chars` characters."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        if current and len(current) + len(line) > max_chars:
            chunks.append(current)
            current = ""
        current += line
    chunks.append(current)
    return [c for c in chunks if c.strip()] or [text]


# --- GitLab, terminal, report.md ---------------------------------------------------------------


def render_mr_note(message: Message) -> str:
    """The MR note in GitLab Markdown: `note_marker(message)` first, under NOTE_MAX_CHARS."""
    ctx = _context(message, NOTE_EVIDENCE_MAX_CHARS)
    cut = " (cut; see the full report)"
    for key in ("summary", "cause", "technical"):
        ctx[key] = sanitize.plain_truncate(ctx[key], NOTE_PROSE_MAX_CHARS, cut)
    ctx["steps"] = [sanitize.plain_truncate(s, NOTE_STEP_MAX_CHARS, cut) for s in ctx["steps"]]
    ctx["steps"] = ctx["steps"][:NOTE_MAX_STEPS]
    template = _environment().get_template("mr_note.md.j2")
    note = template.render(ctx, marker=note_marker(message))
    while len(note) > NOTE_MAX_CHARS and ctx["evidence"]:
        ctx["evidence"] = ctx["evidence"][: len(ctx["evidence"]) // 2]
        ctx["omitted"] = "Some evidence was left out to keep this comment short."
        note = template.render(ctx, marker=note_marker(message))
    if len(note) > NOTE_MAX_CHARS:
        ctx.update(technical="", changes=[], omitted="Details were left out to keep this short.")
        note = template.render(ctx, marker=note_marker(message))
    if message.report_url:
        cut = f" (cut; full report: {message.report_url})"
    return sanitize.plain_truncate(note.rstrip(), NOTE_MAX_CHARS - 1, cut) + "\n"


def render_report_md(message: Message) -> str:
    """report.md for the job artifacts: everything, escaped like the MR note."""
    ctx = _context(message, REPORT_EVIDENCE_MAX_CHARS)
    return _environment().get_template("report.md.j2").render(ctx).rstrip() + "\n"


def render_terminal(message: Message) -> str:
    """Plain text for the CLI (no markup; the caller must print it without markup parsing)."""
    ctx = _context(message, TERMINAL_EVIDENCE_MAX_CHARS)
    return _environment().get_template("terminal.txt.j2").render(ctx).rstrip() + "\n"
