"""Escaping of untrusted text (logs, events, LLM output) per sink, and length-safe truncation.

Slack mrkdwn: `& < >` become entities, which also kills `<!channel>`, `<!subteam^…>` and
`<url|label>` links; bare `@channel`/`@here`/`@everyone` get a zero-width space after the `@`.
GitLab Markdown: `& < >` become entities (no raw HTML), a `/` starting a line is escaped (no quick
actions), `@` gets a zero-width space (no `@all` or group pings), and code fences are always longer
than any backtick run inside, with lines starting with `/` indented by one space — GitLab's
quick-action extractor does not fully honour fences, so we do not rely on them alone.
"""

from __future__ import annotations

import re

ZERO_WIDTH_SPACE = "\u200b"
ELLIPSIS = "…"

_SLACK_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone|all)\b)", re.IGNORECASE)
_SLACK_FENCE = re.compile(r"`{3,}")
_GITLAB_MENTION = re.compile(r"@(?=[\w.-])")
_LEADING_SLASH = re.compile(r"^([ \t]*)/", re.MULTILINE)
_FENCE_MARKERS = re.compile(r"^([ \t]*)(`{3,}|~{3,})", re.MULTILINE)
_BACKTICK_RUN = re.compile(r"`+")
_LINE_START_SLASH = re.compile(r"^/", re.MULTILINE)
_TERMINAL_CONTROL = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC (window titles, hyperlinks)
    r"|\x1b\[[0-9;?]*[ -/]*[@-~]"  # CSI (colours, cursor moves)
    r"|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]"
)
_SAFE_URL = re.compile(r"^https?://[^\s<>|]+$")
_MARKDOWN_LINK = re.compile(r"[\[\]()!]")


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- Slack -------------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Untrusted text made safe for mrkdwn: no links, no special mentions, no broadcast words."""
    return _SLACK_BROADCAST.sub("@" + ZERO_WIDTH_SPACE, _escape_html(terminal_text(text)))


def slack_plain(text: str) -> str:
    """Untrusted text for a `plain_text` object (headers): never parsed, only broadcasts broken."""
    return _SLACK_BROADCAST.sub("@" + ZERO_WIDTH_SPACE, " ".join(terminal_text(text).split()))


def slack_code(text: str) -> str:
    """Untrusted multi-line text as a mrkdwn code block that cannot be closed from inside."""
    inner = _SLACK_FENCE.sub(lambda m: "ʼ" * len(m.group(0)), slack_escape(text)).strip("\n")
    return f"```\n{inner or ' '}\n```"


def slack_truncate(text: str, limit: int, pointer: str = "") -> str:
    """`text` cut to at most `limit` characters, ending with `…` and `pointer` when cut.

    Never cuts inside an `&…;` entity, and closes a code block the cut left open.
    """
    if len(text) <= limit:
        return text
    tail = ELLIPSIS + pointer
    budget = max(limit - len(tail) - 4, 0)
    cut = text[:budget]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    if cut.count("```") % 2 == 1:
        return f"{cut}\n```{tail}"[:limit]
    return (cut + tail)[:limit]


def slack_code_span(text: str) -> str:
    """Untrusted short text as an inline mrkdwn code span (its backticks are replaced)."""
    return "`" + slack_escape(" ".join(text.replace("`", "ʼ").split()) or " ") + "`"


def slack_link(url: str | None, label: str) -> str:
    """A mrkdwn link to a URL we built ourselves; a non-http(s) URL leaves just the label."""
    if url is None or not _SAFE_URL.match(url):
        return slack_escape(label)
    return f"<{url}|{slack_escape(label)}>"


# --- GitLab ------------------------------------------------------------------------------------


def gitlab_text(text: str) -> str:
    """Untrusted prose for a GitLab note: no HTML, no quick actions, no mentions, no fences,
    no links or images (`[label](url)`, `![](url)` are backslash-escaped)."""
    escaped = _escape_html(terminal_text(text))
    escaped = _MARKDOWN_LINK.sub(lambda m: "\\" + m.group(0), escaped)
    escaped = _GITLAB_MENTION.sub("@" + ZERO_WIDTH_SPACE, escaped)
    escaped = _FENCE_MARKERS.sub(lambda m: m.group(1) + "\\" + "\\".join(m.group(2)), escaped)
    return _LEADING_SLASH.sub(r"\1\\/", escaped)


def gitlab_inline(text: str) -> str:
    """Untrusted text for one line of a GitLab note (list items, headings): newlines folded."""
    return gitlab_text(" ".join(text.split()))


def gitlab_code_span(text: str) -> str:
    """Untrusted short text as an inline code span that its own backticks cannot close."""
    flat = " ".join(terminal_text(text).split())
    longest = max((len(run) for run in _BACKTICK_RUN.findall(flat)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def gitlab_fence(text: str, info: str = "text") -> str:
    """Untrusted multi-line text as a fenced block it cannot break out of.

    The fence is longer than any backtick run inside; a line starting with `/` gets one leading
    space, because GitLab's quick-action extractor only skips plain ```` ``` ```` blocks.
    """
    body = _LINE_START_SLASH.sub(" /", terminal_text(text).replace("\r", "").strip("\n"))
    longest = max((len(run) for run in _BACKTICK_RUN.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def gitlab_link(url: str | None, label: str) -> str:
    """A Markdown link to a URL we built ourselves; a non-http(s) URL leaves just the label."""
    if url is None or not _SAFE_URL.match(url):
        return gitlab_inline(label)
    target = url.replace("(", "%28").replace(")", "%29")
    return f"[{gitlab_inline(label)}]({target})"


# --- Terminal and files ------------------------------------------------------------------------


def terminal_text(text: str) -> str:
    """Untrusted text for a terminal: escape sequences and control characters removed."""
    return _TERMINAL_CONTROL.sub("", text.replace("\r\n", "\n"))


def plain_truncate(text: str, limit: int, pointer: str = "") -> str:
    """`text` cut to at most `limit` characters, ending with `…` and `pointer` when cut."""
    if len(text) <= limit:
        return text
    tail = ELLIPSIS + pointer
    return text[: max(limit - len(tail), 0)] + tail
