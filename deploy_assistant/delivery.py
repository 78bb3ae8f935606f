"""Posting one rollout's message to Slack and the merge request, exactly once per sink.

A CI job keeps no state between attempts, so the merge-request note is the memory: its first line
is the upsert marker and a hidden line records the Slack message it belongs to. A retried job
finds the note, updates the same Slack message and thread reply, and updates the note — it never
adds a second one (ADR 0006). Without a merge request, a retried job posts a new Slack message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from deploy_assistant.errors import DeployAssistantError
from deploy_assistant.notify.gitlab import GitLabNotifier, MergeRequestRef, gitlab_token
from deploy_assistant.notify.message import Message
from deploy_assistant.notify.render import note_marker, render_mr_note, render_slack_message
from deploy_assistant.notify.slack import (
    SlackNotifier,
    SlackPost,
    resolve_slack_channel,
    slack_token,
)
from deploy_assistant.reports import PostedLinks
from deploy_assistant.settings import CiEnvironment, Settings

log = logging.getLogger(__name__)

SLACK_REF = re.compile(r"<!-- deploy-assistant:slack ([A-Z0-9]+) ([0-9.]+)(?: ([0-9.]+))? -->")


@dataclass(frozen=True)
class SlackRef:
    channel: str
    ts: str
    reply_ts: str | None = None

    def comment(self) -> str:
        reply = f" {self.reply_ts}" if self.reply_ts else ""
        return f"<!-- deploy-assistant:slack {self.channel} {self.ts}{reply} -->"


def slack_ref_in(body: str | None) -> SlackRef | None:
    match = SLACK_REF.search(body or "")
    return SlackRef(match[1], match[2], match[3]) if match else None


def deliver(
    message: Message,
    settings: Settings,
    ci: CiEnvironment,
    *,
    namespace_annotations: Mapping[str, str] | None = None,
) -> PostedLinks:
    """Post or update the Slack message and the MR note; failures are collected, not raised."""
    if settings.dry_run:
        log.info("Dry run: nothing posted")
        return PostedLinks()
    errors: list[str] = []
    marker = note_marker(message)
    gitlab, mr, previous_body = _find_previous_note(settings, ci, marker, errors)
    previous = slack_ref_in(previous_body)
    slack = _post_slack(message, settings, previous, namespace_annotations, errors)
    note_url = None
    want_note = settings.mr_comment == "always" or (
        settings.mr_comment == "on_failure" and (not message.healthy or previous_body is not None)
    )
    if gitlab is not None and mr is not None and want_note:
        ref = SlackRef(slack.channel, slack.ts, slack.reply_ts) if slack else previous
        body = render_mr_note(message) + (f"\n{ref.comment()}\n" if ref else "")
        try:
            note_url = gitlab.upsert_note(mr, body, marker).url
        except DeployAssistantError as exc:
            errors.append(str(exc))
    return PostedLinks(
        slack_permalink=slack.permalink if slack else None, note_url=note_url, errors=tuple(errors)
    )


def _find_previous_note(
    settings: Settings, ci: CiEnvironment, marker: str, errors: list[str]
) -> tuple[GitLabNotifier | None, MergeRequestRef | None, str | None]:
    if settings.mr_comment == "never" and not slack_token(settings.slack):
        return None, None, None
    if gitlab_token(settings.gitlab) is None:
        log.info("No GitLab token (DA_GITLAB__TOKEN): no merge request note")
        return None, None, None
    try:
        gitlab = GitLabNotifier(settings.gitlab, ci)
        mr = gitlab.find_merge_request()
        body = gitlab.find_note_body(mr, marker) if mr else None
    except DeployAssistantError as exc:
        errors.append(str(exc))
        return None, None, None
    return gitlab, mr, body


def _post_slack(
    message: Message,
    settings: Settings,
    previous: SlackRef | None,
    namespace_annotations: Mapping[str, str] | None,
    errors: list[str],
) -> SlackPost | None:
    if message.healthy and not settings.slack.post_success and previous is None:
        return None
    if slack_token(settings.slack) is None:
        log.info("No Slack token (DA_SLACK__TOKEN): no Slack message")
        return None
    channel = previous.channel if previous else None
    channel = channel or resolve_slack_channel(
        settings.slack, namespace_annotations=namespace_annotations
    )
    if channel is None:
        errors.append("Slack has a token but no channel: set DA_SLACK__CHANNEL.")
        return None
    try:
        return SlackNotifier(settings.slack).post(
            render_slack_message(message),
            channel,
            ts=previous.ts if previous else None,
            reply_ts=previous.reply_ts if previous else None,
        )
    except DeployAssistantError as exc:
        errors.append(str(exc))
        return None
