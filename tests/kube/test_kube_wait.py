"""The wait loop over HTTP: bundled simulator scenarios through `da-ci wait`, and API faults.

Fault tests run the real client against the simulator's loopback API server with hand-placed
objects, on a fast virtual clock; scenario tests run every bundled scenario end to end.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

import deploy_assistant.cli.wait  # noqa: F401 - registers `da-ci wait`
from deploy_assistant.cli.base import main_group
from deploy_assistant.clock import ScaledClock
from deploy_assistant.errors import ConfigError
from deploy_assistant.kube.client import KubeClient
from deploy_assistant.kube.wait import wait_for_rollouts
from deploy_assistant.models import FailureRule, RolloutStatus, Target
from deploy_assistant.settings import KubeSettings, PolicySettings
from deploy_assistant.sim import Simulator, list_scenarios, load_scenario
from deploy_assistant.sim.server import ApiServer
from deploy_assistant.sim.state import ClusterState
from tests.kube import rollout_objects as ro

TARGET = Target(namespace="shop", deployment="web")
SPEED = 100.0


@dataclass
class Loopback:
    state: ClusterState
    server: ApiServer
    clock: ScaledClock
    dep_uid: str = ""
    rs_uid: str = ""

    def client(self) -> KubeClient:
        return KubeClient.from_settings(KubeSettings(api_url=self.server.url))

    def put_pod(self, name: str, container: ro.Obj, *, ready: bool = False) -> None:
        pod = ro.pod(name, containers=[container], ready=ready, created=self.clock.monotonic())
        pod["metadata"]["namespace"] = "shop"
        pod["metadata"]["ownerReferences"][0]["uid"] = self.rs_uid
        existing = self.state.get("pods", "shop", name)
        if existing is None:
            self.state.create("pods", pod)
        else:
            pod["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
            self.state.replace("pods", pod)

    def every(self, seconds: float, action: Callable[[float], None], stop: threading.Event) -> None:
        def loop() -> None:
            while not stop.is_set():
                action(self.clock.monotonic())
                stop.wait(self.clock.to_real_seconds(seconds))

        threading.Thread(target=loop, daemon=True).start()


@contextmanager
def loopback(**dep: object) -> Iterator[Loopback]:
    clock = ScaledClock(speed=SPEED, origin=ro.T0)
    state = ClusterState(clock)
    with ApiServer(state, watch_time_scale=SPEED) as server:
        deployment = ro.deployment(**dep)  # type: ignore[arg-type]
        deployment["metadata"]["namespace"] = "shop"
        created = state.create("deployments", deployment)
        rs = ro.replicaset(replicas=int(deployment["spec"]["replicas"]))
        rs["metadata"]["namespace"] = "shop"
        rs["metadata"]["ownerReferences"][0]["uid"] = created["metadata"]["uid"]
        made = state.create("replicasets", rs)
        yield Loopback(state, server, clock, created["metadata"]["uid"], made["metadata"]["uid"])


def crash_loop(lb: Loopback, replicas: int = 3) -> Callable[[float], None]:
    def step(t: float) -> None:
        restarts = int(t // 10) + 1
        cs = ro.waiting("CrashLoopBackOff", restarts=restarts, last=("Error", 1, t - 1))
        for i in range(replicas):
            lb.put_pod(f"web-{i}", cs)

    return step


def run_wait(lb: Loopback, **kwargs: object) -> tuple[RolloutStatus, FailureRule | None, int]:
    client = lb.client()
    try:
        outcome = wait_for_rollouts(client, [TARGET], PolicySettings(), lb.clock, **kwargs)  # type: ignore[arg-type]
    finally:
        client.close()
    return outcome.verdict.status, outcome.verdict.rule, outcome.requests


def test_crash_loop_fails_fast_over_watches() -> None:
    stop = threading.Event()
    with loopback(updated=3, available=0) as lb:
        lb.every(1.0, crash_loop(lb), stop)
        try:
            status, rule, requests = run_wait(lb)
        finally:
            stop.set()
    assert (status, rule) == (RolloutStatus.FAILED, FailureRule.CRASH_LOOP)
    assert requests < 12  # one GET, three LISTs, three WATCHes, a few resumes


def test_polling_mode_reaches_the_same_verdict() -> None:
    stop = threading.Event()
    with loopback(updated=3, available=0) as lb:
        lb.every(1.0, crash_loop(lb), stop)
        try:
            status, rule, _ = run_wait(lb, kube=KubeSettings(poll_interval_seconds=5.0))
        finally:
            stop.set()
    assert (status, rule) == (RolloutStatus.FAILED, FailureRule.CRASH_LOOP)


def test_verdict_survives_watches_cut_mid_rollout() -> None:
    stop = threading.Event()
    with loopback(updated=3, available=0) as lb:
        lb.every(1.0, crash_loop(lb), stop)
        lb.every(3.0, lambda _t: lb.server.cut_watches(), stop)
        try:
            status, rule, _ = run_wait(lb)
        finally:
            stop.set()
    assert (status, rule) == (RolloutStatus.FAILED, FailureRule.CRASH_LOOP)


def test_success_when_the_deployment_completes() -> None:
    stop = threading.Event()
    with loopback(updated=3, available=0) as lb:

        def complete(t: float) -> None:
            if t > 15:
                lb.state.mutate(
                    "deployments", "shop", "web", lambda d: d["status"].update(availableReplicas=3)
                )

        lb.every(2.0, complete, stop)
        try:
            status, _, _ = run_wait(lb)
        finally:
            stop.set()
    assert status is RolloutStatus.SUCCEEDED


def test_deleted_deployment_fails_deleted() -> None:
    stop = threading.Event()
    with loopback(updated=3, available=0) as lb:
        done = threading.Event()

        def delete(t: float) -> None:
            if t > 10 and not done.is_set():
                done.set()
                lb.state.delete("deployments", "shop", "web")

        lb.every(1.0, delete, stop)
        try:
            status, rule, _ = run_wait(lb)
        finally:
            stop.set()
    assert (status, rule) == (RolloutStatus.FAILED, FailureRule.DELETED)


def test_recreated_deployment_is_superseded() -> None:
    stop = threading.Event()
    with loopback(updated=3, available=0) as lb:
        done = threading.Event()

        def recreate(t: float) -> None:
            if t > 10 and not done.is_set():
                done.set()
                lb.state.delete("deployments", "shop", "web")
                again = ro.deployment(updated=3, available=0)
                again["metadata"]["namespace"] = "shop"
                lb.state.create("deployments", again)

        lb.every(1.0, recreate, stop)
        try:
            status, _, _ = run_wait(lb)
        finally:
            stop.set()
    assert status is RolloutStatus.SUPERSEDED


def test_template_changed_by_someone_else_is_superseded() -> None:
    stop = threading.Event()
    with loopback(updated=3, available=0) as lb:

        def change(t: float) -> None:
            if t > 10:
                lb.state.mutate(
                    "deployments",
                    "shop",
                    "web",
                    lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="web:v3"),
                )

        lb.every(1.0, change, stop)
        try:
            status, _, _ = run_wait(lb)
        finally:
            stop.set()
    assert status is RolloutStatus.SUPERSEDED


def test_timeout_at_the_ceiling() -> None:
    with loopback(updated=3, available=0) as lb:
        status, _, _ = run_wait(lb, timeout_seconds=60.0)
    assert status is RolloutStatus.TIMEOUT


def test_unknown_deployment_is_a_config_error() -> None:
    with loopback() as lb:
        client = lb.client()
        unknown = [Target(namespace="shop", deployment="nope")]
        with pytest.raises(ConfigError, match="not found in namespace"):
            wait_for_rollouts(client, unknown, PolicySettings(), lb.clock)
        client.close()


def test_rbac_refusal_is_one_sentence_and_exit_2() -> None:
    with loopback() as lb:
        lb.state.deny("watch", "pods", "shop")
        result = CliRunner().invoke(
            main_group,
            ["wait", "-n", "shop", "web", "--kube-url", lb.server.url],
            obj={"clock": lb.clock},
            standalone_mode=False,
        )
    assert result.return_value == 2
    assert "refused to list and watch pods" in result.output


def test_unreachable_api_ends_unknown_with_exit_4() -> None:
    clock = ScaledClock(speed=2000.0, origin=ro.T0)
    result = CliRunner().invoke(
        main_group,
        ["wait", "-n", "shop", "web", "--kube-url", "http://127.0.0.1:9"],
        obj={"clock": clock},
        standalone_mode=False,
    )
    assert result.return_value == 4
    assert result.output.startswith("UNKNOWN")


def test_cli_prints_json_verdict_and_exits_1_on_failure() -> None:
    stop = threading.Event()
    with loopback(updated=3, available=0) as lb:
        lb.every(1.0, crash_loop(lb), stop)
        try:
            result = CliRunner().invoke(
                main_group,
                ["wait", "-n", "shop", "web", "--kube-url", lb.server.url, "--output", "json"],
                obj={"clock": lb.clock},
                standalone_mode=False,
            )
        finally:
            stop.set()
    assert result.return_value == 1
    body = json.loads(result.stdout)
    assert body["verdict"]["status"] == "FAILED"
    assert body["verdict"]["rule"] == "CRASH_LOOP"
    assert "shop/web:" in result.stderr  # the progress lines of a non-terminal run


@pytest.mark.parametrize("name", list_scenarios())
def test_every_bundled_scenario_yields_its_declared_verdict(name: str) -> None:
    with Simulator(load_scenario(name), speed=SPEED) as sim:
        namespaces = {ns for ns, _ in sim.scenario.targets}
        assert len(namespaces) == 1, "`da-ci wait` takes one namespace"
        args = ["wait", "-n", namespaces.pop(), *(d for _, d in sim.scenario.targets)]
        result = CliRunner().invoke(
            main_group,
            [*args, "--kube-url", sim.url, "--output", "json"],
            obj={"clock": sim.clock},
            standalone_mode=False,
        )
        expect = sim.scenario.expect
    assert result.exception is None, result.output
    verdict = json.loads(result.stdout)["verdict"]
    assert verdict["status"] == expect.verdict, verdict["message"]
    if expect.rule is not None:
        assert verdict["rule"] == expect.rule, verdict["message"]


def test_flapping_api_is_retried_with_backoff() -> None:
    stop = threading.Event()
    with loopback(updated=3, available=0) as lb:
        lb.every(1.0, crash_loop(lb), stop)
        flaps = iter(range(3))

        def flap(_t: float) -> None:
            if next(flaps, None) is not None:
                lb.server.fail_requests(4)
                lb.server.cut_watches()

        lb.every(8.0, flap, stop)
        try:
            status, rule, _ = run_wait(lb)
        finally:
            stop.set()
    assert (status, rule) == (RolloutStatus.FAILED, FailureRule.CRASH_LOOP)


def test_compacted_history_forces_a_relist() -> None:
    stop = threading.Event()
    with loopback(updated=3, available=0) as lb:
        lb.every(1.0, crash_loop(lb), stop)

        def compact(_t: float) -> None:
            lb.state.compact()
            lb.server.cut_watches()

        lb.every(6.0, compact, stop)
        try:
            status, rule, requests = run_wait(lb)
        finally:
            stop.set()
    assert (status, rule) == (RolloutStatus.FAILED, FailureRule.CRASH_LOOP)
    assert requests > 10  # the relists happened


def test_unknown_context_is_a_config_error() -> None:
    result = CliRunner().invoke(
        main_group, ["wait", "web", "--context", "no-such-context-here"], standalone_mode=False
    )
    assert result.return_value == 2
    assert result.stderr.startswith("error: ")
