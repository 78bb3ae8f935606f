"""A loopback Slack Web API for tests: real HTTP for the real slack-sdk.

    with SlackStub() as slack:
        client = WebClient(token=slack.token, base_url=slack.url)   # url ends with /api/
        ...
        assert slack.posted_messages[0]["channel"] == "C0DEPLOY"

Implements chat.postMessage, chat.update and chat.getPermalink. Every request is recorded
(`requests`); payloads are checked against Slack's limits (50 blocks, 3,000 characters per section
text, 150 per header, required `text`) and a violation answers `invalid_blocks` and is kept in
`violations`. Faults: `fail_next(429|500, times)` (429 carries `Retry-After: 0`),
`delay_next(seconds)` (sleeps past the client timeout), `not_member(channel)`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.stubs.loopback import JsonHandler, LoopbackServer, LoopbackStub, RecordingState
from tests.stubs.loopback import RecordedRequest as RecordedRequest

MAX_BLOCKS = 50
SECTION_MAX_CHARS = 3000
HEADER_MAX_CHARS = 150


@dataclass
class _Fault:
    status: int = 0
    delay_seconds: float = 0.0


@dataclass(kw_only=True)
class _State(RecordingState):
    token: str
    channels: dict[str, str]
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    posted: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    non_members: set[str] = field(default_factory=set)
    next_ts: int = 1_700_000_000_000_100


def limit_violations(payload: dict[str, Any]) -> list[str]:
    """What in a chat.postMessage/chat.update payload breaks Slack's limits (empty if none)."""
    problems: list[str] = []
    blocks = payload.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks > {MAX_BLOCKS}")
    if not payload.get("text"):
        problems.append("no fallback text")
    for index, block in enumerate(blocks):
        text = (block.get("text") or {}).get("text", "")
        if block.get("type") == "header" and len(text) > HEADER_MAX_CHARS:
            problems.append(f"block {index}: header of {len(text)} chars > {HEADER_MAX_CHARS}")
        if block.get("type") == "section" and len(text) > SECTION_MAX_CHARS:
            problems.append(f"block {index}: section of {len(text)} chars > {SECTION_MAX_CHARS}")
        for element in block.get("elements") or []:
            if len(str(element.get("text", ""))) > SECTION_MAX_CHARS:
                problems.append(f"block {index}: context element over {SECTION_MAX_CHARS} chars")
    return problems


class _Handler(JsonHandler):
    server: LoopbackServer[_State]

    def do_GET(self) -> None:  # noqa: N802 - http.server dispatches on this name
        self._handle()

    def do_POST(self) -> None:  # noqa: N802 - http.server dispatches on this name
        self._handle()

    def _body(self) -> dict[str, Any]:
        raw = self.read_body()
        query = dict(parse_qsl(urlsplit(self.path).query))
        if raw and "json" in (self.headers.get("Content-Type") or ""):
            return {**query, **json.loads(raw)}
        return {**query, **dict(parse_qsl(raw))}

    def _handle(self) -> None:
        state = self.server.state
        body = self._body()
        method = urlsplit(self.path).path.rsplit("/", 1)[-1]
        with state.lock:
            state.record(self.command, self.path, dict(self.headers.items()), body)
            fault = state.faults.pop(0) if state.faults else None
        if fault is not None and fault.delay_seconds:
            time.sleep(fault.delay_seconds)
        if fault is not None and fault.status == 429:
            self._send(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})
            return
        if fault is not None and fault.status:
            self._send(fault.status, {"ok": False, "error": "internal_error"})
            return
        self._send(200, self._answer(method, body))

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        state = self.server.state
        if self.headers.get("Authorization") != f"Bearer {state.token}":
            return {"ok": False, "error": "invalid_auth"}
        channel = str(body.get("channel", ""))
        if channel not in state.channels:
            return {"ok": False, "error": "channel_not_found"}
        if method == "chat.getPermalink":
            ts = str(body.get("message_ts", ""))
            link = f"https://stub.slack.test/archives/{channel}/p{ts.replace('.', '')}"
            return {"ok": True, "channel": channel, "permalink": link}
        if channel in state.non_members:
            return {"ok": False, "error": "not_in_channel"}
        if method not in ("chat.postMessage", "chat.update"):
            return {"ok": False, "error": "unknown_method"}
        problems = limit_violations(body)
        if problems:
            with state.lock:
                state.violations.extend(problems)
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        return self._store(method, channel, body)

    def _store(self, method: str, channel: str, body: dict[str, Any]) -> dict[str, Any]:
        state = self.server.state
        with state.lock:
            if method == "chat.update":
                ts = str(body.get("ts", ""))
                if ts not in state.messages:
                    return {"ok": False, "error": "message_not_found"}
                state.messages[ts].update(text=body.get("text"), blocks=body.get("blocks"))
                state.updates.append({**body, "channel": channel})
                return {"ok": True, "channel": channel, "ts": ts, "text": body.get("text")}
            state.next_ts += 100
            digits = str(state.next_ts)
            ts = f"{digits[:10]}.{digits[10:]}"
            record = {**body, "channel": channel, "ts": ts}
            state.messages[ts] = record
            state.posted.append(record)
        message = {"type": "message", "text": body.get("text"), "ts": ts, "bot_id": "B0BOT"}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _send(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self.send_json(status, payload, headers, content_type="application/json; charset=utf-8")


class SlackStub(LoopbackStub[_State]):
    """The stub server; use as a context manager. `url` is the base URL for WebClient."""

    def __init__(self, token: str = "xoxb-test", channels: dict[str, str] | None = None) -> None:
        self.token = token
        super().__init__(
            _Handler, _State(token=token, channels=channels or {"C0DEPLOY": "deploys"})
        )

    @property
    def url(self) -> str:
        return f"{self.origin}/api/"

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self.state.requests)

    @property
    def posted_messages(self) -> list[dict[str, Any]]:
        """Every accepted chat.postMessage payload (parents and thread replies), in order."""
        return list(self.state.posted)

    @property
    def updates(self) -> list[dict[str, Any]]:
        return list(self.state.updates)

    @property
    def messages(self) -> dict[str, dict[str, Any]]:
        """Current state of every message by ts (updates applied)."""
        return dict(self.state.messages)

    @property
    def violations(self) -> list[str]:
        return list(self.state.violations)

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next `times` requests with HTTP `status` (429 sends Retry-After: 0)."""
        with self.state.lock:
            self.state.faults.extend(_Fault(status=status) for _ in range(times))

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Sleep `seconds` before answering the next `times` requests (to exceed a timeout)."""
        with self.state.lock:
            self.state.faults.extend(_Fault(delay_seconds=seconds) for _ in range(times))

    def not_member(self, channel: str) -> None:
        """Answer `not_in_channel` for posts to `channel`."""
        self.state.non_members.add(channel)
