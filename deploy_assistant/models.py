"""Domain models: the nouns every stage speaks.

Models we produce are frozen and reject unknown fields; each stage returns a new model and never
mutates its input. Kubernetes objects travel as plain JSON dicts in the API's own shape (camelCase,
exactly what `kubectl get -o json` prints), so a snapshot file, a watch event and a test fixture
are the same thing. Raw client objects never leave the kube adapter.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

KubeObject = dict[str, Any]
"""A Kubernetes object as the API returns it in JSON."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- Git side (seed §12) -------------------------------------------------------------------------


class GitContext(Frozen):
    """Where a rollout came from. The seed's four fields plus what GitLab tells a CI job."""

    project: str
    commit: str
    pipeline_url: str | None = None
    mr_url: str | None = None
    mr_iid: int | None = None
    job_url: str | None = None
    ref: str | None = None
    author: str | None = None
    environment: str | None = None


# --- Rollout verdicts ---------------------------------------------------------------------------


class RolloutStatus(StrEnum):
    """Lifecycle of one rollout. The last five are final verdicts; a verdict is never revised."""

    PENDING = "PENDING"
    PROGRESSING = "PROGRESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    SUPERSEDED = "SUPERSEDED"
    PAUSED = "PAUSED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_final(self) -> bool:
        return self not in (RolloutStatus.PENDING, RolloutStatus.PROGRESSING)


class DeploymentNotifyRequest(Frozen):
    """Body of `POST /deployments` on the watcher's ingest API (seed §12.2)."""

    cluster: str = Field(min_length=1, max_length=253)
    namespace: str = Field(min_length=1, max_length=253)
    deployment: str = Field(min_length=1, max_length=253)
    git: GitContext
    team: str | None = Field(default=None, max_length=253)
    slack_channel: str | None = Field(default=None, max_length=253)
    verdict: RolloutStatus | None = None
    """Set when the pipeline reports the verdict it reached (it then owns the notification)."""


class FailureRule(StrEnum):
    """Why a rollout was declared FAILED (rollout-status study §c.4, R1–R12, plus the deadline)."""

    CRASH_LOOP = "CRASH_LOOP"  # R1
    OOM_LOOP = "OOM_LOOP"  # R2
    PROBE_KILL = "PROBE_KILL"  # R3
    INVALID_IMAGE = "INVALID_IMAGE"  # R4
    IMAGE_NOT_FOUND = "IMAGE_NOT_FOUND"  # R5
    IMAGE_PULL_AUTH = "IMAGE_PULL_AUTH"  # R6
    IMAGE_PULL_STUCK = "IMAGE_PULL_STUCK"  # R7
    CONFIG_ERROR = "CONFIG_ERROR"  # R8
    START_ERROR = "START_ERROR"  # R9
    CREATE_REFUSED = "CREATE_REFUSED"  # R10
    UNSCHEDULABLE = "UNSCHEDULABLE"  # R11
    VOLUME_MOUNT = "VOLUME_MOUNT"  # R12
    PROGRESS_DEADLINE = "PROGRESS_DEADLINE"
    DELETED = "DELETED"


class Target(Frozen):
    namespace: str
    deployment: str


class Verdict(Frozen):
    """The outcome of waiting on one or more Deployments."""

    status: RolloutStatus
    rule: FailureRule | None = None
    message: str = ""
    target: Target | None = None
    observed_at: datetime | None = None
    pod: str | None = None
    container: str | None = None


# --- Pod signals (seed §11.2, extended) ----------------------------------------------------------


class ImagePullClass(StrEnum):
    PERMANENT = "permanent"
    AUTH = "auth"
    TRANSIENT = "transient"
    UNKNOWN = "unknown"


class ConfigErrorClass(StrEnum):
    MISSING_CONFIGMAP = "missing_configmap"
    MISSING_SECRET = "missing_secret"  # noqa: S105 - a class name, not a password
    MISSING_KEY = "missing_key"
    CACHE_SYNC = "cache_sync"
    RUN_AS_NON_ROOT = "run_as_non_root"
    OTHER = "other"


class ContainerSignals(Frozen):
    name: str
    init: bool = False
    ready: bool = False
    started: bool | None = None
    restarts: int = 0
    restarts_since_start: int = 0
    waiting_reason: str | None = None
    waiting_message: str | None = None
    terminated_reason: str | None = None
    terminated_exit_code: int | None = None
    last_terminated_reason: str | None = None
    last_exit_code: int | None = None
    last_finished_at: datetime | None = None
    image_pull_class: ImagePullClass | None = None
    config_error_class: ConfigErrorClass | None = None


class PodSignals(Frozen):
    name: str
    uid: str | None = None
    phase: str | None = None
    reason: str | None = None
    ready: bool = False
    terminating: bool = False
    scheduled: bool | None = None
    unschedulable_message: str | None = None
    nominated_node: str | None = None
    node: str | None = None
    containers: tuple[ContainerSignals, ...] = ()
    init_containers: tuple[ContainerSignals, ...] = ()


