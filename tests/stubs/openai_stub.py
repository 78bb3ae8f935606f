"""An OpenAI-compatible chat-completions server on loopback, scripted reply by reply.

Serves `POST /v1/chat/completions` (and `GET /v1/models`) from a stdlib ThreadingHTTPServer so
that the real `langchain-openai` client can be driven through faults: slow answers, 429, 500,
broken JSON, schema-valid answers with invented evidence. Each request takes the next scripted
`StubReply`; when the script runs out the last reply repeats. Requests are recorded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.stubs.loopback import JsonHandler, LoopbackServer, LoopbackStub


@dataclass(frozen=True)
class StubReply:
    status: int = 200
    body: dict[str, Any] | str = ""
    hold: bool = False
    """Never answer (until the stub stops): the client must time out."""


def completion(
    content: str, *, prompt_tokens: int = 900, completion_tokens: int = 120
) -> StubReply:
    """A normal chat completion whose message content is `content`."""
    return StubReply(
        body={
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": 1764234000,
            "model": "stub-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def refusal(text: str) -> StubReply:
    """A structured-output refusal, as OpenAI sends it (no content, a `refusal` string)."""
    reply = completion("")
    assert isinstance(reply.body, dict)
    message = reply.body["choices"][0]["message"]
    message.update({"content": None, "refusal": text})
    return reply


def json_completion(answer: dict[str, Any], **usage: int) -> StubReply:
    """A completion whose content is `answer` as JSON (what json_schema mode expects)."""
    return completion(json.dumps(answer), **usage)


def error(status: int, message: str) -> StubReply:
    return StubReply(status=status, body={"error": {"message": message, "type": "stub_error"}})


class _Handler(JsonHandler):
    # One request per connection: a held reply must not leave a socket the client reuses.
    protocol_version = "HTTP/1.0"
    server: LoopbackServer[OpenAIStub]

    def do_GET(self) -> None:  # noqa: N802 - http.server dispatches on this name
        self.send_json(200, {"object": "list", "data": [{"id": "stub-model"}]})

    def do_POST(self) -> None:  # noqa: N802 - http.server dispatches on this name
        stub = self.server.state
        reply = stub.next_reply(json.loads(self.read_body() or "{}"))
        if reply.hold:
            stub.stopping.wait()
            return
        self.send_json(reply.status, reply.body)


class OpenAIStub(LoopbackStub["OpenAIStub"]):
    """The stub is its own server state, so tests can re-script `replies` between calls."""

    def __init__(self, replies: list[StubReply] | None = None) -> None:
        self.replies: list[StubReply] = list(replies or [])
        self.requests: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        super().__init__(_Handler, self)

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def next_reply(self, request: dict[str, Any]) -> StubReply:
        with self._lock:
            self.requests.append(request)
            if len(self.replies) > 1:
                return self.replies.pop(0)
            return self.replies[0] if self.replies else error(500, "no reply scripted")

    def stop(self) -> None:
        self.stopping.set()
        super().stop()


@contextmanager
def running_openai_stub(replies: list[StubReply] | None = None) -> Iterator[OpenAIStub]:
    stub = OpenAIStub(replies).start()
    try:
        yield stub
    finally:
        stub.stop()
