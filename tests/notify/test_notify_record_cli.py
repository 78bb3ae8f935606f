"""`da-ci record`: prints the Git context and posts it to the ingest API."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

import deploy_assistant.cli.record as record_module
from deploy_assistant.cli.base import main_group
from deploy_assistant.errors import ConfigError, NotifyUnavailable
from deploy_assistant.models import DeploymentNotifyRequest, GitContext
from deploy_assistant.settings import CiEnvironment
from tests.stubs.ingest_stub import IngestStub

CI = {
    "CI_PROJECT_PATH": "shop/app",
    "CI_PROJECT_URL": "https://gitlab.example.com/shop/app",
    "CI_COMMIT_SHA": "a" * 40,
    "CI_COMMIT_REF_NAME": "main",
    "CI_PIPELINE_URL": "https://gitlab.example.com/shop/app/-/pipelines/1",
    "CI_JOB_URL": "https://gitlab.example.com/shop/app/-/jobs/2",
}


class RecordingClock:
    """A clock whose sleep only records, so backoff costs no time."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return sum(self.sleeps)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def to_real_seconds(self, seconds: float) -> float:
        return seconds


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    flat = ["DA_INGEST_URL", "DA_INGEST_TOKEN"]
    for name in [
        *CiEnvironment.model_fields,
        "DA_INGEST__URL",
        "DA_INGEST__TOKEN",
        "DA_CLUSTER",
        *flat,
    ]:
        monkeypatch.delenv(name, raising=False)
    for name, value in CI.items():
        monkeypatch.setenv(name, value)


def _run(*args: str) -> tuple[object, str, str]:
    result = CliRunner().invoke(main_group, ["record", *args], standalone_mode=False)
    return result.return_value, result.stdout, result.stderr


def test_record_prints_the_git_context_without_an_ingest_url() -> None:
    code, out, _ = _run("-n", "shop", "checkout")
    assert code == 0
    git = GitContext.model_validate_json(out)
    assert git.commit == "a" * 40
    assert git.pipeline_url == CI["CI_PIPELINE_URL"]


def test_record_posts_one_request_per_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    with IngestStub() as ingest:
        monkeypatch.setenv("DA_INGEST__URL", ingest.url + "/")
        monkeypatch.setenv("DA_INGEST__TOKEN", "s3cret")
        code, _, err = _run("--cluster", "prod-eu", "-n", "shop", "--team", "pay", "web", "api")
        requests = ingest.requests
    assert code == 0
    assert "Recorded 2 deployment(s)" in err
    assert [r.path for r in requests] == ["/deployments", "/deployments"]
    for request in requests:
        assert request.headers["Authorization"] == "Bearer s3cret"
        assert request.headers["Content-Type"] == "application/json"
    bodies = [DeploymentNotifyRequest.model_validate(r.body) for r in requests]
    assert [b.deployment for b in bodies] == ["web", "api"]
    assert {(b.cluster, b.namespace, b.team) for b in bodies} == {("prod-eu", "shop", "pay")}
    assert bodies[0].git.project == "shop/app"


def test_record_accepts_the_flat_ingest_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    with IngestStub() as ingest:
        monkeypatch.setenv("DA_INGEST_URL", ingest.url)
        monkeypatch.setenv("DA_INGEST_TOKEN", "flat")
        code, _, _ = _run("-n", "shop", "web")
        (request,) = ingest.requests
    assert code == 0
    assert request.headers["Authorization"] == "Bearer flat"


@pytest.mark.parametrize(
    ("status", "sentence"),
    [(401, r"refused the token \(HTTP 401\); set DA_INGEST__TOKEN"), (422, r"HTTP 422")],
)
def test_record_explains_client_errors_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch, status: int, sentence: str
) -> None:
    with IngestStub(statuses=[status]) as ingest:
        monkeypatch.setenv("DA_INGEST__URL", ingest.url)
        code, _, err = _run("-n", "shop", "web")
        attempts = len(ingest.requests)
    assert code == 2
    assert attempts == 1
    assert err.startswith("error: ")
    assert len(err.strip().splitlines()) == 1
    assert re.search(sentence, err)


def _body() -> DeploymentNotifyRequest:
    git = GitContext(project="shop/app", commit="a" * 40)
    return DeploymentNotifyRequest(cluster="c", namespace="shop", deployment="web", git=git)


def test_server_errors_are_retried_with_backoff() -> None:
    clock = RecordingClock()
    with IngestStub(statuses=[503, 502, 200]) as ingest:
        record_module.post_deployment_requests(ingest.url, "t", [_body()], clock=clock)
        assert len(ingest.requests) == 3
    assert clock.sleeps == [0.5, 1.0]


def test_unreachable_ingest_gives_up_after_the_attempts() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clock = RecordingClock()
    with pytest.raises(NotifyUnavailable, match="failed 4 times"):
        record_module.post_deployment_requests(
            f"http://127.0.0.1:{port}", None, [_body()], clock=clock
        )
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_non_http_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="http"):
        record_module.post_deployment_requests(
            "file:///etc", None, [_body()], clock=RecordingClock()
        )


def test_git_context_json_is_valid_json() -> None:
    _, out, _ = _run("-n", "shop", "web")
    assert json.loads(out)["project"] == "shop/app"
