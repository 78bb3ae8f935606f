"""What every loopback stub server shares: the threaded server, start/stop, request recording.

    class _Handler(JsonHandler):
        server: LoopbackServer[_State]

        def do_POST(self) -> None:
            self.server.state.record(self.command, self.path, dict(self.headers), body)
            self.send_json(200, {"ok": True})

    class MyStub(LoopbackStub[_State]):
        def __init__(self) -> None:
            super().__init__(_Handler, _State())

A stub binds 127.0.0.1 on a free port, serves from a daemon thread once started (`start()` or
`with`), and is stopped by `stop()` or leaving the `with` block.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

StateT = TypeVar("StateT")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass(kw_only=True)
class RecordingState:
    """Base for a stub's shared state: the requests seen, and the lock guarding all state."""

    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        """Append one request; call with `lock` held."""
        self.requests.append(RecordedRequest(method, path, headers, body))


class LoopbackServer(ThreadingHTTPServer, Generic[StateT]):
    daemon_threads = True
    state: StateT

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout) closes the socket; that is expected here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class JsonHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 handler, silent, with body reading and JSON answers."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def read_body(self) -> str:
        """The request body as text ("" when there is none)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def send_json(
        self,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        *,
        content_type: str = "application/json",
    ) -> None:
        """Answer `payload` as JSON (a str is sent as is, for deliberately broken bodies)."""
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class LoopbackStub(Generic[StateT]):
    """A server for `handler` on 127.0.0.1 (free port) holding `state`; a context manager."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], state: StateT) -> None:
        self._server: LoopbackServer[StateT] = LoopbackServer(("127.0.0.1", 0), handler)
        self._server.state = state
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def state(self) -> StateT:
        return self._server.state

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:<port>`, without a trailing slash."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
