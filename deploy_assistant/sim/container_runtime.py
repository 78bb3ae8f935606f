"""One container's life on the kubelet: pull (with ImagePullBackOff), config checks
(CreateContainerConfigError), create and start (StartError), run, exit (Error/Completed/OOMKilled),
and restart with the real CrashLoopBackOff back-off: immediately after the first exit, then after
10 s, 20 s, 40 s … capped at 300 s (`kuberuntime_manager.doBackOff`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from deploy_assistant.sim.cluster import SimContext
from deploy_assistant.sim.container_config import config_error
from deploy_assistant.sim.images import (
    digest,
    go_duration,
    invalid_reference_message,
    is_valid_reference,
    pull_error_message,
    start_error_message,
)
from deploy_assistant.sim.pod_status import ContainerRun, PodRun

MAX_BACKOFF_SECONDS = 300.0
INITIAL_BACKOFF_SECONDS = 10.0
SYNC_SECONDS = 1.0
"""How long the kubelet takes to notice an exit and act on it (its pod sync)."""
CONFIG_RETRY_SECONDS = 10.0
EPOCH = "1970-01-01T00:00:00Z"


class KubeletHost(Protocol):
    def write(self, pod: PodRun) -> None: ...
    def event(
        self, pod: PodRun, c: ContainerRun | None, reason: str, message: str, warning: bool = False
    ) -> None: ...
    def container_running(self, pod: PodRun, c: ContainerRun) -> None: ...
    def container_finished(self, pod: PodRun, c: ContainerRun) -> None: ...
    def has_image(self, node: str, image: str) -> bool: ...
    def add_image(self, node: str, image: str) -> None: ...


class ContainerRuntime:
    def __init__(self, ctx: SimContext, host: KubeletHost) -> None:
        self.ctx = ctx
        self.host = host

    def later(self, pod: PodRun, c: ContainerRun, delay: float, step: Callable[[], None]) -> None:
        """Run `step` after `delay` unless the container restarted or the pod is going away."""
        token = c.token

        def guarded() -> None:
            if c.token == token and not pod.terminating:
                step()

        self.ctx.engine.after(delay, guarded)

    def _wait(self, pod: PodRun, c: ContainerRun, reason: str, message: str = "") -> None:
        c.state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        self.host.write(pod)

    # -- image --------------------------------------------------------------------------------

    def start(self, pod: PodRun, c: ContainerRun) -> None:
        if pod.terminating:
            return
        if c.image_behaviour.pull.invalid or not is_valid_reference(c.image):
            message = invalid_reference_message(c.image)
            self.host.event(pod, c, "InspectFailed", message, warning=True)
            self.host.event(pod, c, "Failed", "Error: InvalidImageName", warning=True)
            self._wait(pod, c, "InvalidImageName", message)
            self.later(pod, c, CONFIG_RETRY_SECONDS, lambda: self.start(pod, c))
            return
        always = c.spec.get("imagePullPolicy") == "Always"
        if always or not self.host.has_image(pod.node, c.image):
            self._pull(pod, c)
            return
        self.host.event(pod, c, "Pulled", f'Container image "{c.image}" already present on machine')
        self._create(pod, c)

    def _pull(self, pod: PodRun, c: ContainerRun) -> None:
        pull = c.image_behaviour.pull
        for ref in self._pull_secrets(pod):
            self.host.event(
                pod,
                None,
                "FailedToRetrieveImagePullSecret",
                f"Unable to retrieve some image pull secrets ({ref}); attempting to pull the "
                "image may not succeed.",
                warning=True,
            )
        self.host.event(pod, c, "Pulling", f'Pulling image "{c.image}"')
        cached = self.host.has_image(pod.node, c.image)
        seconds = 0.3 if cached else pull.after
        self.later(pod, c, seconds, lambda: self._pulled(pod, c, seconds))

    def _pull_secrets(self, pod: PodRun) -> list[str]:
        obj = self.ctx.state.get("pods", *pod.key) or {"spec": {}}
        names = [s.get("name", "") for s in obj["spec"].get("imagePullSecrets") or []]
        return [n for n in names if self.ctx.state.get("secrets", pod.key[0], n) is None]

    def _pulled(self, pod: PodRun, c: ContainerRun, seconds: float) -> None:
        pull = c.image_behaviour.pull
        failing = pull.error is not None and (
            pull.error_until is None or self.ctx.engine.now() < pull.error_until
        )
        if not failing:
            self.host.add_image(pod.node, c.image)
            c.image_id = digest(c.image)
            c.image_backoff_seconds = 0.0
            took = f"{seconds:.3f}s".replace(".000s", "s")
            self.host.event(
                pod,
                c,
                "Pulled",
                f'Successfully pulled image "{c.image}" in {took} ({took} including waiting). '
                f"Image size: {pull.size_bytes} bytes.",
            )
            self._create(pod, c)
            return
        message = pull_error_message(str(pull.error), c.image)
        self.host.event(
            pod, c, "Failed", f'Failed to pull image "{c.image}": {message}', warning=True
        )
        self.host.event(pod, c, "Failed", "Error: ErrImagePull", warning=True)
        self._wait(pod, c, "ErrImagePull", message)
        self.later(pod, c, SYNC_SECONDS, lambda: self._pull_backoff(pod, c, message))

    def _pull_backoff(self, pod: PodRun, c: ContainerRun, message: str) -> None:
        backoff = c.image_backoff_seconds
        backoff = INITIAL_BACKOFF_SECONDS if not backoff else min(backoff * 2, MAX_BACKOFF_SECONDS)
        c.image_backoff_seconds = backoff
        self.host.event(pod, c, "BackOff", f'Back-off pulling image "{c.image}"')
        self.host.event(pod, c, "Failed", "Error: ImagePullBackOff", warning=True)
        self._wait(
            pod,
            c,
            "ImagePullBackOff",
            f'Back-off pulling image "{c.image}": ErrImagePull: {message}',
        )
        self.later(pod, c, backoff, lambda: self._pull(pod, c))

    # -- create and start ---------------------------------------------------------------------

    def _create(self, pod: PodRun, c: ContainerRun) -> None:
        problem = config_error(self.ctx, pod.key[0], c.spec)
        if problem is not None:
            self.host.event(pod, c, "Failed", f"Error: {problem}", warning=True)
            self._wait(pod, c, "CreateContainerConfigError", problem)
            self.later(pod, c, CONFIG_RETRY_SECONDS, lambda: self.start(pod, c))
            return
        seed = f"{pod.uid}/{c.name}/{c.restart_count}".encode()
        c.container_id = "containerd://" + hashlib.sha256(seed).hexdigest()
        self.host.event(pod, c, "Created", f"Created container: {c.name}")
        start_error = c.behaviour.start_error
        if start_error is not None:
            command = (c.spec.get("command") or ["/app/server"])[0]
            message = start_error_message(start_error, command)
            self.host.event(pod, c, "Failed", f"Error: {message}", warning=True)
            terminated = {
                "exitCode": 128,
                "reason": "StartError",
                "message": message,
                "startedAt": EPOCH,
                "finishedAt": self.ctx.stamp(),
                "containerID": c.container_id,
            }
            self._exited(
                pod, c, terminated, run_seconds=0.0, waiting=("RunContainerError", message)
            )
            return
        c.state = {"running": {"startedAt": self.ctx.stamp()}}
        c.started_at, c.started_stamp = self.ctx.engine.now(), self.ctx.stamp()
        self.host.event(pod, c, "Started", f"Started container {c.name}")
        self._log(pod, c, c.behaviour.logs)
        self.host.container_running(pod, c)

    def _log(self, pod: PodRun, c: ContainerRun, lines: list[str]) -> None:
        if not lines:
            return
        text = "\n".join(lines)
        for name, value in (("time", self.ctx.stamp()), ("pod", pod.key[1]), ("ip", pod.pod_ip)):
            text = text.replace("{" + name + "}", value)
        self.ctx.state.write_log(pod.key[0], pod.key[1], c.name, text)

    # -- exit and restart ---------------------------------------------------------------------

    def exit(self, pod: PodRun, c: ContainerRun, reason: str, code: int, lines: list[str]) -> None:
        """The process ended (crash, normal exit, OOM kill, probe kill)."""
        self._log(pod, c, lines)
        terminated = {
            "exitCode": code,
            "reason": reason,
            "startedAt": c.started_stamp,
            "finishedAt": self.ctx.stamp(),
            "containerID": c.container_id,
        }
        self._exited(pod, c, terminated, run_seconds=self.ctx.engine.now() - c.started_at)

    def _exited(
        self,
        pod: PodRun,
        c: ContainerRun,
        terminated: dict[str, object],
        run_seconds: float,
        waiting: tuple[str, str] | None = None,
    ) -> None:
        c.token += 1
        c.exits += 1
        c.ready = False
        c.started = False
        if c.init and terminated["exitCode"] == 0:
            c.state, c.done = {"terminated": terminated}, True
            self.host.write(pod)
            self.host.container_finished(pod, c)
            return
        if waiting is not None:
            c.last_state = {"terminated": terminated}
            c.state = {"waiting": {"reason": waiting[0], "message": waiting[1]}}
        else:
            c.state = {"terminated": terminated}
        self.host.write(pod)
        if c.backoff_seconds == 0 or run_seconds > 2 * MAX_BACKOFF_SECONDS:
            c.backoff_seconds = INITIAL_BACKOFF_SECONDS
            self.later(pod, c, SYNC_SECONDS, lambda: self._restart(pod, c, terminated))
            return
        wait = c.backoff_seconds
        c.backoff_seconds = min(wait * 2, MAX_BACKOFF_SECONDS)
        self.later(pod, c, SYNC_SECONDS, lambda: self._crash_loop(pod, c, terminated, wait))

    def _crash_loop(
        self, pod: PodRun, c: ContainerRun, terminated: dict[str, object], wait: float
    ) -> None:
        identity = f"{pod.key[1]}_{pod.key[0]}({pod.uid})"
        c.last_state = {"terminated": terminated}
        self._wait(
            pod,
            c,
            "CrashLoopBackOff",
            f"back-off {go_duration(wait)} restarting failed container={c.name} pod={identity}",
        )
        self.host.event(
            pod,
            c,
            "BackOff",
            f"Back-off restarting failed container {c.name} in pod {identity}",
            warning=True,
        )
        self.later(pod, c, wait - SYNC_SECONDS, lambda: self._restart(pod, c, terminated))

    def _restart(self, pod: PodRun, c: ContainerRun, terminated: dict[str, object]) -> None:
        c.restart_count += 1
        c.last_state = {"terminated": terminated}
        c.token += 1
        self.ctx.state.restart_log(pod.key[0], pod.key[1], c.name)
        self.start(pod, c)
