"""Slack adapter (the only module importing `slack_sdk`): post, thread, update in place.

One message per rollout: the parent carries the verdict and summary, one thread reply carries the
details. When the caller passes back the `ts` it stored, the same message is updated with
`chat.update` instead of posting again. Every call sends `parse=none` and `link_names=false`
(`chat.update` would otherwise parse mentions). 429s are retried after `Retry-After`; 5xx and
connection failures with backoff. A read timeout is not retried: Slack may have posted already.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from deploy_assistant.errors import ConfigError, DeployAssistantError, NotifyUnavailable
from deploy_assistant.notify.message import SlackMessage
from deploy_assistant.settings import SlackSettings

logger = logging.getLogger(__name__)

CHANNEL_ANNOTATION = "deploy-assistant.io/slack-channel"
_SAFE = {"parse": "none", "link_names": False}
_NO_UNFURL = {"unfurl_links": False, "unfurl_media": False}
_STALE_TS_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
_AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)


@dataclass(frozen=True)
class SlackPost:
    """Where the rollout's message lives; store it to update the same message next time."""

    channel: str
    ts: str
    reply_ts: str | None = None
    permalink: str | None = None


def resolve_slack_channel(
    settings: SlackSettings,
    *,
    explicit: str | None = None,
    team: str | None = None,
    namespace_annotations: Mapping[str, str] | None = None,
) -> str | None:
    """Explicit input > settings.channel > team mapping > namespace annotation > default."""
    annotation = (namespace_annotations or {}).get(CHANNEL_ANNOTATION)
    candidates = (
        explicit,
        settings.channel,
        settings.team_channels.get(team) if team else None,
        annotation,
        settings.default_channel,
    )
    return next((c.strip() for c in candidates if c and c.strip()), None)


def slack_token(settings: SlackSettings) -> str | None:
    """The bot token, or None when unset (a literal `$VARIABLE` left by CI counts as unset)."""
    token = settings.token.get_secret_value().strip() if settings.token else ""
    return token if token and not token.startswith("$") else None


class _ProportionalJitter(Jitter):
    """Up to +50 % of the interval (slack-sdk's default adds up to a whole second)."""

    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random() / 2)  # noqa: S311 - jitter, not cryptography


