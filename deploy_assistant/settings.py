"""Settings: the only module that reads the environment.

Every setting has a `DA_` variable; nested groups use a double underscore
(`DA_POLICY__CRASH_WINDOW_SECONDS=20`, `DA_SLACK__TOKEN=xoxb-…`). Secrets are `SecretStr` and
never printed. GitLab's predefined `CI_*` variables are read by `CiEnvironment`, with no prefix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from deploy_assistant.errors import ConfigError


class KubeSettings(BaseModel):
    context: str | None = None
    """kube context name; None uses the current context, or the in-cluster service account."""
    kubeconfig: Path | None = None
    api_url: str | None = None
    """Talk to this API URL directly with no credentials (the simulator, `kubectl proxy`)."""
    request_timeout_seconds: float = 30.0
    poll_interval_seconds: float | None = None
    """Poll instead of watching (for networks that cut long watches, e.g. the GitLab agent)."""
    safety_get_seconds: float = 30.0
    retry_budget_seconds: float = 120.0
    """How long the API may stay unreachable before the verdict is UNKNOWN."""
    watch_timeout_seconds: float = 300.0


class PolicySettings(BaseModel):
    """Early-failure windows and thresholds; defaults are the rollout-status study's (§c.4)."""

    timeout_seconds: float = 600.0
    deadline_grace_seconds: float = 30.0
    tick_seconds: float = 5.0
    min_observations: int = 2
    crash_restarts: int = 2
    crash_window_seconds: float = 10.0
    crash_recent_exit_seconds: float = 60.0
    oom_window_seconds: float = 10.0
    probe_kill_restarts: int = 3
    probe_kill_window_seconds: float = 10.0
    invalid_image_window_seconds: float = 0.0
    image_not_found_window_seconds: float = 20.0
    image_auth_window_seconds: float = 60.0
    image_stuck_seconds: float = 180.0
    config_error_window_seconds: float = 45.0
    start_error_window_seconds: float = 10.0
    admission_window_seconds: float = 15.0
    webhook_unavailable_window_seconds: float = 60.0
    quota_window_seconds: float = 60.0
    unschedulable_window_seconds: float = 90.0
    unschedulable_not_scale_up_window_seconds: float = 60.0
    unschedulable_pvc_window_seconds: float = 180.0
    scale_up_max_seconds: float = 900.0
    volume_mount_window_seconds: float = 120.0
    volume_mount_min_events: int = 3
    gate_warning_seconds: float = 60.0


class ReduceSettings(BaseModel):
    budget_tokens: int = 3000
    log_bytes_per_container: int = 256 * 1024
    log_tail_lines: int = 500
    old_pod_sample: int = 2


class LLMSettings(BaseModel):
    model: str | None = None
    """`provider:model` for init_chat_model, e.g. `openai:gpt-4.1-mini`; None means rules only."""
    base_url: str | None = None
    """An OpenAI-compatible endpoint (vLLM, LiteLLM, llama.cpp server)."""
    api_key: SecretStr | None = None
    timeout_seconds: float = 60.0
    max_output_tokens: int = 1024
    temperature: float = 0.0
    cache_dir: Path | None = None


class SlackSettings(BaseModel):
    token: SecretStr | None = None
    channel: str | None = None
    """Explicit channel; wins over team mapping, namespace annotation and default."""
    default_channel: str | None = None
    team_channels: dict[str, str] = Field(default_factory=dict)
    base_url: str = "https://slack.com/api/"
    post_success: bool = False
    max_retries: int = 3


class GitLabSettings(BaseModel):
    url: str | None = None
    """Defaults to CI_SERVER_URL inside a job."""
    token: SecretStr | None = None
    """A project or group access token with `api` scope (CI_JOB_TOKEN cannot write notes)."""
    max_retries: int = 3


class StoreSettings(BaseModel):
    url: str = Field(
        default_factory=lambda: (
            "sqlite:///"
            + str(Path(platformdirs.user_data_dir("deploy-assistant")) / "deploy-assistant.db")
        )
    )


class IngestSettings(BaseModel):
    url: str | None = None
    """Where `da-ci record` posts the Git context (the watcher's ingest API)."""
    token: SecretStr | None = None
    """The bearer token `da-ci record` sends."""
    tokens: list[SecretStr] = Field(default_factory=list)
    """Tokens the ingest API accepts (several, for rotation)."""
    host: str = "0.0.0.0"  # noqa: S104 - the watcher's API serves its Service inside the cluster
    port: int = 8080
    max_body_bytes: int = 64 * 1024


class WatcherSettings(BaseModel):
    namespaces: list[str] = Field(default_factory=list)
    exclude_namespaces: list[str] = Field(default_factory=lambda: ["kube-system"])
    label_selector: str | None = None
    roles: list[str] = Field(default_factory=lambda: ["watch", "ingest", "analyze", "notify"])
    pipeline_grace_seconds: float = 900.0
    loop_interval_seconds: float = 5.0


