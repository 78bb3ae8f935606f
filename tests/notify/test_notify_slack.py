"""SlackNotifier against the loopback Slack stub with the real slack-sdk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from deploy_assistant.errors import ConfigError, NotifyUnavailable
from deploy_assistant.notify.render import render_slack_message
from deploy_assistant.notify.slack import (
    CHANNEL_ANNOTATION,
    SlackNotifier,
    resolve_slack_channel,
)
from deploy_assistant.settings import SlackSettings
from tests.notify.sample_messages import failed_message, healthy_message, huge_message
from tests.stubs.slack_stub import SlackStub

CHANNEL = "C0DEPLOY"


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub(channels={CHANNEL: "deploys", "C0OTHER": "other"}) as stub:
        yield stub


def _notifier(stub: SlackStub, token: str | None = None, **kwargs: float) -> SlackNotifier:
    settings = SlackSettings(token=SecretStr(token or stub.token), base_url=stub.url, max_retries=2)
    return SlackNotifier(settings, backoff_seconds=0.0, **kwargs)


def test_post_sends_parent_then_thread_reply_without_mentions_or_unfurls(slack: SlackStub) -> None:
    post = _notifier(slack).post(render_slack_message(failed_message()), CHANNEL)
    parent, reply = slack.posted_messages
    assert parent["ts"] == post.ts
    assert reply["thread_ts"] == post.ts
    assert post.reply_ts == reply["ts"]
    assert post.channel == CHANNEL
    assert post.permalink is not None
    assert post.permalink.endswith(post.ts.replace(".", ""))
    for body in (parent, reply):
        assert body["parse"] == "none"
        assert body["link_names"] is False
        assert body["unfurl_links"] is False
    assert slack.requests[0].headers["Authorization"] == "Bearer xoxb-test"


def test_posting_the_same_rollout_again_updates_in_place(slack: SlackStub) -> None:
    notifier = _notifier(slack)
    first = notifier.post(render_slack_message(failed_message()), CHANNEL)
    second = notifier.post(
        render_slack_message(healthy_message()), CHANNEL, ts=first.ts, reply_ts=first.reply_ts
    )
    assert second.ts == first.ts
    assert len(slack.posted_messages) == 2
    assert [u["ts"] for u in slack.updates] == [first.ts]
    assert all(u["parse"] == "none" and u["link_names"] is False for u in slack.updates)
    assert "Rollout healthy" in slack.messages[first.ts]["text"]


def test_update_of_a_vanished_message_posts_a_new_one(slack: SlackStub) -> None:
    post = _notifier(slack).post(
        render_slack_message(failed_message()), CHANNEL, ts="1.000", reply_ts="1.001"
    )
    assert post.ts != "1.000"
    assert len(slack.posted_messages) == 2


def test_update_also_refreshes_the_thread_reply(slack: SlackStub) -> None:
    notifier = _notifier(slack)
    first = notifier.post(render_slack_message(failed_message()), CHANNEL)
    again = notifier.post(
        render_slack_message(failed_message()), CHANNEL, ts=first.ts, reply_ts=first.reply_ts
    )
    assert again.reply_ts == first.reply_ts
    assert sorted(u["ts"] for u in slack.updates) == sorted([first.ts, str(first.reply_ts)])
    assert len(slack.posted_messages) == 2


def test_rate_limit_is_retried_after_retry_after(slack: SlackStub) -> None:
    slack.fail_next(429)
    post = _notifier(slack).post(render_slack_message(healthy_message()), CHANNEL)
    assert post.ts
    methods = [r.path for r in slack.requests]
    assert methods[:2] == ["/api/chat.postMessage", "/api/chat.postMessage"]


def test_server_errors_are_retried_with_backoff(slack: SlackStub) -> None:
    slack.fail_next(500, times=2)
    _notifier(slack).post(render_slack_message(healthy_message()), CHANNEL)
    assert len(slack.posted_messages) == 1
    assert [r.path for r in slack.requests].count("/api/chat.postMessage") == 3


def test_persistent_server_errors_raise_notify_unavailable(slack: SlackStub) -> None:
    slack.fail_next(503, times=5)
    with pytest.raises(NotifyUnavailable, match=r"HTTP 503 to chat\.postMessage after 2 retries"):
        _notifier(slack).post(render_slack_message(healthy_message()), CHANNEL)


def test_timeout_is_not_retried_and_says_so(slack: SlackStub) -> None:
    slack.delay_next(1.0)
    notifier = _notifier(slack, timeout_seconds=0.2)
    with pytest.raises(NotifyUnavailable, match=r"did not answer chat\.postMessage within 0\.2 s"):
        notifier.post(render_slack_message(healthy_message()), CHANNEL)
    assert len(slack.requests) == 1


def test_not_in_channel_says_how_to_invite_the_app(slack: SlackStub) -> None:
    slack.not_member(CHANNEL)
    with pytest.raises(ConfigError, match=r"not a member of channel C0DEPLOY.*/invite @"):
        _notifier(slack).post(render_slack_message(healthy_message()), CHANNEL)


def test_unknown_channel_is_a_config_error(slack: SlackStub) -> None:
    with pytest.raises(ConfigError, match=r"channel C0NOPE was not found"):
        _notifier(slack).post(render_slack_message(healthy_message()), "C0NOPE")


def test_bad_token_is_a_config_error_naming_the_setting(slack: SlackStub) -> None:
    with pytest.raises(ConfigError, match=r"invalid_auth.*DA_SLACK__TOKEN"):
        _notifier(slack, token="xoxb-wrong").post(render_slack_message(healthy_message()), CHANNEL)


@pytest.mark.parametrize("token", [None, "", "$DEPLOY_ASSISTANT_SLACK_BOT_TOKEN"])
def test_missing_token_is_a_config_error(token: str | None) -> None:
    settings = SlackSettings(token=SecretStr(token) if token is not None else None)
    with pytest.raises(ConfigError, match="DA_SLACK__TOKEN"):
        SlackNotifier(settings)


def test_enormous_message_passes_the_stub_limit_checks(slack: SlackStub) -> None:
    _notifier(slack).post(render_slack_message(huge_message()), CHANNEL)
    assert slack.violations == []
    assert len(slack.posted_messages) == 2


def test_channel_resolution_order() -> None:
    settings = SlackSettings(
        channel=None, default_channel="CDEFAULT", team_channels={"payments": "CPAY"}
    )
    annotations = {CHANNEL_ANNOTATION: "CANNOT"}
    assert resolve_slack_channel(settings) == "CDEFAULT"
    assert resolve_slack_channel(settings, namespace_annotations=annotations) == "CANNOT"
    assert (
        resolve_slack_channel(settings, team="payments", namespace_annotations=annotations)
        == "CPAY"
    )
    assert (
        resolve_slack_channel(
            settings, explicit="CEXPLICIT", team="payments", namespace_annotations=annotations
        )
        == "CEXPLICIT"
    )
    assert resolve_slack_channel(SlackSettings()) is None
