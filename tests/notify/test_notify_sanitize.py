"""Untrusted text stays inert in every sink: no mentions, no quick actions, no breakout."""

from __future__ import annotations

import json
import re

import pytest

from deploy_assistant.notify import sanitize
from deploy_assistant.notify.render import render_mr_note, render_report_md, render_slack_message
from tests.notify.sample_messages import HOSTILE, hostile_message

# GitLab's quick-action extractor (lib/gitlab/quick_actions/extractor.rb), in Python: Ruby's /m is
# DOTALL and its ^/$ always match at line boundaries.
_COMMANDS = "close|merge|approve|reopen|label|assign|unassign|title|lock|rebase|submit_review"
_EXTRACTOR = re.compile(
    r"(?P<code>^```\n.+?\n```$)"
    r"|(?P<inline_code>^.*`\n*.+?\n*`$)"
    r"|(?P<html>^<[^>]+?>\n.+?\n</[^>]+?>$)"
    r"|(?P<quote>^>>>\n.+?\n>>>$)"
    rf"|(?:^/(?P<cmd>{_COMMANDS})(?:[ ](?P<arg>[^\n]*))?(?:\s*\n|$))",
    re.MULTILINE | re.DOTALL | re.IGNORECASE,
)


def _quick_actions(note: str) -> list[str]:
    return [m.group("cmd") for m in _EXTRACTOR.finditer(note) if m.group("cmd")]


def _outside_fences(markdown: str) -> str:
    """The Markdown with fenced blocks removed (CommonMark: close with >= the opening ticks)."""
    kept: list[str] = []
    fence = ""
    for line in markdown.splitlines():
        ticks = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
        if not fence and ticks:
            fence = ticks.group(1)
        elif fence and re.fullmatch(rf" {{0,3}}{fence[0]}{{{len(fence)},}}\s*", line):
            fence = ""
        elif not fence:
            kept.append(line)
    return "\n".join(kept)


def test_slack_escape_kills_special_mentions_and_links() -> None:
    out = sanitize.slack_escape(HOSTILE)
    assert "<" not in out
    assert ">" not in out
    assert not re.search(r"@(channel|here|everyone)", out)
    assert "&lt;!channel&gt;" in out
    assert "&amp; &lt;img" in out


def test_slack_message_from_hostile_text_has_only_our_links() -> None:
    slack = render_slack_message(hostile_message())
    for blocks in (slack.blocks, slack.thread_blocks):
        text = json.dumps(blocks, ensure_ascii=False)
        assert "<!" not in text
        assert not re.search(r"@(channel|here|everyone)", text)
        assert set(re.findall(r"<([a-z]+)", text)) <= {"https"}
        assert "<https://evil" not in text
    assert "<!" not in slack.text
    assert "<!" not in slack.thread_text


def test_slack_code_block_cannot_be_closed_from_inside() -> None:
    out = sanitize.slack_code("a\n```\nb ```` c")
    assert out.startswith("```\n")
    assert out.endswith("\n```")
    assert out.count("```") == 2


def test_slack_truncate_never_splits_an_entity_and_closes_code() -> None:
    text = sanitize.slack_escape("<" * 100)
    cut = sanitize.slack_truncate(text, 50, " more")
    assert len(cut) <= 50
    assert re.fullmatch(r"(&lt;)*… more", cut)
    code = sanitize.slack_truncate(sanitize.slack_code("x" * 100), 40)
    assert code.count("```") == 2


def test_gitlab_prose_has_no_quick_actions_mentions_or_html() -> None:
    out = sanitize.gitlab_text(HOSTILE)
    assert _quick_actions(out) == []
    assert not re.search(r"(?m)^\s*/", out)
    assert not re.search(r"@\w", out)
    assert "<" not in out
    assert "\\`\\`\\`" in out
    assert "\\~\\~\\~" in out


@pytest.mark.parametrize("render", [render_mr_note, render_report_md], ids=lambda f: f.__name__)
def test_gitlab_note_from_hostile_text_is_inert(render: object) -> None:
    note = render(hostile_message())  # type: ignore[operator]
    body = "\n".join(note.splitlines()[1:])  # without the marker, which would hide a lot
    assert _quick_actions(body) == []
    assert _quick_actions(note) == []
    assert not re.search(r"(?m)^/", note), "a line starting with / anywhere, fenced or not"
    prose = re.sub(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", "", _outside_fences(note))  # no code spans
    assert not re.search(r"@\w", prose)
    tags = set(re.findall(r"</?([a-z!]+)", prose))
    assert tags <= {"details", "summary", "!"}
    assert prose.count("<!--") == (1 if render is render_mr_note else 0)


def test_gitlab_fence_is_longer_than_any_backtick_run_inside() -> None:
    text = "ok\n````` five\n/close\n```"
    fenced = sanitize.gitlab_fence(text)
    lines = fenced.splitlines()
    assert lines[0] == "``````text"
    assert lines[-1] == "``````"
    assert " /close" in lines
    assert _outside_fences(fenced) == ""


def test_gitlab_code_span_survives_backticks() -> None:
    assert sanitize.gitlab_code_span("app:1") == "`app:1`"
    assert sanitize.gitlab_code_span("a `b` c") == "``a `b` c``"
    assert sanitize.gitlab_code_span("`x`") == "`` `x` ``"


def test_links_only_for_http_urls() -> None:
    assert sanitize.slack_link("javascript:alert(1)", "x") == "x"
    assert sanitize.gitlab_link("javascript:alert(1)", "x") == "x"
    assert sanitize.gitlab_link("https://h/a(b)", "l") == "[l](https://h/a%28b%29)"
    assert sanitize.slack_link("https://h/p", "<b>") == "<https://h/p|&lt;b&gt;>"