UNEXPANDED = re.compile(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$")
"""A GitLab variable reference the runner left as is because the variable is not defined."""


class UnexpandedVariablesDropped(PydanticBaseSettingsSource):
    """Treat `$DEPLOY_ASSISTANT_SLACK_BOT_TOKEN` left unexpanded by the runner as unset."""

    def __init__(self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self.inner = inner

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        return _drop_unexpanded(self.inner())


def _drop_unexpanded(values: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            kept[key] = _drop_unexpanded(value)
        elif not (isinstance(value, str) and UNEXPANDED.match(value.strip())):
            kept[key] = value
    return kept


class Settings(BaseSettings):
    """All of Deploy Assistant's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="DA_",
        env_nested_delimiter="__",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - no .env files are read
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - nor secret dirs
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, UnexpandedVariablesDropped(settings_cls, env_settings))

    kube: KubeSettings = Field(default_factory=KubeSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    reduce: ReduceSettings = Field(default_factory=ReduceSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    gitlab: GitLabSettings = Field(default_factory=GitLabSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    watcher: WatcherSettings = Field(default_factory=WatcherSettings)
    cluster: str = "default"
    """A name for the cluster, shown in messages and used in the store's unique key."""
    namespace: str | None = None
    """Namespace of the workloads when the command line names none (`-n`)."""
    workloads: list[str] = Field(default_factory=list)
    """Deployments to wait on when the command line names none (`DA_WORKLOADS='["api","web"]'`)."""
    environment: str | None = None
    """The GitLab environment name; defaults to CI_ENVIRONMENT_NAME inside a job."""
    report_dir: Path = Path("deploy-assistant-report")
    fail_on_rollout_failure: bool = True
    """False: a failed rollout exits 3 (shown as a warning) instead of 1."""
    dry_run: bool = False
    """Analyse and write the report, but post nothing."""
    mr_comment: Literal["on_failure", "always", "never"] = "on_failure"


class CiEnvironment(BaseSettings):
    """GitLab's predefined CI/CD variables that Deploy Assistant reads (no prefix)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=True)

    CI: str | None = None
    CI_PROJECT_PATH: str | None = None
    CI_PROJECT_ID: str | None = None
    CI_PROJECT_URL: str | None = None
    CI_SERVER_URL: str | None = None
    CI_COMMIT_SHA: str | None = None
    CI_COMMIT_REF_NAME: str | None = None
    CI_COMMIT_AUTHOR: str | None = None
    CI_PIPELINE_URL: str | None = None
    CI_PIPELINE_SOURCE: str | None = None
    CI_JOB_URL: str | None = None
    CI_JOB_TOKEN: SecretStr | None = None
    CI_ENVIRONMENT_NAME: str | None = None
    CI_MERGE_REQUEST_IID: str | None = None
    CI_MERGE_REQUEST_PROJECT_ID: str | None = None
    CI_MERGE_REQUEST_PROJECT_URL: str | None = None
    CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: str | None = None
    CI_MERGE_REQUEST_EVENT_TYPE: str | None = None
    CI_OPEN_MERGE_REQUESTS: str | None = None
    GITLAB_USER_LOGIN: str | None = None


def load_settings() -> Settings:
    """Settings from the environment.

    `DA_INGEST_URL` and `DA_INGEST_TOKEN` are accepted as flat spellings of `DA_INGEST__URL` and
    `DA_INGEST__TOKEN`; the nested name wins when both are set.
    """
    overrides: dict[str, object] = {}
    env = os.environ  # noqa: TID251 - this module is where the environment is read
    if env.get("DA_INGEST_URL") and not env.get("DA_INGEST__URL"):
        overrides["url"] = env["DA_INGEST_URL"]
    if env.get("DA_INGEST_TOKEN") and not env.get("DA_INGEST__TOKEN"):
        overrides["token"] = SecretStr(env["DA_INGEST_TOKEN"])
    try:
        settings = Settings()
    except (ValidationError, SettingsError) as exc:
        raise ConfigError(_settings_problem(exc)) from None
    if overrides:
        ingest = settings.ingest.model_copy(update=overrides)
        settings = settings.model_copy(update={"ingest": ingest})
    return settings


def load_ci_environment() -> CiEnvironment:
    return CiEnvironment()


def _settings_problem(exc: ValidationError | SettingsError) -> str:
    """One sentence naming the variable, never its value (it may be a secret)."""
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        name = "DA_" + "__".join(str(part) for part in first["loc"]).upper()
        return f"{name} is not valid: {first['msg']}."
    return f"A DA_ setting could not be read: {str(exc).splitlines()[0]}."
