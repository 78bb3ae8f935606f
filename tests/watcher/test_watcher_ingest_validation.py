"""What the ingest API accepts: tokens, column sizes, and no body or header that makes a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy_assistant.store import Store
from deploy_assistant.watcher.ingest import IngestServer, token_accepted
from deploy_assistant.watcher.metrics import WatcherMetrics
from tests.store.backends import clear_rows
from tests.watcher.test_watcher_ingest import TOKENS, body_with, call, ingest_settings


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def fuzz_server(request: pytest.FixtureRequest) -> Iterator[IngestServer]:
    """One server for all examples (hypothesis reruns the test body, not the fixture)."""
    store: Store = request.getfixturevalue(f"{request.param}_store")
    clear_rows(store)
    api = IngestServer(store.rollouts, ingest_settings(65536), WatcherMetrics(), "127.0.0.1", 0)
    api.start()
    yield api
    api.stop()


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=12,
)
# st.text() never makes lone surrogates, but JSON can carry them ("\ud800").
_edge_strings = ["\ud800", "ok\udfff", "é☕\x00", "", "x" * 65, "x" * 192, "x" * 256, "y" * 1500]
_edge_values = st.one_of(
    st.sampled_from(_edge_strings),
    st.sampled_from(_edge_strings),
    st.text(),
    st.integers() | st.sampled_from([0, -1, 2**53, 2**63, 10**30]),
    _json_values,
)
_fields = ["cluster", "namespace", "deployment", "team", "slack_channel", "git"]
_git_fields = ["project", "commit", "pipeline_url", "mr_url", "mr_iid", "job_url", "ref"]
_git_fields += ["author", "environment"]


_paths = st.sampled_from(_fields + [f"git.{name}" for name in _git_fields])
_changed = st.tuples(_paths, _edge_values).map(body_with)
_bodies = st.one_of(
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    _changed,
    _changed,
    _changed,
)
_headers = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": st.sampled_from(["Bearer new-token", "Bearer x", "bearer new-token", ""]),
        "Content-Type": st.sampled_from(["application/json", "application/json; charset=utf-8"]),
        "X-Noise": st.text(alphabet="abc ;=", max_size=20),
    },
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=_bodies,
    headers=_headers,
    path=st.sampled_from(["/deployments", "/deployments?x=1", "/healthz", "/x"]),
)
def test_no_body_or_header_combination_is_a_server_error(
    fuzz_server: IngestServer, body: bytes, headers: dict[str, str], path: str
) -> None:
    headers = {"Authorization": "Bearer new-token", "Content-Type": "application/json"} | headers
    status, payload, _ = call(fuzz_server, "POST", path, body, headers)
    assert status < 500, payload
    if status >= 400:
        assert set(payload) == {"error", "detail"}


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("cluster", 191),
        ("git.project", 255),
        ("git.commit", 64),
        ("git.ref", 255),
        ("git.author", 255),
        ("git.environment", 255),
        ("team", 253),
        ("slack_channel", 253),
        ("git.pipeline_url", 4096),
        ("git.mr_url", 4096),
        ("git.job_url", 4096),
    ],
)
def test_values_up_to_their_column_size_are_stored_and_longer_ones_refused(
    fuzz_server: IngestServer, field: str, limit: int
) -> None:
    headers = {"Authorization": "Bearer new-token", "Content-Type": "application/json"}
    fitting = body_with((field, "é" * limit))
    assert call(fuzz_server, "POST", "/deployments", fitting, headers)[0] == 200
    status, payload, _ = call(
        fuzz_server, "POST", "/deployments", body_with((field, "é" * (limit + 1))), headers
    )
    assert status == 422, payload


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("Bearer new-token", True),
        ("bearer old-token", True),
        ("BEARER  new-token ", True),
        ("Bearer", False),
        ("Bearer ", False),
        ("Token new-token", False),
        ("new-token", False),
        (None, False),
    ],
)
def test_token_accepted(header: str | None, accepted: bool) -> None:
    assert token_accepted(header, TOKENS) is accepted
