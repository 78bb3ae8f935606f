"""`da-ci check` (offline and live), `da-ci demo` and `da-ci sim list` through click."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from deploy_assistant.cli.base import main_group
from deploy_assistant.sim import Simulator, load_scenario

CASES = Path(__file__).resolve().parents[1] / "cases"


def invoke(*args: str, obj: dict[str, Any] | None = None) -> Result:
    return CliRunner().invoke(main_group, list(args), obj=obj, standalone_mode=False)


def test_check_snapshot_json_carries_verdict_classification_analysis_context_and_usage() -> None:
    result = invoke(
        "check",
        "--snapshot",
        str(CASES / "oom_killed_limit_lowered" / "snapshot.json"),
        "--output",
        "json",
    )

    assert result.return_value == 1, result.output
    body = json.loads(result.output)
    assert set(body) == {"verdict", "classification", "analysis", "context", "usage"}
    assert body["classification"]["failure_class"] == "oom_killed"
    assert body["analysis"]["family"] == "oom_killed"
    assert body["analysis"]["source"] == "rules"
    assert "512Mi" in json.dumps(body["context"]["rollout_diff"])


def test_check_snapshot_markdown_is_the_report() -> None:
    snapshot = CASES / "image_tag_not_found" / "snapshot.json"
    result = invoke("check", "--snapshot", str(snapshot), "--output", "markdown")

    assert result.return_value == 1
    assert result.output.lstrip().startswith("#")
    assert "image" in result.output.lower()


def test_check_empty_snapshot_is_insufficient_evidence_not_an_error() -> None:
    result = invoke(
        "check", "--snapshot", str(CASES / "empty_snapshot" / "snapshot.json"), "--output", "json"
    )

    assert result.exception is None
    assert json.loads(result.output)["analysis"]["family"] == "insufficient_evidence"


def test_check_broken_snapshot_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "deploy-assistant/snapshot@1"')
    result = invoke("check", "--snapshot", str(broken))

    assert result.return_value == 2
    assert "broken.json" in result.output
    assert "Traceback" not in result.output


def test_check_needs_a_deployment_or_a_snapshot_but_not_both(tmp_path: Path) -> None:
    assert invoke("check").return_value == 2
    assert invoke("check", "web", "--snapshot", str(tmp_path / "x.json")).return_value == 2


def test_check_live_waits_for_the_verdict_then_diagnoses() -> None:
    with Simulator(load_scenario("image-not-found"), speed=200.0) as sim:
        (namespace, deployment), *_ = sim.scenario.targets
        result = invoke(
            "check",
            "-n",
            namespace,
            deployment,
            "--kube-url",
            sim.url,
            "--output",
            "json",
            obj={"clock": sim.clock},
        )

    assert result.return_value == 1, result.output
    body = json.loads(result.output)
    assert body["verdict"]["status"] == "FAILED"
    assert body["verdict"]["rule"] == "IMAGE_NOT_FOUND"
    assert body["classification"]["failure_class"] == "image_pull"
    assert body["analysis"]["family"] == "image_not_found"


def test_check_live_on_a_healthy_rollout_says_so() -> None:
    with Simulator(load_scenario("noop-reapply"), speed=200.0) as sim:
        (namespace, deployment), *_ = sim.scenario.targets
        result = invoke(
            "check", "-n", namespace, deployment, "--kube-url", sim.url, obj={"clock": sim.clock}
        )

    assert result.return_value == 0, result.output


def test_check_live_unknown_deployment_is_exit_2() -> None:
    with Simulator(load_scenario("noop-reapply"), speed=200.0) as sim:
        result = invoke("check", "-n", "shop", "ghost", "--kube-url", sim.url)

    assert result.return_value == 2
    assert "ghost" in result.output


def test_demo_runs_the_whole_job_and_writes_the_messages(tmp_path: Path) -> None:
    result = invoke("demo", "oom-killed", "--speed", "200", "--output-dir", str(tmp_path))

    assert result.return_value == 0, result.output
    assert "OOMKilled" in result.output
    slack = json.loads((tmp_path / "slack-message.json").read_text())
    assert slack["blocks"]
    assert (tmp_path / "mr-note.md").read_text().startswith("<!-- deploy-assistant:")
    assert (tmp_path / "report" / "report.md").exists()
    assert "hunter2-prod" not in result.output


def test_demo_unknown_scenario_names_the_choices() -> None:
    result = invoke("demo", "no-such-scenario")

    assert result.return_value == 2
    assert "crash-loop" in result.output


def test_sim_list_shows_every_scenario_with_its_expected_verdict() -> None:
    result = CliRunner().invoke(main_group, ["sim", "list"])

    assert result.exit_code == 0
    assert "crash-loop" in result.output
    assert "FAILED CRASH_LOOP" in result.output
    assert len(result.output.splitlines()) >= 30
