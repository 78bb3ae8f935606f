"""Secrets in verdict messages, bad settings, bad ports and hostile text: one sentence, no leak."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.dom import minidom

import pytest
from click.testing import CliRunner, Result

from deploy_assistant.cli.base import main_group
from deploy_assistant.models import (
    Analysis,
    Classification,
    FailureClass,
    RawContext,
    ReducedContext,
    RolloutStatus,
    Target,
    Verdict,
)
from deploy_assistant.notify.sanitize import gitlab_text
from deploy_assistant.pipeline import Diagnosis
from deploy_assistant.reports import junit_xml
from deploy_assistant.sim import Scenario, Simulator, load_scenario

SECRET = "Zq9vLmx7Kp2w"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


def invoke(*args: str, obj: dict[str, Any] | None = None, **env: str) -> Result:
    return CliRunner().invoke(main_group, list(args), obj=obj, env=env, standalone_mode=False)


def leaky_admission() -> Scenario:
    """A webhook whose denial message quotes a password and an AWS key (it happens)."""
    data: dict[str, Any] = load_scenario("admission-webhook-denied").model_dump(by_alias=True)
    for webhook in data["cluster"]["webhooks"]:
        webhook["message"] = (
            f"env DB_PASSWORD must use secretKeyRef, found password={SECRET} key {AWS_KEY}"
        )
    return Scenario.model_validate(data)


@pytest.mark.parametrize("command", ["wait", "check"])
def test_verdict_messages_quoting_secrets_are_redacted_in_json_output(command: str) -> None:
    scenario = leaky_admission()
    with Simulator(scenario, speed=200.0) as sim:
        (namespace, deployment), *_ = scenario.targets
        result = invoke(
            command,
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
    assert json.loads(result.stdout)["verdict"]["rule"] == "CREATE_REFUSED"
    assert SECRET not in result.output
    assert AWS_KEY not in result.output


def test_an_invalid_setting_is_one_sentence_naming_the_variable_not_its_value() -> None:
    result = invoke(
        "check",
        "--snapshot",
        "unused.json",
        DA_POLICY__TIMEOUT_SECONDS="abc",
        DA_SLACK__TOKEN="xoxb-1-secret",
    )

    assert result.return_value == 2
    assert "DA_POLICY__TIMEOUT_SECONDS" in result.output
    assert "xoxb-1-secret" not in result.output
    assert "Traceback" not in result.output


def test_sim_serve_on_a_taken_port_is_exit_2() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as taken:
        port = str(taken.server_address[1])
        result = invoke("sim", "serve", "--port", port)

    assert result.return_value == 2
    assert "Cannot listen" in result.output


def test_demo_into_a_file_is_exit_2_before_anything_runs(tmp_path: Path) -> None:
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    result = invoke("demo", "crash-loop", "--output-dir", str(a_file))

    assert result.return_value == 2
    assert "not a directory" in result.output


class _HtmlHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>Please log in</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def html_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_url_that_is_not_a_kubernetes_api_is_a_configuration_error(html_server: str) -> None:
    result = invoke("wait", "-n", "shop", "web", "--kube-url", html_server)

    assert result.return_value == 2
    assert "not JSON" in result.output


def test_junit_stays_valid_xml_when_logs_carry_control_characters() -> None:
    analysis = Analysis(
        summary="\x1b[31mERROR\x1b[0m the app crashed\x00\x07",
        likely_cause="ModuleNotFoundError \x1b[1mstripe\x1b[0m",
    )
    target = Target(namespace="shop", deployment="web")
    verdict = Verdict(status=RolloutStatus.FAILED, target=target, message="crash\x1b[0m")
    diagnosis = Diagnosis(
        verdict=verdict,
        raw=RawContext(target=target),
        classification=Classification(
            failure_class=FailureClass.CRASH_LOOP, family="app_crash_startup", confidence=0.9
        ),
        reduced=ReducedContext(target=target),
        analysis=analysis,
    )
    document = minidom.parseString(junit_xml(verdict, [target], diagnosis))

    failure = document.getElementsByTagName("failure")[0]
    assert failure.getAttribute("message") == "ERROR the app crashed"


def test_gitlab_prose_cannot_carry_links_or_images() -> None:
    text = gitlab_text("![p](https://evil.example/p.png) [reset](https://evil.example/login)")

    assert "](" not in text.replace("\\](", "")
    assert "\\[reset\\]" in text
