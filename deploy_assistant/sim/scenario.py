"""Scenario files: a cluster, its history, the apply under test, image behaviours, expectations.

A scenario is YAML in `deploy_assistant/sim/scenarios/` (see `list_scenarios()`). Times are virtual
seconds relative to the first apply under test (t=0); negative times are history, simulated before
the tool starts. Image behaviours say what the runtime and the application do; the controllers,
scheduler and kubelet models turn them into the objects, events and logs a real cluster shows.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

Verdict = Literal["SUCCEEDED", "FAILED", "TIMEOUT", "SUPERSEDED", "PAUSED"]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PullBehaviour(Spec):
    after: float = 1.0
    """Seconds one pull takes."""
    error: Literal["not_found", "unauthorized", "transient", "unreachable"] | None = None
    error_until: float | None = Field(
        default=None, validation_alias=AliasChoices("error_until", "transient_for")
    )
    """Pulls fail until this scenario time, then succeed (None: fail for ever)."""
    invalid: bool = False
    size_bytes: int = 48_213_990


class ProbeBehaviour(Spec):
    fails: bool = False
    fails_until: float | None = None
    """Seconds after the container starts before the probe passes."""
    output: str | None = None

    def failing(self, seconds_since_start: float) -> bool:
        if self.fails:
            return True
        return self.fails_until is not None and seconds_since_start < self.fails_until


class RunBehaviour(Spec):
    exit_after: float | None = Field(
        default=None, validation_alias=AliasChoices("exit_after", "crash_after")
    )
    exit_code: int = 1
    oom_after: float | None = None
    crash_times: int | None = None
    """Exits this many times, then runs for good (None: every run exits)."""
    crash_on_nodes: list[str] | None = None
    """Exits only on these nodes (a bad node); healthy elsewhere."""
    start_error: Literal["exec_format", "not_found", "permission"] | None = None
    logs: list[str] = []
    """Written at start; `{time}`, `{pod}` and `{ip}` are replaced with the current values."""
    exit_logs: list[str] = []
    """Written when the process exits or is killed (stack traces, last words)."""
    ready_after: float = 0.0
    liveness: ProbeBehaviour = ProbeBehaviour()
    readiness: ProbeBehaviour = ProbeBehaviour()
    startup: ProbeBehaviour = ProbeBehaviour()
    stop_seconds: float = 1.0
    """Seconds the process takes to exit after SIGTERM (capped by the grace period)."""


class ImageBehaviour(Spec):
    pull: PullBehaviour = PullBehaviour()
    run: RunBehaviour = RunBehaviour()
    platforms: list[str] | None = None
    """Architectures the image was built for; other nodes get `exec format error`."""
    containers: dict[str, RunBehaviour] = {}
    """Per-container-name overrides of `run` (an init container using the app image)."""

    def run_for(self, container: str) -> RunBehaviour:
        return self.containers.get(container, self.run)


class NodeSpec(Spec):
    name: str
    count: int = 1
    cpu: str = "4"
    memory: str = "16Gi"
    pods: int = 110
    arch: Literal["amd64", "arm64"] = "amd64"
    labels: dict[str, str] = {}
    taints: list[dict[str, str]] = []
    unschedulable: bool = False

    def names(self) -> list[str]:
        if self.count == 1:
            return [self.name]
        return [f"{self.name}-{i}" for i in range(1, self.count + 1)]


class AutoscalerSpec(Spec):
    group: str = "pool-a"
    max_nodes: int = 10
    provision_seconds: float = 120.0
    node: NodeSpec


class WebhookSpec(Spec):
    name: str
    message: str = "request denied by policy"
    reject_images: str | None = None
    """A regex; pods with a matching image are denied."""
    require_labels: list[str] = []
    unavailable: bool = False
    """The webhook backend is down (failurePolicy Fail): every pod is refused."""


class QuotaSpec(Spec):
    namespace: str
    name: str = "compute-quota"
    hard: dict[str, str]


class NamespaceSpec(Spec):
    name: str
    labels: dict[str, str] = {}


class ClusterSpec(Spec):
    nodes: list[NodeSpec] = [NodeSpec(name="node-a"), NodeSpec(name="node-b")]
    autoscaler: AutoscalerSpec | None = None
    namespaces: list[NamespaceSpec] = []
    quotas: list[QuotaSpec] = []
    webhooks: list[WebhookSpec] = []


class Apply(Spec):
    at: float = 0.0
    manifest: dict[str, Any]


class Action(Spec):
    at: float
    do: Literal[
        "create", "delete", "delete_deployment", "scale", "rollback", "pause", "resume", "bind_pvc"
    ]
    namespace: str = "default"
    name: str = ""
    replicas: int | None = None
    revision: int | None = None
    object: dict[str, Any] | None = None
    plural: str | None = None


class EndState(Spec):
    deployment: dict[str, int] = {}
    """Status counters of the first target (missing means 0, as the API omits zeros)."""
    conditions: dict[str, str] = {}
    """Condition type → reason on the first target."""
    pods: dict[str, Any] = {}
    """At least one pod of the target's newest ReplicaSet matches all of these."""
    events: list[str] = []
    """Event reasons that must have been recorded."""
    deleted: bool = False
    paused: bool = False


class Expect(Spec):
    verdict: Verdict
    rule: str | None = None
    failure_class: str | None = None
    family: str | None = None
    evidence: list[str] = []
    end_state: EndState = EndState()


class Scenario(Spec):
    name: str
    description: str
    cluster: ClusterSpec = ClusterSpec()
    objects: list[dict[str, Any]] = []
    applies: list[Apply]
    images: dict[str, ImageBehaviour] = {}
    actions: list[Action] = []
    expect: Expect
    targets_: list[tuple[str, str]] = Field(default=[], alias="targets")
    duration_seconds: float = 300.0

    @property
    def targets(self) -> list[tuple[str, str]]:
        """(namespace, deployment) pairs the tool should wait on: the applies at t=0 by default."""
        if self.targets_:
            return list(self.targets_)
        return [_manifest_target(a.manifest) for a in self.applies if a.at == 0]

    @property
    def start_seconds(self) -> float:
        """Where the simulated history starts (the earliest apply or action, minus a margin)."""
        times = [a.at for a in self.applies] + [a.at for a in self.actions]
        return min([0.0, *times]) - 1.0

    def image(self, ref: str) -> ImageBehaviour:
        return self.images.get(ref, ImageBehaviour())


def _manifest_target(manifest: dict[str, Any]) -> tuple[str, str]:
    meta = manifest.get("metadata") or {}
    return (str(meta.get("namespace") or "default"), str(meta.get("name")))


def _bundled() -> Path:
    return Path(str(resources.files("deploy_assistant.sim") / "scenarios"))


def list_scenarios() -> list[str]:
    """Names of the bundled scenarios (file stems), sorted."""
    return sorted(path.stem for path in _bundled().glob("*.yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A bundled scenario by name, or any scenario file by path. Invalid files raise ValueError."""
    path = Path(name_or_path)
    if not path.suffix:
        path = _bundled() / f"{name_or_path}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"No scenario named {str(name_or_path)!r}.") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"Scenario {path.name} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"Scenario {path.name} must be a mapping.")
    data.setdefault("name", path.stem)
    return Scenario.model_validate(data)
