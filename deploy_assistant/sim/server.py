"""A loopback Kubernetes API server over a `ClusterState`, good enough for the official client.

Serves /api/v1, /apis/apps/v1 and /apis/events.k8s.io/v1: lists (namespaced and all-namespaces,
label and field selectors), get, create, replace, patch, delete, the /status subresource, pod logs
and watches (chunked HTTP/1.1, resourceVersion semantics, timeoutSeconds, bookmarks, 410 Expired).
Errors are Kubernetes Status bodies. This module is the HTTP side; routing is in `routes`, bodies
and checks in `views`, watches in `watch` and logs in `logs`.

`watch_time_scale`: the server divides a client's `timeoutSeconds` by it, so with a virtual clock at
speed 100 a 300 s watch timeout ends after 3 real seconds. `bookmark_interval_seconds` is real time.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from deploy_assistant.clock import SystemClock
from deploy_assistant.sim.logs import follow_log, read_log
from deploy_assistant.sim.objects import (
    CLUSTER_SCOPED,
    KINDS,
    ApiError,
    Obj,
    api_group,
    micro_timestamp_of,
    not_found,
)
from deploy_assistant.sim.routes import (
    GO_FALSE,
    GO_TRUE,
    ROUTE,
    Request,
    go_bool,
    int_param,
    route_of,
)
from deploy_assistant.sim.state import ClusterState, HistoryEntry
from deploy_assistant.sim.verbs import answer
from deploy_assistant.sim.views import event_v1, status_body, validate_workload
from deploy_assistant.sim.watch import (
    DEFAULT_WATCH_TIMEOUT_SECONDS,
    WATCH_POLL_SECONDS,
    ChunkedWriter,
    Watcher,
)

# Names importable from here before routing, views and watches moved out stay importable.
__all__ = [
    "CLUSTER_SCOPED",
    "DEFAULT_WATCH_TIMEOUT_SECONDS",
    "FAILURE_REASONS",
    "GO_FALSE",
    "GO_TRUE",
    "KINDS",
    "ROUTE",
    "WATCH_POLL_SECONDS",
    "ApiError",
    "ApiServer",
    "ClusterState",
    "HistoryEntry",
    "Obj",
    "Request",
    "api_group",
    "event_v1",
    "go_bool",
    "int_param",
    "micro_timestamp_of",
    "not_found",
    "route_of",
    "status_body",
    "validate_workload",
]

log = logging.getLogger(__name__)

FAILURE_REASONS = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}


class _HttpServer(ThreadingHTTPServer):
    """Tracks open connections so that stopping also ends idle keep-alive connections."""

    daemon_threads = True
    api: ApiServer

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                log.debug("sim api: connection already closed")


class ApiServer:
    """Serves `state` on http://host:port (port 0 picks a free one) from a daemon thread."""

    def __init__(
        self,
        state: ClusterState,
        host: str = "127.0.0.1",
        port: int = 0,
        watch_time_scale: float = 1.0,
        bookmark_interval_seconds: float = 1.0,
    ) -> None:
        if watch_time_scale <= 0:
            raise ValueError("watch_time_scale must be positive")
        self.state = state
        self.watch_time_scale = watch_time_scale
        self.bookmark_interval_seconds = bookmark_interval_seconds
        self.real_clock = SystemClock()
        self.closing = False
        self._httpd = _HttpServer((host, port))
        self._httpd.api = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ApiServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; open watches and log follows end at once."""
        with self.state.cond:
            self.closing = True
            self.state.cond.notify_all()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()
        self._httpd.close_connections()

    def cut_watches(self) -> None:
        """Drop every open watch connection abruptly (no terminating chunk)."""
        self.state.cut_watches()

    def fail_requests(self, n: int, status: int = 503) -> None:
        """The next `n` requests fail with `status` and a Status body."""
        self.state.fail_requests(n, status)

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # otherwise each keep-alive request waits ~40 ms (Nagle)

    @property
    def api(self) -> ApiServer:
        return cast(_HttpServer, self.server).api

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sim api: " + format, *args)  # noqa: G003 - format comes from http.server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # -- plumbing -------------------------------------------------------------------------------

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        state = self.api.state
        with state.cond:
            state.requests.append((method, url.path, query))
            failing = state.failures_left > 0
            if failing:
                state.failures_left -= 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            if failing:
                code = state.failure_status
                reason = FAILURE_REASONS.get(code, "InternalError")
                raise ApiError(code, reason, "the server is currently unable to handle the request")
            self._dispatch(route_of(method, url.path, query), body)
        except ApiError as error:
            self._send_json(error.status, status_body(error))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a simulator bug answers 500 instead of a dead socket
            log.exception("sim api: %s %s failed", method, url.path)
            self.close_connection = True
            self._send_json(500, status_body(ApiError(500, "InternalError", "simulator error")))

    def _send(self, code: int, content_type: str, data: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_json(self, code: int, payload: Obj) -> None:
        self._send(code, "application/json", json.dumps(payload).encode())

    def _start_stream(self, content_type: str) -> ChunkedWriter:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        return ChunkedWriter(self.wfile, self.connection)

    # -- routes ---------------------------------------------------------------------------------

    def _dispatch(self, req: Request, body: bytes) -> None:
        if req.method == "GET" and req.sub == "log" and req.plural == "pods" and req.name:
            self._log(req)
        elif req.method == "GET" and not req.name and go_bool(req.query.get("watch"), "watch"):
            self._watch(req)
        else:
            content_type = self.headers.get("Content-Type") or ""
            self._send_json(*answer(self.api.state, req, body, content_type))

    # -- streams --------------------------------------------------------------------------------

    def _log(self, req: Request) -> None:
        read = read_log(self.api.state, req)
        if not read.follow:
            self._send(200, "text/plain; charset=utf-8", read.text.encode())
            return
        out = self._start_stream("text/plain; charset=utf-8")
        out.chunk(read.text.encode())
        follow_log(self.api.state, read, out, lambda: self.api.closing)

    def _watch(self, req: Request) -> None:
        self.api.state.authorize("watch", req.plural, req.namespace)
        watcher = Watcher(self.api, req)
        out = self._start_stream("application/json")
        try:
            watcher.stream(out)
        finally:
            self.close_connection = self.close_connection or out.dropped
