"""A loopback stand-in for the watcher's ingest API (`POST /deployments`), for `da-ci record`.

    with IngestStub(statuses=[503, 200]) as ingest:
        ...  # DA_INGEST__URL=ingest.url
        assert ingest.requests[-1].body["deployment"] == "checkout"

Answers each request with the next status of `statuses` (the last one repeats), records the
method, path, headers and JSON body of every request.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _State:
    statuses: list[int]
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        with state.lock:
            state.requests.append(
                RecordedRequest(
                    "POST", self.path, dict(self.headers.items()), json.loads(raw or "null")
                )
            )
            status = state.statuses.pop(0) if len(state.statuses) > 1 else state.statuses[0]
        payload = {"ok": True} if status < 300 else {"detail": f"stub answered {status}"}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


class IngestStub:
    """The stub server; use as a context manager. `url` is the ingest base URL."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = _State(statuses=list(statuses or [200]))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self._server.state.requests)

    def __enter__(self) -> IngestStub:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
