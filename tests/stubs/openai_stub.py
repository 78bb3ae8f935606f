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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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


class OpenAIStub:
    def __init__(self, replies: list[StubReply] | None = None) -> None:
        self.replies: list[StubReply] = list(replies or [])
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def next_reply(self, request: dict[str, Any]) -> StubReply:
        with self._lock:
            self.requests.append(request)
            if len(self.replies) > 1:
                return self.replies.pop(0)
            return self.replies[0] if self.replies else error(500, "no reply scripted")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, body: dict[str, Any] | str) -> None:
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, {"object": "list", "data": [{"id": "stub-model"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                reply = stub.next_reply(request)
                if reply.hold:
                    stub._stopping.wait()
                    return
                self._send(reply.status, reply.body)

        return Handler

    def start(self) -> OpenAIStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running_openai_stub(replies: list[StubReply] | None = None) -> Iterator[OpenAIStub]:
    stub = OpenAIStub(replies).start()
    try:
        yield stub
    finally:
        stub.stop()
