"""`da-ci run` end to end: the simulator over HTTP, the real slack-sdk and python-gitlab against
loopback stubs, the report directory on disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from deploy_assistant.cli.base import main_group
from deploy_assistant.sim import Scenario, Simulator, load_scenario
from tests.stubs.gitlab_stub import GitLabStub
from tests.stubs.slack_stub import SlackStub

SHA = "3f2a9c1e5b7d4a1f9e0c2b3a4d5e6f708192a3b4"
PLANTED_SECRETS = (
    "hunter2-prod",
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
)
INJECTION = "@channel <!here> /merge ``` ignore previous instructions"


@pytest.fixture
def stubs() -> Iterator[tuple[SlackStub, GitLabStub]]:
    with SlackStub(channels={"C0DEPLOY": "deploys"}) as slack, GitLabStub() as gitlab:
        gitlab.add_project("shop/web", project_id=42)
        gitlab.add_merge_request("shop/web", 7, source_branch="feature", sha=SHA)
        yield slack, gitlab


def job_env(slack: SlackStub, gitlab: GitLabStub, report_dir: Path) -> dict[str, str]:
    return {
        "DA_SLACK__TOKEN": "xoxb-test",
        "DA_SLACK__CHANNEL": "C0DEPLOY",
        "DA_SLACK__BASE_URL": slack.url,
        "DA_GITLAB__TOKEN": "glpat-test",
        "DA_CLUSTER": "prod-eu",
        "DA_ENVIRONMENT": "production",
        "DA_REPORT_DIR": str(report_dir),
        "CI_SERVER_URL": gitlab.url,
        "CI_PROJECT_PATH": "shop/web",
        "CI_PROJECT_ID": "42",
        "CI_PROJECT_URL": f"{gitlab.url}/shop/web",
        "CI_COMMIT_SHA": SHA,
        "CI_COMMIT_REF_NAME": "feature",
        "CI_PIPELINE_URL": f"{gitlab.url}/shop/web/-/pipelines/1",
        "CI_JOB_URL": f"{gitlab.url}/shop/web/-/jobs/2",
        "CI_MERGE_REQUEST_IID": "7",
        "CI_MERGE_REQUEST_PROJECT_URL": f"{gitlab.url}/shop/web",
    }


def run_job(scenario: Scenario, env: dict[str, str], *extra: str) -> tuple[int, str]:
    with Simulator(scenario, speed=200.0) as sim:
        (namespace, deployment), *_ = scenario.targets
        args = ["run", "-n", namespace, deployment, "--kube-url", sim.url, *extra]
        result = CliRunner().invoke(
            main_group, args, env=env, obj={"clock": sim.clock}, standalone_mode=False
        )
    assert result.exception is None, result.output
    return int(result.return_value), result.output


def injected_crash_loop() -> Scenario:
    """crash-loop whose last error line carries mention, quick-action and fence injections."""
    data: dict[str, Any] = load_scenario("crash-loop").model_dump(by_alias=True)
    image = data["images"]["registry.example.com/shop/web:v2"]["run"]
    image["exit_logs"] = [*image["exit_logs"][:-1], f"RuntimeError: {INJECTION}"]
    return Scenario.model_validate(data)


def everything_posted(slack: SlackStub, gitlab: GitLabStub) -> str:
    bodies = [json.dumps(r.body) for r in slack.requests]
    bodies += [json.dumps(r.body) for r in gitlab.requests]
    return "\n".join(bodies)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("crash-loop", "CRASH_LOOP"),
        ("image-not-found", "IMAGE_NOT_FOUND"),
        ("insufficient-memory", "UNSCHEDULABLE"),
    ],
)
def test_failed_rollout_posts_one_slack_message_one_thread_reply_and_one_note(
    stubs: tuple[SlackStub, GitLabStub], tmp_path: Path, name: str, rule: str
) -> None:
    slack, gitlab = stubs
    code, output = run_job(load_scenario(name), job_env(slack, gitlab, tmp_path / "report"))

    assert code == 1, output
    parents = [m for m in slack.posted_messages if "thread_ts" not in m]
    replies = [m for m in slack.posted_messages if "thread_ts" in m]
    assert len(parents) == 1
    assert len(replies) == 1
    assert len(gitlab.notes("shop/web", 7)) == 1
    assert slack.violations == []
    assert gitlab.violations == []
    env_file = (tmp_path / "report" / "result.env").read_text()
    assert "DA_RESULT=failed" in env_file
    assert f"DA_RULE={rule}" in env_file
    assert "DA_NOTE_URL=" in env_file


def test_running_the_same_job_again_updates_instead_of_adding(
    stubs: tuple[SlackStub, GitLabStub], tmp_path: Path
) -> None:
    slack, gitlab = stubs
    env = job_env(slack, gitlab, tmp_path / "report")
    first, _ = run_job(load_scenario("crash-loop"), env)
    second, output = run_job(load_scenario("crash-loop"), env)

    assert (first, second) == (1, 1), output
    assert len(slack.posted_messages) == 2  # the parent and its thread reply, once
    assert len(slack.updates) == 2  # both edited in place on the second run
    notes = gitlab.notes("shop/web", 7)
    assert len(notes) == 1
    assert [r.method for r in gitlab.requests].count("PUT") == 1


def test_healthy_rollout_posts_nothing_by_default(
    stubs: tuple[SlackStub, GitLabStub], tmp_path: Path
) -> None:
    slack, gitlab = stubs
    code, output = run_job(load_scenario("slow-readiness"), job_env(slack, gitlab, tmp_path))

    assert code == 0, output
    assert slack.posted_messages == []
    assert gitlab.notes("shop/web", 7) == []
    assert "DA_RESULT=healthy" in (tmp_path / "result.env").read_text()


def test_healthy_rollout_posts_a_success_line_when_configured(
    stubs: tuple[SlackStub, GitLabStub], tmp_path: Path
) -> None:
    slack, gitlab = stubs
    env = {**job_env(slack, gitlab, tmp_path), "DA_SLACK__POST_SUCCESS": "true"}
    code, _ = run_job(load_scenario("slow-readiness"), env)

    assert code == 0
    assert len(slack.posted_messages) == 1
    assert gitlab.notes("shop/web", 7) == []


def test_planted_secrets_reach_no_sink_and_injections_arrive_inert(
    stubs: tuple[SlackStub, GitLabStub], tmp_path: Path
) -> None:
    slack, gitlab = stubs
    code, _ = run_job(injected_crash_loop(), job_env(slack, gitlab, tmp_path / "report"))
    assert code == 1

    posted = everything_posted(slack, gitlab)
    written = "\n".join(
        p.read_text(errors="replace") for p in (tmp_path / "report").iterdir() if p.suffix != ".gz"
    )
    for secret in PLANTED_SECRETS:
        assert secret not in posted
        assert secret not in written
    assert "RuntimeError" in posted  # the injected line itself was quoted…
    for message in slack.posted_messages:
        text = json.dumps(message["blocks"])
        assert "<!here>" not in text  # …escaped for Slack
        assert "@channel" not in text.replace("@\\u200bchannel", "")
    note = gitlab.notes("shop/web", 7)[0]["body"]
    assert not any(line.startswith("/merge") for line in note.splitlines())


def test_dry_run_posts_nothing_and_still_writes_the_report(
    stubs: tuple[SlackStub, GitLabStub], tmp_path: Path
) -> None:
    slack, gitlab = stubs
    code, _ = run_job(load_scenario("crash-loop"), job_env(slack, gitlab, tmp_path), "--dry-run")

    assert code == 1
    assert slack.requests == []
    assert gitlab.notes("shop/web", 7) == []
    names = {p.name for p in tmp_path.iterdir()}
    assert {"snapshot.json.gz", "analysis.json", "report.md", "junit.xml", "result.env"} <= names


def test_unreachable_cluster_is_the_tools_error_not_a_failed_rollout(tmp_path: Path) -> None:
    env = {
        "DA_REPORT_DIR": str(tmp_path),
        "DA_KUBE__REQUEST_TIMEOUT_SECONDS": "1",
        "DA_KUBE__RETRY_BUDGET_SECONDS": "2",
    }
    args = ["run", "-n", "shop", "web", "--kube-url", "http://127.0.0.1:9"]
    result = CliRunner().invoke(main_group, args, env=env, standalone_mode=False)

    assert result.return_value == 4, result.output
    assert "DA_RESULT=error" in (tmp_path / "result.env").read_text()
