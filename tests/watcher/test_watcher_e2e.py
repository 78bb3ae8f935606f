"""The whole watcher against the simulator over HTTP, the Slack and GitLab stubs and a real store.

Every component reads the simulator's clock (speed 100), so a minute of rollout takes 0.6 s.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from deploy_assistant.models import FailureRule, RolloutStatus
from deploy_assistant.settings import (
    GitLabSettings,
    IngestSettings,
    KubeSettings,
    Settings,
    SlackSettings,
    StoreSettings,
    WatcherSettings,
)
from deploy_assistant.sim import Scenario, Simulator
from deploy_assistant.store import Store, open_store
from deploy_assistant.store.rows import RolloutRow
from deploy_assistant.watcher.service import WatcherService
from tests.store.backends import clear_rows
from tests.stubs.gitlab_stub import GitLabStub
from tests.stubs.slack_stub import SlackStub

SPEED = 100.0
TOKEN = "ingest-token"
GOOD = "registry.example.com/shop/app:1"
CRASHING = "registry.example.com/shop/app:crash"
UPGRADE = "registry.example.com/shop/app:2"
MR_PROJECT = "shop/web"


def manifest(namespace: str, name: str, image: str, replicas: int = 2) -> dict[str, Any]:
    container = {
        "name": "app",
        "image": image,
        "resources": {"requests": {"cpu": "100m"}},
        # Without a probe a pod that crashes after two seconds counts as ready before it does.
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "initialDelaySeconds": 3},
    }
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}},
    }


def scenario(deployments: list[tuple[str, str]]) -> Scenario:
    """Each (namespace, name) has run GOOD for five minutes; the test rolls them with `roll`."""
    applies = [
        {"at": -300, "manifest": manifest(namespace, name, GOOD)} for namespace, name in deployments
    ]
    return Scenario.model_validate(
        {
            "name": "watcher-e2e",
            "description": "rollouts the watcher sees without a pipeline",
            "cluster": {"nodes": [{"name": "node", "count": 4, "cpu": "32", "memory": "64Gi"}]},
            "applies": applies,
            "images": {
                CRASHING: {"run": {"crash_after": 2, "exit_code": 1, "exit_logs": ["boom"]}},
                UPGRADE: {"run": {"ready_after": 5}},
            },
            "expect": {"verdict": "FAILED"},
            "targets": [list(key) for key in deployments],
        }
    )


def roll(sim: Simulator, rollouts: dict[tuple[str, str], str]) -> None:
    """`kubectl apply` of a new image, by hand: no pipeline involved."""
    for (namespace, name), image in rollouts.items():
        sim.apply(namespace, manifest(namespace, name, image))


def watcher_settings(
    sim: Simulator,
    slack: SlackStub,
    gitlab: GitLabStub,
    store_url: str,
    *,
    grace_seconds: float = 120.0,
) -> Settings:
    return Settings(
        kube=KubeSettings(api_url=sim.url, watch_timeout_seconds=3600),
        slack=SlackSettings(
            token=SecretStr(slack.token), base_url=slack.url, channel="C0DEPLOY", max_retries=0
        ),
        gitlab=GitLabSettings(url=gitlab.url, token=SecretStr(gitlab.token), max_retries=0),
        store=StoreSettings(url=store_url),
        ingest=IngestSettings(host="127.0.0.1", port=0, tokens=[SecretStr(TOKEN)]),
        cluster="test",
        watcher=WatcherSettings(pipeline_grace_seconds=grace_seconds, loop_interval_seconds=2.0),
    )


@contextmanager
def running(settings: Settings, sim: Simulator, worker_id: str) -> Iterator[WatcherService]:
    service = WatcherService(settings, clock=sim.clock, worker_id=worker_id)
    service.start()
    loop = service.watch_loop
    try:
        eventually(lambda: loop is None or loop.ready)
        yield service
    finally:
        service.stop()


def eventually(check: Callable[[], bool], timeout_seconds: float = 15.0) -> None:
    """Wait (real time) until `check()` holds; fail the test if it never does."""
    deadline = time.monotonic() + timeout_seconds
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


def rollout_of(store: Store, namespace: str, name: str) -> RolloutRow | None:
    return store.rollouts.get_latest_for_deployment("test", namespace, name)


def status_of(store: Store, namespace: str, name: str) -> RolloutStatus | None:
    row = rollout_of(store, namespace, name)
    return row.status if row is not None else None


def slack_parents(slack: SlackStub) -> list[dict[str, Any]]:
    """Top-level Slack messages (thread replies excluded)."""
    return [m for m in slack.posted_messages if not m.get("thread_ts")]


def report(url: str, namespace: str, name: str, *, verdict: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cluster": "test",
        "namespace": namespace,
        "deployment": name,
        "git": {
            "project": MR_PROJECT,
            "commit": "c0ffee",
            "mr_iid": 7,
            "mr_url": f"{url}/{MR_PROJECT}/-/merge_requests/7",
        },
    }
    if verdict is not None:
        body["verdict"] = verdict
    return body


def post_report(ingest_url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{ingest_url}/deployments",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


@pytest.fixture
def stubs() -> Iterator[tuple[SlackStub, GitLabStub]]:
    with SlackStub() as slack, GitLabStub() as gitlab:
        gitlab.add_project(MR_PROJECT)
        gitlab.add_merge_request(MR_PROJECT, 7)
        yield slack, gitlab


def sqlite_url(tmp_path: Path) -> str:
    """A store with its schema already made (migrating takes longer than some rollouts)."""
    url = f"sqlite:///{tmp_path / 'watcher.db'}"
    open_store(url).close()
    return url


def test_concurrent_rollouts_in_several_namespaces(
    tmp_path: Path, stubs: tuple[SlackStub, GitLabStub]
) -> None:
    slack, gitlab = stubs
    rollouts = {("shop", "web"): CRASHING, ("app", "api"): UPGRADE, ("pay", "worker"): UPGRADE}
    with Simulator(scenario([*rollouts, ("pay", "steady")]), speed=SPEED) as sim:
        settings = watcher_settings(sim, slack, gitlab, sqlite_url(tmp_path))
        with running(settings, sim, "w1") as service:
            roll(sim, rollouts)
            store = service.store
            eventually(lambda: len(slack_parents(slack)) == 1)
            eventually(lambda: status_of(store, "pay", "worker") is RolloutStatus.SUCCEEDED)
            eventually(lambda: status_of(store, "app", "api") is RolloutStatus.SUCCEEDED)
            web = rollout_of(store, "shop", "web")
            assert web is not None
            assert web.status is RolloutStatus.FAILED
            assert web.rule is FailureRule.CRASH_LOOP
            assert web.analysis_done
            assert rollout_of(store, "pay", "steady") is None  # settled: not a rollout
            assert "web" in slack_parents(slack)[0]["text"]
            assert gitlab.all_notes == []  # no Git context, no merge request note


def test_a_silent_pipeline_is_covered_after_the_grace_period(
    tmp_path: Path, stubs: tuple[SlackStub, GitLabStub]
) -> None:
    slack, gitlab = stubs
    with Simulator(scenario([("shop", "web")]), speed=SPEED) as sim:
        settings = watcher_settings(sim, slack, gitlab, sqlite_url(tmp_path), grace_seconds=300)
        with running(settings, sim, "w1") as service:
            assert service.ingest_url is not None
            answer = post_report(service.ingest_url, report(gitlab.url, "shop", "web"))
            assert answer["linked"] is False  # reported before the apply: a placeholder
            roll(sim, {("shop", "web"): CRASHING})
            store = service.store
            eventually(
                lambda: (r := rollout_of(store, "shop", "web")) is not None and r.analysis_done
            )
            row = rollout_of(store, "shop", "web")
            assert row is not None
            assert row.git is not None  # linked to the pipeline's report
            assert row.pipeline_owned
            assert slack_parents(slack) == []  # the pipeline may still report
            eventually(lambda: len(gitlab.notes(MR_PROJECT, 7)) == 1)
            eventually(lambda: len(slack_parents(slack)) == 1)
            assert "c0ffee" in json.dumps(slack_parents(slack)[0])


def test_a_pipeline_that_reports_its_verdict_keeps_the_watcher_quiet(
    tmp_path: Path, stubs: tuple[SlackStub, GitLabStub]
) -> None:
    slack, gitlab = stubs
    with Simulator(scenario([("shop", "web")]), speed=SPEED) as sim:
        settings = watcher_settings(sim, slack, gitlab, sqlite_url(tmp_path), grace_seconds=200)
        with running(settings, sim, "w1") as service:
            store, url = service.store, service.ingest_url
            assert url is not None
            roll(sim, {("shop", "web"): CRASHING})
            eventually(lambda: rollout_of(store, "shop", "web") is not None)
            answer = post_report(url, report(gitlab.url, "shop", "web"))
            assert answer["linked"] is True  # reported after the watcher saw the rollout
            eventually(lambda: status_of(store, "shop", "web") is RolloutStatus.FAILED)
            post_report(url, report(gitlab.url, "shop", "web", verdict="FAILED"))
            eventually(
                lambda: (r := rollout_of(store, "shop", "web")) is not None and r.analysis_done
            )
            sim.run_until(sim.clock.monotonic() + 400)  # twice the grace period
            assert slack_parents(slack) == []
            assert gitlab.all_notes == []


def test_a_restart_mid_flight_loses_nothing_and_posts_once(
    tmp_path: Path, stubs: tuple[SlackStub, GitLabStub]
) -> None:
    slack, gitlab = stubs
    with Simulator(scenario([("shop", "web")]), speed=SPEED) as sim:
        settings = watcher_settings(sim, slack, gitlab, sqlite_url(tmp_path))
        with running(settings, sim, "before") as service:
            roll(sim, {("shop", "web"): CRASHING})
            eventually(lambda: status_of(service.store, "shop", "web") is RolloutStatus.PROGRESSING)
        sim.run_until(sim.clock.monotonic() + 60)  # the rollout fails while nobody watches
        with running(settings, sim, "after") as service:
            eventually(lambda: len(slack_parents(slack)) == 1)
            eventually(
                lambda: (r := rollout_of(service.store, "shop", "web")) is not None and r.notified
            )
        with running(settings, sim, "again") as service:
            sim.run_until(sim.clock.monotonic() + 60)
            row = rollout_of(service.store, "shop", "web")
            assert row is not None
            assert row.status is RolloutStatus.FAILED
            rows = service.store.rollouts.count_by_status()
        assert rows == {RolloutStatus.FAILED: 1}
        assert len(slack_parents(slack)) == 1


def test_cut_watches_and_compaction_keep_the_verdicts_right(
    tmp_path: Path, stubs: tuple[SlackStub, GitLabStub]
) -> None:
    slack, gitlab = stubs
    rollouts = {("shop", "web"): CRASHING, ("app", "api"): UPGRADE}
    with Simulator(scenario(list(rollouts)), speed=SPEED) as sim:
        settings = watcher_settings(sim, slack, gitlab, sqlite_url(tmp_path))
        with running(settings, sim, "w1") as service:
            roll(sim, rollouts)
            for _ in range(4):
                sim.run_until(sim.clock.monotonic() + 10)
                sim.server.cut_watches()
                sim.run_until(sim.clock.monotonic() + 5)
                sim.state.compact()
            store = service.store
            eventually(lambda: status_of(store, "app", "api") is RolloutStatus.SUCCEEDED)
            eventually(lambda: status_of(store, "shop", "web") is RolloutStatus.FAILED)
            eventually(lambda: len(slack_parents(slack)) == 1)


def run_two_watchers(store_url: str, stubs: tuple[SlackStub, GitLabStub]) -> Store:
    slack, gitlab = stubs
    rollouts = {("shop", "web"): CRASHING, ("shop", "cart"): CRASHING}
    with Simulator(scenario(list(rollouts)), speed=SPEED) as sim:
        settings = watcher_settings(sim, slack, gitlab, store_url)
        with running(settings, sim, "one"), running(settings, sim, "two"):
            roll(sim, rollouts)
            eventually(lambda: len(slack_parents(slack)) >= 2)
            sim.run_until(sim.clock.monotonic() + 60)
    return open_store(store_url)


def test_two_watchers_on_one_database_analyze_and_post_once(
    tmp_path: Path, stubs: tuple[SlackStub, GitLabStub]
) -> None:
    store = run_two_watchers(sqlite_url(tmp_path), stubs)
    assert_once_each(store, stubs[0])
    store.close()


@pytest.mark.mysql
def test_two_watchers_on_one_mysql_database_analyze_and_post_once(
    mysql_store: Store, mysql_store_url: str, stubs: tuple[SlackStub, GitLabStub]
) -> None:
    clear_rows(mysql_store)
    store = run_two_watchers(mysql_store_url, stubs)
    assert_once_each(store, stubs[0])
    store.close()


def assert_once_each(store: Store, slack: SlackStub) -> None:
    assert store.rollouts.count_by_status() == {RolloutStatus.FAILED: 2}
    for name in ("web", "cart"):
        row = rollout_of(store, "shop", name)
        assert row is not None
        assert row.notified
        analysis = store.analyses.get_for_rollout(row.id)
        assert analysis is not None
        assert analysis.id == row.analysis_id
    texts = sorted(m["text"] for m in slack_parents(slack))
    assert len(texts) == 2
    assert "cart" in texts[0]
    assert "web" in texts[1]
