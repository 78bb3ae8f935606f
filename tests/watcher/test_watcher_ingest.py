"""The ingest API over real HTTP on loopback, backed by a real store."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from deploy_assistant.errors import StoreUnavailable
from deploy_assistant.settings import IngestSettings
from deploy_assistant.store import Store
from deploy_assistant.watcher.ingest import IngestServer
from deploy_assistant.watcher.metrics import WatcherMetrics
from deploy_assistant.watcher.rollouts import record_new_rollout
from tests.store.backends import StepClock

TOKENS = ["old-token", "new-token"]
BODY = {
    "cluster": "prod",
    "namespace": "shop",
    "deployment": "web",
    "git": {"project": "shop/web", "commit": "0a1b2c3d", "mr_iid": 5},
    "team": "payments",
    "slack_channel": "#payments",
}


def ingest_settings(max_body_bytes: int = 4096) -> IngestSettings:
    return IngestSettings(tokens=[SecretStr(t) for t in TOKENS], max_body_bytes=max_body_bytes)


@pytest.fixture
def server(store: Store) -> Iterator[IngestServer]:
    api = IngestServer(
        store.rollouts, ingest_settings(), WatcherMetrics(), "127.0.0.1", 0, clock=StepClock()
    )
    api.start()
    yield api
    api.stop()


Response = tuple[int, Any, Mapping[str, str]]


def call(
    api: IngestServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    parts = urlsplit(api.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        chunked = "chunked" in dict(headers or {}).get("Transfer-Encoding", "")
        conn.request(method, path, body=body, headers=dict(headers or {}), encode_chunked=chunked)
        response = conn.getresponse()
        raw = response.read()
        content_type = response.getheader("Content-Type") or ""
        payload = json.loads(raw) if content_type == "application/json" else raw.decode()
        return response.status, payload, dict(response.getheaders())
    finally:
        conn.close()


def post(api: IngestServer, body: Any = BODY, token: str | None = "new-token") -> Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return call(api, "POST", "/deployments", json.dumps(body).encode(), headers)


def body_with(change: tuple[str, Any]) -> bytes:
    """A valid body with one field (`git.x` for Git ones) set to an edge value."""
    path, value = change
    body = json.loads(json.dumps(BODY))
    if path.startswith("git."):
        body["git"][path[4:]] = value
    else:
        body[path] = value
    return json.dumps(body).encode()


def test_a_report_creates_a_pending_rollout(server: IngestServer, store: Store) -> None:
    status, payload, _ = post(server)
    assert status == 200
    assert payload == {
        "ok": True,
        "rollout_id": payload["rollout_id"],
        "status": "PENDING",
        "linked": False,
    }
    row = store.rollouts.get_by_id(payload["rollout_id"])
    assert row is not None
    assert row.git is not None
    assert (row.team, row.slack_channel, row.git.mr_iid) == ("payments", "#payments", 5)


@pytest.mark.parametrize("token", ["old-token", "new-token"])
def test_every_configured_token_is_accepted_during_rotation(
    server: IngestServer, token: str
) -> None:
    assert post(server, token=token)[0] == 200


@pytest.mark.parametrize("token", [None, "", "wrong", "new-token-but-longer", "old-tokenX"])
def test_a_missing_or_wrong_token_is_refused(server: IngestServer, token: str | None) -> None:
    status, payload, _ = post(server, token=token)
    assert status == 401
    assert payload["error"] == "missing or invalid bearer token"


def test_a_token_with_another_scheme_is_refused(server: IngestServer) -> None:
    headers = {"Authorization": "Basic new-token", "Content-Type": "application/json"}
    assert call(server, "POST", "/deployments", json.dumps(BODY).encode(), headers)[0] == 401


def test_an_invalid_body_says_which_field(server: IngestServer) -> None:
    body = {k: v for k, v in BODY.items() if k != "git"} | {"namespace": "Not A Name"}
    status, payload, _ = post(server, body)
    assert status == 422
    assert payload["error"] == "invalid request"
    assert {"loc": "git", "msg": "Field required"} in payload["detail"]


def test_a_bad_kubernetes_name_is_refused(server: IngestServer) -> None:
    status, payload, _ = post(server, BODY | {"namespace": "Shop_1"})
    assert status == 422
    assert payload["detail"] == [{"loc": "namespace", "msg": "not a Kubernetes object name"}]


def test_malformed_json_is_refused(server: IngestServer) -> None:
    headers = {"Authorization": "Bearer new-token", "Content-Type": "application/json"}
    status, payload, _ = call(server, "POST", "/deployments", b"{not json", headers)
    assert (status, payload["error"]) == (422, "body is not valid JSON")


def test_a_non_json_content_type_is_refused(server: IngestServer) -> None:
    headers = {"Authorization": "Bearer new-token", "Content-Type": "text/plain"}
    assert call(server, "POST", "/deployments", json.dumps(BODY).encode(), headers)[0] == 415


def test_an_oversized_body_is_refused_before_it_is_read(server: IngestServer) -> None:
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=10) as sock:
        sock.sendall(
            b"POST /deployments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer new-token\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
        )
        received = b""
        while chunk := sock.recv(4096):  # the server answers and closes without reading on
            received += chunk
    reply = received.decode()
    assert reply.startswith("HTTP/1.1 413")
    assert reply.endswith('{"error": "body too large", "detail": 4096}')


def test_an_oversized_chunked_body_is_refused(server: IngestServer) -> None:
    headers = {
        "Authorization": "Bearer new-token",
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
    }
    chunks = iter([b"x" * 3000, b"y" * 3000])
    status, payload, _ = call(server, "POST", "/deployments", chunks, headers)  # type: ignore[arg-type]
    assert (status, payload["error"]) == (413, "body too large")


def test_a_chunked_body_within_the_limit_is_accepted(server: IngestServer) -> None:
    headers = {
        "Authorization": "Bearer new-token",
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
    }
    raw = json.dumps(BODY).encode()
    chunks = iter([raw[:10], raw[10:]])
    assert call(server, "POST", "/deployments", chunks, headers)[0] == 200  # type: ignore[arg-type]


def test_unknown_paths_and_wrong_methods(server: IngestServer) -> None:
    status, payload, _ = call(server, "GET", "/nope")
    assert (status, payload["error"]) == (404, "no such endpoint")
    status, payload, headers = call(server, "GET", "/deployments")
    assert (status, payload["error"], headers["Allow"]) == (405, "use POST", "POST")
    assert call(server, "DELETE", "/healthz")[0] == 405


def test_a_retried_report_is_one_record(server: IngestServer, store: Store) -> None:
    first, second = post(server), post(server)
    assert first[0] == second[0] == 200
    assert first[1] == second[1]
    assert sum(store.rollouts.count_by_status().values()) == 1


def test_concurrent_reports_of_one_rollout_make_one_record(
    server: IngestServer, store: Store
) -> None:
    barrier = threading.Barrier(12)
    results: list[Response] = []

    def send() -> None:
        barrier.wait()
        results.append(post(server))

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _, _ in results] == [200] * 12
    assert len({payload["rollout_id"] for _, payload, _ in results}) == 1
    assert sum(store.rollouts.count_by_status().values()) == 1


def test_a_report_after_the_watcher_saw_the_rollout_is_linked(
    server: IngestServer, store: Store
) -> None:
    dep = {
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "annotations": {"deployment.kubernetes.io/revision": "7"},
        }
    }
    seen = record_new_rollout(store.rollouts, "prod", dep, StepClock().now())
    status, payload, _ = post(server)
    assert seen is not None
    assert (status, payload["rollout_id"], payload["linked"]) == (200, seen.id, True)


def test_probes_and_metrics(server: IngestServer) -> None:
    post(server)
    assert call(server, "GET", "/healthz")[:2] == (200, {"ok": True})
    assert call(server, "GET", "/readyz")[:2] == (200, {"ok": True})
    status, text, headers = call(server, "GET", "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'deploy_assistant_rollouts{status="PENDING"} 1' in text
    assert 'deploy_assistant_ingest_requests_total{code="200"} 3' in text


def test_readyz_is_503_when_the_database_is_away(store: Store) -> None:
    def unreachable() -> None:
        raise StoreUnavailable("The database failed: connection refused.")

    api = IngestServer(
        store.rollouts, ingest_settings(), WatcherMetrics(), "127.0.0.1", 0, ready_check=unreachable
    )
    api.start()
    try:
        assert call(api, "GET", "/readyz")[:2] == (503, {"error": "database unavailable"})
        assert call(api, "GET", "/healthz")[0] == 200
    finally:
        api.stop()


def test_with_no_tokens_configured_every_report_is_refused(store: Store) -> None:
    settings = IngestSettings(tokens=[SecretStr("")])
    api = IngestServer(store.rollouts, settings, WatcherMetrics(), "127.0.0.1", 0)
    api.start()
    try:
        assert post(api, token="")[0] == 401
        assert post(api, token="anything")[0] == 401
    finally:
        api.stop()
