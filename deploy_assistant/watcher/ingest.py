"""The watcher's ingest API (seed §12): pipelines report deployments; probes and scrapes.

    POST /deployments   DeploymentNotifyRequest, `Authorization: Bearer <token>` → 200 JSON;
                        a body with `verdict` marks the rollout as notified by its pipeline
    GET  /healthz       the process answers
    GET  /readyz        the database answers (503 when not)
    GET  /metrics       Prometheus text format

Errors are JSON `{"error": "...", "detail": ...}` with 401 (token), 404, 405, 411, 413 (body over
`max_body_bytes`, judged on Content-Length before reading or while reading a chunked body), 415
(not JSON), 422 (invalid body) and 503 (database). Built on the standard library's
`ThreadingHTTPServer`: one thread per connection, HTTP/1.1 keep-alive.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import ValidationError

from deploy_assistant.clock import Clock, SystemClock
from deploy_assistant.errors import StoreUnavailable
from deploy_assistant.models import DeploymentNotifyRequest
from deploy_assistant.settings import IngestSettings
from deploy_assistant.store.repos import RolloutRepo
from deploy_assistant.watcher import metrics as metrics_module
from deploy_assistant.watcher.metrics import WatcherMetrics
from deploy_assistant.watcher.rollouts import record_pipeline_report

logger = logging.getLogger(__name__)

_ROUTES = {"/deployments": "POST", "/healthz": "GET", "/readyz": "GET", "/metrics": "GET"}
_KUBE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
# Column sizes of the rollouts table (store migrations); longer values are refused, not cut.
_MAX_CHARS = {"cluster": 191, "project": 255, "commit": 64, "ref": 255, "author": 255}
_MAX_CHARS |= {"environment": 255, "team": 255, "slack_channel": 255}
_MAX_URL_CHARS = 4096
_MAX_MR_IID = 2**53


class RequestError(Exception):
    def __init__(self, status: HTTPStatus, error: str, detail: Any = None) -> None:
        super().__init__(error)
        self.status, self.error, self.detail = status, error, detail


def validated_request(body: bytes) -> DeploymentNotifyRequest:
    """The request a body holds; `RequestError` (422) saying what is wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(
            HTTPStatus.UNPROCESSABLE_ENTITY, "body is not valid JSON", str(exc)
        ) from exc
    try:
        request = DeploymentNotifyRequest.model_validate(data)
    except ValidationError as exc:
        detail = [
            {"loc": ".".join(str(part) for part in err["loc"]), "msg": err["msg"]}
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise RequestError(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid request", detail) from exc
    problems = _domain_problems(request)
    if problems:
        raise RequestError(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid request", problems)
    return request


def _domain_problems(request: DeploymentNotifyRequest) -> list[dict[str, str]]:
    problems = []
    for field in ("namespace", "deployment"):
        if not _KUBE_NAME.match(getattr(request, field)):
            problems.append({"loc": field, "msg": "not a Kubernetes object name"})
    values = request.model_dump() | request.git.model_dump()
    for field, value in values.items():
        if not isinstance(value, str):
            continue
        limit = _MAX_CHARS.get(field, _MAX_URL_CHARS)
        if len(value) > limit:
            problems.append({"loc": field, "msg": f"longer than {limit} characters"})
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            problems.append({"loc": field, "msg": "contains an unpaired surrogate"})
    mr_iid = request.git.mr_iid
    if mr_iid is not None and not 0 < mr_iid < _MAX_MR_IID:
        problems.append({"loc": "git.mr_iid", "msg": "out of range"})
    return problems


def token_accepted(header: str | None, tokens: list[str]) -> bool:
    """Whether `Authorization` carries one of `tokens`; constant-time, checks every token."""
    scheme, _, credentials = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    offered = credentials.strip().encode("utf-8", "surrogateescape")
    accepted = False
    for token in tokens:
        accepted |= hmac.compare_digest(offered, token.encode("utf-8"))
    return accepted and bool(offered)


class IngestServer:
    """The HTTP API on a background thread. `port=0` picks a free port; see `url`."""

    def __init__(
        self,
        repo: RolloutRepo,
        settings: IngestSettings,
        metrics: WatcherMetrics,
        host: str | None = None,
        port: int | None = None,
        *,
        clock: Clock | None = None,
        ready_check: Callable[[], object] | None = None,
    ) -> None:
        self.repo = repo
        self.metrics = metrics
        self.clock = clock or SystemClock()
        self.tokens = [t.get_secret_value() for t in settings.tokens if t.get_secret_value()]
        self.max_body_bytes = settings.max_body_bytes
        self.ready_check = ready_check or (lambda: repo.get_by_id(0))
        if not self.tokens:
            logger.warning("the ingest API has no tokens configured; every report is refused")
        metrics.track_rollouts_by_status(
            lambda: {status.value: count for status, count in repo.count_by_status().items()}
        )
        handler = type("BoundIngestHandler", (_IngestHandler,), {"api": self})
        bind_host = settings.host if host is None else host
        bind_port = settings.port if port is None else port
        self._httpd = _Server((bind_host, bind_port), handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="ingest-api", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops bursts of pipeline reports into SYN retries


class _IngestHandler(BaseHTTPRequestHandler):
    api: IngestServer
    protocol_version = "HTTP/1.1"
    # Send each response in one segment: headers and body written apart meet Nagle's algorithm
    # and the client's delayed ACK, costing 40 ms per request on keep-alive connections.
    disable_nagle_algorithm = True
    wbufsize = -1
    timeout = 10  # seconds a client may stall mid-request
    server_version = "deploy-assistant"
    sys_version = ""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        try:
            allowed = _ROUTES.get(path)
            if allowed is None:
                raise RequestError(HTTPStatus.NOT_FOUND, "no such endpoint", path)
            if method != allowed:
                raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, f"use {allowed}", allowed)
            self._route(path)
        except RequestError as exc:
            self._send_json(exc.status, {"error": exc.error, "detail": exc.detail})
        except StoreUnavailable as exc:
            self.api.metrics.errors_total.inc(component="ingest")
            logger.warning("ingest: %s", exc)
            self._send_json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "database unavailable"})
        except Exception:
            self.api.metrics.errors_total.inc(component="ingest")
            logger.exception("ingest: unexpected error on %s %s", method, path)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})

    def _route(self, path: str) -> None:
        if path == "/healthz":
            self._send_json(HTTPStatus.OK, {"ok": True})
        elif path == "/readyz":
            self.api.ready_check()
            self._send_json(HTTPStatus.OK, {"ok": True})
        elif path == "/metrics":
            body = self.api.metrics.render().encode("utf-8")
            self._send(HTTPStatus.OK, body, metrics_module.CONTENT_TYPE)
        else:
            self._post_deployment()

    def _post_deployment(self) -> None:
        if not token_accepted(self.headers.get("Authorization"), self.api.tokens):
            raise RequestError(HTTPStatus.UNAUTHORIZED, "missing or invalid bearer token")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise RequestError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send application/json")
        request = validated_request(self._body())
        now = self.api.clock.now()
        row = record_pipeline_report(self.api.repo, request, now)
        if request.verdict is not None:
            # The pipeline reached its own verdict, so it posts its own message.
            self.api.repo.record_pipeline_verdict(row.id, now)
        payload = {"ok": True, "rollout_id": row.id, "status": row.status.value}
        self._send_json(HTTPStatus.OK, payload | {"linked": not row.is_placeholder})

    def _body(self) -> bytes:
        limit = self.api.max_body_bytes
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._chunked_body(limit)
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
        if not length_header.strip().isdigit():
            raise RequestError(HTTPStatus.BAD_REQUEST, "Content-Length is not a number")
        length = int(length_header)
        if length > limit:
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large", limit)
        return self.rfile.read(length)

    def _chunked_body(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError as exc:
                raise RequestError(HTTPStatus.BAD_REQUEST, "malformed chunked body") from exc
            if size < 0:
                raise RequestError(HTTPStatus.BAD_REQUEST, "malformed chunked body")
            total += size
            if total > limit:
                raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large", limit)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _send_json(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode("utf-8")
        self._send(status, body, "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        if self.command != "GET" and status >= HTTPStatus.BAD_REQUEST:
            self.close_connection = True  # the body may be unread; do not parse it as a request
        self.api.metrics.ingest_requests_total.inc(code=str(int(status)))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_header("Allow", _ROUTES.get(self.path.split("?", 1)[0], "GET"))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors found by http.server itself, as JSON like ours."""
        self.close_connection = True
        status = HTTPStatus(code)
        self._send_json(status, {"error": message or status.phrase, "detail": explain})

    def log_message(self, format: str, *args: Any) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("ingest %s %s", self.address_string(), format % args)
