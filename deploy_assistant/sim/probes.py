"""What happens while a container runs: its process exiting (crash, normal exit, OOM kill) and the
kubelet's startup, liveness and readiness probes ticking every `periodSeconds` after
`initialDelaySeconds`, with `Unhealthy` events and probe kills after `failureThreshold` failures."""

from __future__ import annotations

from typing import Any

from deploy_assistant.sim.cluster import SimContext
from deploy_assistant.sim.container_runtime import ContainerRuntime, KubeletHost
from deploy_assistant.sim.pod_status import ContainerRun, PodRun
from deploy_assistant.sim.scenario import ProbeBehaviour


def _probe_output(kind: str, probe: dict[str, Any], behaviour: ProbeBehaviour, ip: str) -> str:
    if behaviour.output:
        return behaviour.output.replace("{ip}", ip)
    if "httpGet" in probe:
        port = probe["httpGet"].get("port", 8080)
        path = probe["httpGet"].get("path", "/")
        if kind == "Readiness":
            return "HTTP probe failed with statuscode: 503"
        return f'Get "http://{ip}:{port}{path}": dial tcp {ip}:{port}: connect: connection refused'
    if "tcpSocket" in probe:
        port = probe["tcpSocket"].get("port", 8080)
        return f"dial tcp {ip}:{port}: connect: connection refused"
    return ""


class Prober:
    def __init__(self, ctx: SimContext, runtime: ContainerRuntime, host: KubeletHost) -> None:
        self.ctx = ctx
        self.runtime = runtime
        self.host = host

    def container_started(self, pod: PodRun, c: ContainerRun) -> None:
        self._schedule_exit(pod, c)
        if c.init:
            return
        startup = c.spec.get("startupProbe")
        if startup:
            self._tick(pod, c, "Startup", startup, 0, 0)
        else:
            self._started(pod, c)

    def _schedule_exit(self, pod: PodRun, c: ContainerRun) -> None:
        b = c.behaviour
        c.crashing = False
        platforms = c.image_behaviour.platforms
        if platforms and pod.node_arch not in platforms:
            command = (c.spec.get("command") or ["/app/server"])[0]
            line = [f"exec {command}: exec format error"]
            c.crashing = True
            self.runtime.later(pod, c, 0.1, lambda: self.runtime.exit(pod, c, "Error", 1, line))
            return
        healthy_node = b.crash_on_nodes is not None and pod.node not in b.crash_on_nodes
        exhausted = b.crash_times is not None and c.exits >= b.crash_times
        if c.init and (exhausted or healthy_node or (b.exit_after is None and b.oom_after is None)):
            delay = b.exit_after if b.exit_after is not None else 1.0
            self.runtime.later(pod, c, delay, lambda: self.runtime.exit(pod, c, "Completed", 0, []))
            return
        if healthy_node or exhausted:
            return
        exits: list[tuple[float, str, int]] = []
        if b.exit_after is not None:
            exits.append((b.exit_after, "Completed" if b.exit_code == 0 else "Error", b.exit_code))
        if b.oom_after is not None:
            exits.append((b.oom_after, "OOMKilled", 137))
        if exits:
            c.crashing = True
            delay, reason, code = min(exits)
            self.runtime.later(
                pod, c, delay, lambda: self.runtime.exit(pod, c, reason, code, b.exit_logs)
            )

    def _started(self, pod: PodRun, c: ContainerRun) -> None:
        c.started = True
        liveness = c.spec.get("livenessProbe")
        if liveness:
            self._tick(pod, c, "Liveness", liveness, 0, 0)
        readiness = c.spec.get("readinessProbe")
        if readiness:
            self._tick(pod, c, "Readiness", readiness, 0, 0)
        else:
            c.ready = True
        self.host.write(pod)

    def _tick(
        self,
        pod: PodRun,
        c: ContainerRun,
        kind: str,
        probe: dict[str, Any],
        index: int,
        failures: int,
    ) -> None:
        """Schedule probe number `index` of this run (relative to the container's start)."""
        origin = float(probe.get("initialDelaySeconds", 0))
        period = float(probe.get("periodSeconds", 10))
        due = c.started_at + origin + index * period
        self.runtime.later(
            pod,
            c,
            due - self.ctx.engine.now(),
            lambda: self._probe(pod, c, kind, probe, index, failures),
        )

    def _behaviour(self, c: ContainerRun, kind: str) -> ProbeBehaviour:
        b = c.behaviour
        return {"Startup": b.startup, "Liveness": b.liveness, "Readiness": b.readiness}[kind]

    def _probe(
        self,
        pod: PodRun,
        c: ContainerRun,
        kind: str,
        probe: dict[str, Any],
        index: int,
        failures: int,
    ) -> None:
        since = self.ctx.engine.now() - c.started_at
        behaviour = self._behaviour(c, kind)
        ready_after = c.behaviour.ready_after
        not_serving = since < ready_after or (c.crashing and ready_after == 0)
        failing = behaviour.failing(since) or (kind == "Readiness" and not_serving)
        if not failing:
            if kind == "Startup":
                self._started(pod, c)
            elif kind == "Readiness" and not c.ready:
                c.ready = True
                self.host.write(pod)
            return
        output = _probe_output(kind, probe, behaviour, pod.pod_ip)
        self.host.event(pod, c, "Unhealthy", f"{kind} probe failed: {output}", warning=True)
        failures += 1
        if kind != "Readiness" and failures >= int(probe.get("failureThreshold", 3)):
            self._kill(pod, c, kind)
            return
        self._tick(pod, c, kind, probe, index + 1, failures)

    def _kill(self, pod: PodRun, c: ContainerRun, kind: str) -> None:
        c.token += 1
        c.ready = False
        self.host.event(
            pod, c, "Killing", f"Container {c.name} failed {kind.lower()} probe, will be restarted"
        )
        self.host.write(pod)
        stop = min(c.behaviour.stop_seconds, pod.grace_seconds)
        self.runtime.later(pod, c, stop, lambda: self.runtime.exit(pod, c, "Error", 137, []))
