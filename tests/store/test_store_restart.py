"""A MariaDB restart in the middle of a stream of writes: every write lands, exactly once.

Starts its own throw-away server with `scripts/mariadb-test-up.sh` (on a free port, datadir on
tmpfs) so the shared test server is never restarted. Needs `mariadbd` (CI installs it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy_assistant.store import open_store
from deploy_assistant.store.rows import NewRollout

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
MARIADBD = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")

IN_CI = os.environ.get("CI") == "true"  # noqa: TID251 - a test decides whether it may skip
pytestmark = [
    pytest.mark.mysql,
    # In CI the server must be there (.ci/run installs it): missing means fail, not skip.
    pytest.mark.skipif(MARIADBD is None and not IN_CI, reason="mariadbd is not installed"),
]


@dataclass
class PrivateServer:
    base: Path
    port: int
    restarted: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mysql://da:da-pass@127.0.0.1:{self.port}/deploy_assistant_test?charset=utf8mb4"

    def restart(self) -> None:
        """SIGTERM, wait for exit, start again on the same datadir."""
        pid = int((self.base / "server.pid").read_text())
        os.kill(pid, signal.SIGTERM)
        while _alive(pid):
            time.sleep(0.05)
        self.restarted = subprocess.Popen(
            [
                str(MARIADBD),
                "--no-defaults",
                "--user=root",
                f"--datadir={self.base / 'data'}",
                f"--socket={self.base / 'mysqld.sock'}",
                f"--pid-file={self.base / 'mysqld.pid'}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                f"--log-error={self.base / 'error.log'}",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        (self.base / "server.pid").write_text(str(self.restarted.pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_server() -> Iterator[PrivateServer]:
    base = Path(tempfile.mkdtemp(prefix="da-restart-", dir="/dev/shm"))
    server = PrivateServer(base, _free_port())
    env = os.environ | {"DA_MYSQL_BASE": str(base), "DA_MYSQL_PORT": str(server.port)}  # noqa: TID251
    env["PATH"] = env.get("PATH", "") + ":/usr/sbin"
    up = subprocess.run(
        ["bash", str(SCRIPTS / "mariadb-test-up.sh")], env=env, capture_output=True, timeout=120
    )
    assert up.returncode == 0, up.stderr
    # Make commits durable across the restart (the script tunes the server for speed instead).
    subprocess.run(
        [
            "mariadb",
            "--no-defaults",
            f"--socket={base / 'mysqld.sock'}",
            "-uroot",
            "-e",
            "SET GLOBAL innodb_fast_shutdown=1; SET GLOBAL innodb_flush_log_at_trx_commit=1;",
        ],
        env=env,
        check=True,
        timeout=30,
    )
    try:
        yield server
    finally:
        subprocess.run(
            ["bash", str(SCRIPTS / "mariadb-test-down.sh")], env=env, timeout=120, check=False
        )
        if server.restarted is not None:
            server.restarted.wait(timeout=60)


def test_writes_survive_a_server_restart_exactly_once(private_server: PrivateServer) -> None:
    store = open_store(private_server.url, max_attempts=10)
    count = 300
    created: list[bool] = []
    errors: list[BaseException] = []

    def write() -> None:
        for i in range(count):
            try:
                _row, was_created = store.rollouts.create(
                    NewRollout("c", "ns", "web", str(i)), datetime.now(UTC)
                )
                created.append(was_created)
            except Exception as exc:  # noqa: BLE001 - collected and asserted on below
                errors.append(exc)
            time.sleep(0.005)

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.3)
    private_server.restart()
    writer.join(timeout=120)
    try:
        assert errors == []
        assert created == [True] * count
        assert sum(store.rollouts.count_by_status().values()) == count
    finally:
        store.close()
