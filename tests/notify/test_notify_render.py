"""Rendering for every sink: content, limits, truncation and the strict template environment."""

from __future__ import annotations

import json
import re

import jinja2
import pytest

from deploy_assistant.models import Evidence, RolloutStatus, Target, Verdict
from deploy_assistant.notify.render import (
    HEADER_MAX_CHARS,
    MAX_BLOCKS,
    NOTE_MAX_CHARS,
    SECTION_MAX_CHARS,
    _environment,
    note_marker,
    render_mr_note,
    render_report_md,
    render_slack_message,
    render_terminal,
)
from tests.notify.sample_messages import failed_message, healthy_message, huge_message
from tests.stubs.slack_stub import limit_violations


def _texts(blocks: tuple[dict[str, object], ...]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_slack_parent_has_verdict_summary_cause_steps_and_links() -> None:
    slack = render_slack_message(failed_message())
    header = slack.blocks[0]
    assert header["type"] == "header"
    assert header["text"]["text"] == "❌ Rollout failed: checkout in production"
    body = _texts(slack.blocks)
    assert "DATABASE_URL is missing" in body
    assert "1. Add DATABASE_URL" in body
    assert "<https://gitlab.example.com/shop/app/-/pipelines/98765|Pipeline>" in body
    assert "<https://gitlab.example.com/shop/app/-/jobs/55501|Job>" in body
    assert "<https://gitlab.example.com/shop/app/-/merge_requests/42|Merge request>" in body
    assert "Rollout failed" in slack.text


def test_slack_details_go_to_the_thread_reply() -> None:
    slack = render_slack_message(failed_message())
    thread = _texts(slack.thread_blocks)
    assert "CrashLoopBackOff" in thread
    assert "KeyError: 'DATABASE_URL'" in thread
    assert "`container/app.image`: `app:1.4` → `app:1.5`" in thread
    assert "CrashLoopBackOff" not in _texts(slack.blocks)
    assert slack.thread_text


def test_slack_limits_hold_for_an_enormous_analysis_and_point_to_the_report() -> None:
    message = huge_message()
    slack = render_slack_message(message)
    assert limit_violations({"blocks": list(slack.blocks), "text": slack.text}) == []
    assert limit_violations({"blocks": list(slack.thread_blocks), "text": slack.thread_text}) == []
    assert len(slack.thread_blocks) <= MAX_BLOCKS
    assert sum(len(_texts((b,))) for b in slack.thread_blocks) < 14_000
    assert "artifacts/browse|job artifacts>" in slack.thread_blocks[-1]["text"]["text"]
    cause = slack.blocks[2]["text"]["text"]
    assert len(cause) <= SECTION_MAX_CHARS
    assert not re.search(r"&[a-z]*…", cause), "cut inside an entity"


def test_slack_header_is_cut_to_150_characters() -> None:
    message = failed_message(
        target=Target(namespace="shop", deployment="d" * 200), environment="e" * 100
    )
    header = render_slack_message(message).blocks[0]["text"]["text"]
    assert len(header) <= HEADER_MAX_CHARS
    assert header.endswith("…")


def test_mr_note_starts_with_the_marker_and_hides_details() -> None:
    message = failed_message()
    note = render_mr_note(message)
    assert note.splitlines()[0] == note_marker(message)
    assert note_marker(message) == "<!-- deploy-assistant:prod-eu/shop/checkout:production -->"
    assert "<details>\n<summary>Technical details</summary>\n\n" in note
    assert "```text\nKeyError: 'DATABASE_URL'\n```" in note
    assert "[Merge request](https://gitlab.example.com/shop/app/-/merge_requests/42)" in note


def test_note_marker_differs_per_environment_and_cannot_close_the_comment() -> None:
    staging = note_marker(failed_message(environment="staging"))
    production = note_marker(failed_message())
    assert staging != production
    odd = note_marker(failed_message(environment="review/x --> <b>"))
    assert odd.count("-->") == 1
    assert "<b>" not in odd


def test_mr_note_stays_under_the_size_budget_with_a_pointer() -> None:
    note = render_mr_note(huge_message())
    assert len(note) <= NOTE_MAX_CHARS
    assert "left out" in note
    assert "artifacts/browse" in note


def test_report_md_keeps_all_evidence() -> None:
    report = render_report_md(huge_message())
    assert report.count("pod/p") == 200
    assert report.startswith("# ❌ Rollout failed")


def test_terminal_text_is_plain_and_strips_escape_sequences() -> None:
    base = failed_message()
    assert base.analysis is not None
    evil = Evidence(source="log", text="\x1b[31mred\x1b[0m \x1b]0;title\x07done\r")
    message = base.model_copy(
        update={"analysis": base.analysis.model_copy(update={"evidence": (evil,)})}
    )
    text = render_terminal(message)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "red done" in text
    assert "Likely cause\n  The environment variable DATABASE_URL" in text
    assert "Merge request: https://gitlab.example.com/shop/app/-/merge_requests/42" in text


@pytest.mark.parametrize(
    "render", [render_terminal, render_mr_note, render_report_md], ids=lambda f: f.__name__
)
def test_healthy_variant_is_one_line(render: object) -> None:
    out = render(healthy_message())  # type: ignore[operator]
    lines = [line for line in out.splitlines() if line and not line.startswith("<!--")]
    if render is render_report_md:
        assert lines[0] == "# ✅ Rollout healthy: checkout in production"
    else:
        assert len(lines) == 1
        assert "Rollout healthy: checkout in production" in lines[0]


def test_healthy_slack_is_one_section_without_thread() -> None:
    slack = render_slack_message(healthy_message())
    assert len(slack.blocks) == 1
    assert slack.thread_blocks == ()
    assert slack.thread_text == ""
    assert "Rollout healthy" in slack.text


def test_unanalysed_failure_renders_the_verdict_message() -> None:
    message = failed_message(
        analysis=None, verdict=Verdict(status=RolloutStatus.TIMEOUT, message="Deadline passed")
    )
    slack = render_slack_message(message)
    assert "Rollout stuck" in slack.blocks[0]["text"]["text"]
    assert "Deadline passed" in _texts(slack.blocks)
    assert "Deadline passed" in render_mr_note(message)


def test_templates_fail_loudly_on_undefined_names() -> None:
    with pytest.raises(jinja2.UndefinedError):
        _environment().from_string("{{ not_passed }}").render()


@pytest.mark.parametrize("status", list(RolloutStatus))
@pytest.mark.parametrize("bare", [False, True], ids=["full", "bare"])
def test_every_status_renders_in_every_sink_with_or_without_optional_parts(
    status: RolloutStatus, bare: bool
) -> None:
    message = failed_message(verdict=Verdict(status=status))
    if bare:
        message = message.model_copy(
            update={"git": None, "environment": None, "report_url": None, "rollout_diff": ()}
        )
    slack = render_slack_message(message)
    assert limit_violations({"blocks": list(slack.blocks), "text": slack.text}) == []
    assert render_mr_note(message).startswith("<!-- deploy-assistant:")
    assert render_terminal(message).strip()
    assert render_report_md(message).startswith("# ")
