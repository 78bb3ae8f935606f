"""`da-ci snapshot`: writes a redacted, loadable snapshot; bad input: one sentence and a code."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import deploy_assistant.cli.snapshot  # noqa: F401 - registers the command on the group
from deploy_assistant.cli.base import main_group
from deploy_assistant.sim.server import ApiServer
from deploy_assistant.snapshot import load_snapshot
from tests.kube.test_collect_live import CLOCK, NS, DeletingState, build_cluster


@pytest.fixture
def api_url() -> Iterator[str]:
    state = DeletingState(CLOCK)
    build_cluster(state)
    # The crashing container printed the database password it was given.
    state.write_log(NS, "web-bbb-crash", "app", "connecting with password pa55word\n")
    with ApiServer(state) as server:
        yield server.url


def run(*args: str) -> tuple[int | None, str]:
    result = CliRunner().invoke(main_group, list(args), standalone_mode=False)
    if result.exception is not None:
        raise result.exception
    code = result.return_value if isinstance(result.return_value, int) else None
    return code, result.output


def test_snapshot_is_written_redacted_and_loads(api_url: str, tmp_path: Path) -> None:
    path = tmp_path / "web.json.gz"
    code, output = run("snapshot", "-n", NS, "web", "-o", str(path), "--kube-url", api_url)
    assert code == 0
    assert f"Wrote {path}: 4 pods" in output
    raw = load_snapshot(path)
    assert raw.target.deployment == "web"
    assert raw.deployment is not None
    assert any(entry.previous for entry in raw.logs)
    assert "pa55word" not in raw.model_dump_json()


def test_unknown_deployment_exits_2_with_one_sentence(api_url: str, tmp_path: Path) -> None:
    path = tmp_path / "ghost.json"
    code, output = run("snapshot", "-n", NS, "ghost", "-o", str(path), "--kube-url", api_url)
    assert code == 2
    assert output == "error: Deployment shop/ghost does not exist.\n"
    assert not path.exists()


def test_unreachable_cluster_exits_4(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = tmp_path / "web.json"
    code, output = run(
        "snapshot", "-n", NS, "web", "-o", str(path), "--kube-url", f"http://127.0.0.1:{port}"
    )
    assert code == 4
    assert output.startswith("error: The Kubernetes API at")
    assert output.count("\n") == 1
    assert not path.exists()


def test_output_file_is_required() -> None:
    result = CliRunner().invoke(main_group, ["snapshot", "web"])
    assert result.exit_code == 2
    assert "Missing option '-o'" in result.output