class _ServerErrorRetryHandler(ServerErrorRetryHandler):
    """slack-sdk's handler only retries 500 and 503; gateways also answer 502 and 504."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        _ = (state, request, error)
        return response is not None and response.status_code in (500, 502, 503, 504)


class SlackNotifier:
    """Posts rendered `SlackMessage`s with a bot token (scope `chat:write`)."""

    def __init__(
        self,
        settings: SlackSettings,
        *,
        timeout_seconds: float = 30.0,
        backoff_seconds: float = 0.5,
    ) -> None:
        token = slack_token(settings)
        if token is None:
            raise ConfigError(
                "Slack is not configured: set DA_SLACK__TOKEN to a bot token (xoxb-…)."
            )
        self._max_retries = settings.max_retries
        self._timeout_seconds = timeout_seconds
        interval = BackoffRetryIntervalCalculator(
            backoff_factor=backoff_seconds, jitter=_ProportionalJitter()
        )
        self._client = WebClient(
            token=token,
            base_url=settings.base_url,
            timeout=max(1, round(timeout_seconds)),
            retry_handlers=[
                ConnectionErrorRetryHandler(settings.max_retries, interval),
                RateLimitErrorRetryHandler(max_retry_count=settings.max_retries),
                _ServerErrorRetryHandler(settings.max_retries, interval),
            ],
        )
        self._client.timeout = timeout_seconds  # type: ignore[assignment] # urllib takes floats

    def post(
        self,
        message: SlackMessage,
        channel: str,
        *,
        ts: str | None = None,
        reply_ts: str | None = None,
    ) -> SlackPost:
        """Post (or, given the stored `ts`/`reply_ts`, update) the message and its thread reply."""
        parent = self._parent(message, channel, ts)
        channel_id, parent_ts = str(parent["channel"]), str(parent["ts"])
        new_reply_ts = None
        if message.thread_blocks:
            reply = self._reply(message, channel_id, parent_ts, reply_ts if ts else None)
            new_reply_ts = str(reply["ts"])
        return SlackPost(
            channel=channel_id,
            ts=parent_ts,
            reply_ts=new_reply_ts,
            permalink=self._permalink(channel_id, parent_ts),
        )

    def _parent(self, message: SlackMessage, channel: str, ts: str | None) -> Mapping[str, Any]:
        blocks = list(message.blocks)
        if ts is not None:
            try:
                return self._call(
                    "chat.update", channel, ts=ts, text=message.text, blocks=blocks, **_SAFE
                )
            except _StaleMessage:
                logger.info("Slack message %s in %s is gone; posting a new one", ts, channel)
        return self._call(
            "chat.postMessage", channel, text=message.text, blocks=blocks, **_SAFE, **_NO_UNFURL
        )

    def _reply(
        self, message: SlackMessage, channel: str, parent_ts: str, reply_ts: str | None
    ) -> Mapping[str, Any]:
        blocks = list(message.thread_blocks)
        text = message.thread_text
        if reply_ts is not None:
            try:
                return self._call(
                    "chat.update", channel, ts=reply_ts, text=text, blocks=blocks, **_SAFE
                )
            except _StaleMessage:
                logger.info("Slack thread reply %s is gone; replying again", reply_ts)
        return self._call(
            "chat.postMessage",
            channel,
            thread_ts=parent_ts,
            text=text,
            blocks=blocks,
            **_SAFE,
            **_NO_UNFURL,
        )

    def _permalink(self, channel: str, ts: str) -> str | None:
        try:
            response = self._client.chat_getPermalink(channel=channel, message_ts=ts)
        except (SlackApiError, OSError) as exc:
            logger.warning("Slack permalink for %s in %s unavailable: %s", ts, channel, exc)
            return None
        link = response.get("permalink")
        return str(link) if link else None

    def _call(self, method: str, channel: str, **kwargs: Any) -> Mapping[str, Any]:
        try:
            if method == "chat.update":
                response = self._client.chat_update(channel=channel, **kwargs)
            else:
                response = self._client.chat_postMessage(channel=channel, **kwargs)
        except SlackApiError as exc:
            raise _error_of(exc, method, channel, self._max_retries) from exc
        except OSError as exc:  # URLError, timeouts and resets are OSErrors
            raise NotifyUnavailable(
                f"Slack did not answer {method} within {self._timeout_seconds:g} s ({exc})."
            ) from exc
        return response.data if isinstance(response.data, dict) else {}


class _StaleMessage(NotifyUnavailable):
    """The stored message can no longer be updated; post a new one instead."""


def _error_of(exc: SlackApiError, method: str, channel: str, retries: int) -> DeployAssistantError:
    """One sentence a developer can act on for a Slack API refusal."""
    status = exc.response.status_code
    error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
    if error in _STALE_TS_ERRORS:
        return _StaleMessage(f"Slack cannot update the stored message ({error}).")
    if error == "not_in_channel":
        return ConfigError(
            f"The Slack app is not a member of channel {channel}; "
            "invite it there with /invite @<app name>."
        )
    if error == "channel_not_found":
        return ConfigError(
            f"Slack channel {channel} was not found; use the channel ID (C…) "
            "and make sure the app can see it (invite it with /invite @<app name>)."
        )
    if error in _AUTH_ERRORS:
        return ConfigError(f"Slack rejected the bot token ({error}); check DA_SLACK__TOKEN.")
    if status == 429:
        return NotifyUnavailable(f"Slack kept rate-limiting {method} after {retries} retries.")
    if status >= 500:
        return NotifyUnavailable(
            f"Slack answered HTTP {status} to {method} after {retries} retries."
        )
    return NotifyUnavailable(f"Slack refused {method}: {error or f'HTTP {status}'}.")
