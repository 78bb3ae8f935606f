"""The loopback stubs themselves: they refuse what Slack and GitLab would refuse."""

from __future__ import annotations

import gitlab
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.stubs.gitlab_stub import GitLabStub
from tests.stubs.slack_stub import SlackStub


def test_slack_stub_refuses_payloads_over_the_limits() -> None:
    too_many = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51
    long_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    long_header = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]
    with SlackStub() as slack:
        client = WebClient(token=slack.token, base_url=slack.url)
        for blocks in (too_many, long_section, long_header):
            with pytest.raises(SlackApiError) as raised:
                client.chat_postMessage(channel="C0DEPLOY", text="t", blocks=blocks)
            assert raised.value.response["error"] == "invalid_blocks"
        assert len(slack.violations) == 3
        assert slack.posted_messages == []


def test_gitlab_stub_refuses_oversized_notes_and_job_token_writes() -> None:
    with GitLabStub() as stub:
        stub.add_project("shop/app")
        stub.add_merge_request("shop/app", 1)
        client = gitlab.Gitlab(stub.url, private_token=stub.token)
        mr = client.projects.get("shop/app").mergerequests.get(1)
        with pytest.raises(gitlab.GitlabCreateError):
            mr.notes.create({"body": "x" * 1_000_001})
        assert stub.violations == ["note body of 1000001 chars"]
        reader = gitlab.Gitlab(stub.url, job_token=stub.job_token)
        lazy_mr = reader.projects.get("shop/app", lazy=True).mergerequests.get(1, lazy=True)
        assert list(lazy_mr.notes.list(iterator=True)) == []
        with pytest.raises(gitlab.GitlabAuthenticationError):
            lazy_mr.notes.create({"body": "hello"})
        assert stub.all_notes == []
