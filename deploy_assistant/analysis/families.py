"""Root-cause families: the fixed vocabulary of `Classification.family` (k8s-failures.md §9).

A family is a slug that names the cause, finer than `FailureClass`, which names the symptom. Slugs
are added when reality needs them and never renamed: stored analyses and golden cases refer to them.
"""

from __future__ import annotations

from deploy_assistant.models import FailureClass

IMAGE_NOT_FOUND = "image_not_found"
REGISTRY_AUTH = "registry_auth"
REGISTRY_UNREACHABLE = "registry_unreachable"
INVALID_IMAGE_NAME = "invalid_image_name"
ARCH_MISMATCH = "arch_mismatch"
BAD_COMMAND = "bad_command"
MISSING_CONFIG_REF = "missing_config_ref"
MISSING_VOLUME_SOURCE = "missing_volume_source"
VOLUME_ATTACH_CONFLICT = "volume_attach_conflict"
PVC_PENDING = "pvc_pending"
APP_CRASH_STARTUP = "app_crash_startup"
MISSING_ENV_CONFIG = "missing_env_config"
PROCESS_EXITS_NORMALLY = "process_exits_normally"
DEPENDENCY_UNREACHABLE = "dependency_unreachable"
OOM_KILLED = "oom_killed"
LIVENESS_KILLS_SLOW_START = "liveness_kills_slow_start"
PROBE_MISCONFIG = "probe_misconfig"
INSUFFICIENT_RESOURCES = "insufficient_resources"
TAINTS_AFFINITY = "taints_affinity"
QUOTA_EXCEEDED = "quota_exceeded"
ADMISSION_WEBHOOK = "admission_webhook"
PODSECURITY_VIOLATION = "podsecurity_violation"
CREATE_FORBIDDEN = "create_forbidden"
RUN_AS_NON_ROOT = "run_as_non_root"
FS_PERMISSION_DENIED = "fs_permission_denied"
PORT_IN_USE = "port_in_use"
INIT_CONTAINER_FAILURE = "init_container_failure"
SANDBOX_NETWORK_FAILURE = "sandbox_network_failure"
PROGRESS_DEADLINE = "progress_deadline"
INSUFFICIENT_EVIDENCE = "insufficient_evidence"

FAMILY_CLASS: dict[str, FailureClass] = {
    IMAGE_NOT_FOUND: FailureClass.IMAGE_PULL,
    REGISTRY_AUTH: FailureClass.IMAGE_PULL,
    REGISTRY_UNREACHABLE: FailureClass.IMAGE_PULL,
    INVALID_IMAGE_NAME: FailureClass.IMAGE_PULL,
    ARCH_MISMATCH: FailureClass.CRASH_LOOP,
    BAD_COMMAND: FailureClass.CRASH_LOOP,
    MISSING_CONFIG_REF: FailureClass.CONFIG_ERROR,
    MISSING_VOLUME_SOURCE: FailureClass.VOLUME_MOUNT,
    VOLUME_ATTACH_CONFLICT: FailureClass.VOLUME_MOUNT,
    PVC_PENDING: FailureClass.UNSCHEDULABLE,
    APP_CRASH_STARTUP: FailureClass.CRASH_LOOP,
    MISSING_ENV_CONFIG: FailureClass.CRASH_LOOP,
    PROCESS_EXITS_NORMALLY: FailureClass.CRASH_LOOP,
    DEPENDENCY_UNREACHABLE: FailureClass.CRASH_LOOP,
    OOM_KILLED: FailureClass.OOM_KILLED,
    LIVENESS_KILLS_SLOW_START: FailureClass.PROBE_FAILURE,
    PROBE_MISCONFIG: FailureClass.PROBE_FAILURE,
    INSUFFICIENT_RESOURCES: FailureClass.UNSCHEDULABLE,
    TAINTS_AFFINITY: FailureClass.UNSCHEDULABLE,
    QUOTA_EXCEEDED: FailureClass.QUOTA_OR_ADMISSION,
    ADMISSION_WEBHOOK: FailureClass.QUOTA_OR_ADMISSION,
    PODSECURITY_VIOLATION: FailureClass.QUOTA_OR_ADMISSION,
    CREATE_FORBIDDEN: FailureClass.QUOTA_OR_ADMISSION,
    RUN_AS_NON_ROOT: FailureClass.CONFIG_ERROR,
    FS_PERMISSION_DENIED: FailureClass.CRASH_LOOP,
    PORT_IN_USE: FailureClass.CRASH_LOOP,
    INIT_CONTAINER_FAILURE: FailureClass.INIT_FAILURE,
    SANDBOX_NETWORK_FAILURE: FailureClass.OTHER,
    PROGRESS_DEADLINE: FailureClass.PROGRESS_DEADLINE,
    INSUFFICIENT_EVIDENCE: FailureClass.OTHER,
}

FAMILIES: tuple[str, ...] = tuple(FAMILY_CLASS)
"""Every known slug, in the order of k8s-failures.md §9 (extras after their relatives)."""


def failure_class_of(family: str) -> FailureClass:
    """The symptom class a family belongs to; unknown slugs are `other`."""
    return FAMILY_CLASS.get(family, FailureClass.OTHER)