class PodFailureSignals(Frozen):
    """The seed's counters over the new ReplicaSet's pods, with the per-pod detail behind them."""

    crashloop_pods: int = 0
    image_pull_pods: int = 0
    pending_scheduling_pods: int = 0
    total_pods: int = 0
    pods: tuple[PodSignals, ...] = ()


# --- Failure context ------------------------------------------------------------------------------


class LogEntry(Frozen):
    pod: str
    container: str
    previous: bool = False
    init: bool = False
    text: str = ""
    truncated: bool = False


class FieldChange(Frozen):
    """One difference between the previous and the new pod template (`container/app.image`)."""

    field: str
    before: str | None = None
    after: str | None = None


class RawContext(BaseModel):
    """Everything collected about one rollout; written to disk it is a snapshot (SNAPSHOT.md).

    Not `extra="forbid"`: snapshots come from other versions and from hand-assembled files.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    format: Literal["deploy-assistant/snapshot@1"] = "deploy-assistant/snapshot@1"
    taken_at: datetime | None = None
    cluster: str | None = None
    target: Target
    verdict: Verdict | None = None
    git: GitContext | None = None
    deployment: KubeObject | None = None
    replicasets: tuple[KubeObject, ...] = ()
    pods: tuple[KubeObject, ...] = ()
    events: tuple[KubeObject, ...] = ()
    logs: tuple[LogEntry, ...] = ()
    nodes: tuple[KubeObject, ...] = ()
    rollout_diff: tuple[FieldChange, ...] = ()
    missing: tuple[str, ...] = ()
    """What could not be collected, in one sentence each ("logs of pod x: forbidden by RBAC")."""


class FailureClass(StrEnum):
    IMAGE_PULL = "image_pull"
    CRASH_LOOP = "crash_loop"
    OOM_KILLED = "oom_killed"
    CONFIG_ERROR = "config_error"
    UNSCHEDULABLE = "unschedulable"
    PROBE_FAILURE = "probe_failure"
    QUOTA_OR_ADMISSION = "quota_or_admission"
    VOLUME_MOUNT = "volume_mount"
    INIT_FAILURE = "init_failure"
    PROGRESS_DEADLINE = "progress_deadline"
    OTHER = "other"


class Classification(Frozen):
    failure_class: FailureClass
    family: str
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str = ""


class EventSummary(Frozen):
    object: str
    reason: str
    message: str
    type: str = "Normal"
    count: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None


class ContainerSummary(Frozen):
    name: str
    init: bool = False
    state: str = ""
    reason: str | None = None
    exit_code: int | None = None
    restarts: int = 0
    message: str | None = None


class PodSummary(Frozen):
    name: str
    new: bool = True
    phase: str | None = None
    node: str | None = None
    conditions: tuple[str, ...] = ()
    containers: tuple[ContainerSummary, ...] = ()


class LogTemplate(Frozen):
    template: str
    count: int
    first: str
    last: str


class LogExcerpt(Frozen):
    pod: str
    container: str
    previous: bool = False
    lines: tuple[str, ...] = ()
    templates: tuple[LogTemplate, ...] = ()
    total_lines: int = 0


class DroppedNote(Frozen):
    what: str
    why: str


class ReducedContext(Frozen):
    """What the analysis sees (the chains receive it as `context_json`, seed §13.3)."""

    target: Target
    verdict: Verdict | None = None
    git: GitContext | None = None
    classification: Classification | None = None
    deployment: dict[str, Any] = Field(default_factory=dict)
    rollout_diff: tuple[FieldChange, ...] = ()
    pods: tuple[PodSummary, ...] = ()
    events: tuple[EventSummary, ...] = ()
    logs: tuple[LogExcerpt, ...] = ()
    missing: tuple[str, ...] = ()
    dropped: tuple[DroppedNote, ...] = ()
    budget_tokens: int = 3000
    estimated_tokens: int = 0


# --- Analysis -----------------------------------------------------------------------------------


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class Evidence(Frozen):
    source: str
    """Where it was read: `event`, `log`, `status`, `rollout_diff`, `scheduler`…"""
    text: str
    object: str | None = None


class TokenUsage(Frozen):
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class Analysis(Frozen):
    """The product's answer, for a developer who does not know Kubernetes (seed §14.2, §15.1)."""

    summary: str
    likely_cause: str
    next_steps: tuple[str, ...] = ()
    technical_details: str = ""
    severity: Severity = Severity.HIGH
    failure_class: FailureClass = FailureClass.OTHER
    family: str = "insufficient_evidence"
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    evidence: tuple[Evidence, ...] = ()
    source: Literal["rules", "llm"] = "rules"
    fallback_reason: str | None = None
    model: str | None = None
    usage: TokenUsage = TokenUsage()
