"""Message and log-line patterns that decide a family (the real forms, k8s-failures.md §2–§9).

Wording changes between Kubernetes versions, so everything is a case-insensitive regex over a
substring, never an equality. Order matters where two patterns can match one text: the more
specific cause comes first.
"""

from __future__ import annotations

import re

from deploy_assistant.analysis import families as fam


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


IMAGE_WAITING = {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"}
IMAGE_WAITING.add("RegistryUnavailable")
START_REASONS = {"RunContainerError", "StartError", "ContainerCannotRun", "CreateContainerError"}

IMAGE_MESSAGE: tuple[tuple[str, re.Pattern[str]], ...] = (
    (fam.INVALID_IMAGE_NAME, _rx(r"invalid reference format|couldn't parse image reference")),
    (
        fam.REGISTRY_AUTH,
        _rx(
            r"401 Unauthorized|403 Forbidden|unauthorized|authentication required|"
            r"no basic auth credentials|failed to fetch anonymous token|"
            r"Unable to retrieve some image pull secrets"
        ),
    ),
    (
        fam.IMAGE_NOT_FOUND,
        _rx(
            r"manifest unknown|not found|repository does not exist|pull access denied|"
            r"not present with pull policy of Never"
        ),
    ),
    (
        fam.REGISTRY_UNREACHABLE,
        _rx(r"i/o timeout|no such host|connection refused|registry is unavailable|TLS handshake"),
    ),
)

CONFIG_MESSAGE: tuple[tuple[str, re.Pattern[str]], ...] = (
    (fam.RUN_AS_NON_ROOT, _rx(r"runAsNonRoot|non-root policy|non-numeric user")),
    (
        fam.MISSING_CONFIG_REF,
        _rx(r"(configmap|secret) \"[^\"]+\" not found|couldn't find key \S+ in (ConfigMap|Secret)"),
    ),
)

START_MESSAGE: tuple[tuple[str, re.Pattern[str]], ...] = (
    (fam.ARCH_MISMATCH, _rx(r"exec format error")),
    (
        fam.BAD_COMMAND,
        _rx(
            r"executable file not found|no such file or directory|no command specified|"
            r"permission denied|exec: \"\""
        ),
    ),
)

CREATE_REFUSAL: tuple[tuple[str, re.Pattern[str]], ...] = (
    (fam.QUOTA_EXCEEDED, _rx(r"exceeded quota|failed quota")),
    (fam.PODSECURITY_VIOLATION, _rx(r"violates PodSecurity")),
    (
        fam.ADMISSION_WEBHOOK,
        _rx(r"admission webhook|failed calling webhook|Timeout: request did not complete"),
    ),
    (fam.CREATE_FORBIDDEN, _rx(r"forbidden|Error creating")),
)

SCHEDULING: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        fam.PVC_PENDING,
        _rx(
            r"unbound immediate PersistentVolumeClaims|persistentvolumeclaim \"[^\"]+\" "
            r"(not found|bound to non-existent|is being deleted)|volume node affinity conflict|"
            r"didn't find available persistent volumes"
        ),
    ),
    (fam.INSUFFICIENT_RESOURCES, _rx(r"Insufficient [\w./-]+|Too many pods")),
    (
        fam.TAINTS_AFFINITY,
        _rx(
            r"taint|didn't match Pod's node affinity|didn't match node selector|"
            r"anti-affinity|pod affinity|were unschedulable|topology spread|MatchNodeSelector"
        ),
    ),
)

VOLUME: tuple[tuple[str, re.Pattern[str]], ...] = (
    (fam.VOLUME_ATTACH_CONFLICT, _rx(r"Multi-Attach error|already used by pod|already attached")),
    (
        fam.MISSING_VOLUME_SOURCE,
        _rx(r"MountVolume.SetUp failed|references non-existent config key"),
    ),
)

SANDBOX = _rx(r"FailedCreatePodSandBox|Failed to create pod sandbox|NetworkNotReady|cni")

# Log lines: the first family in this order that matches a non-warning line wins.
LOG_LINE: tuple[tuple[str, re.Pattern[str]], ...] = (
    (fam.ARCH_MISMATCH, _rx(r"exec format error")),
    (fam.PORT_IN_USE, _rx(r"address already in use|EADDRINUSE|port \d+ is already in use")),
    (
        fam.FS_PERMISSION_DENIED,
        _rx(r"read-only file system|EROFS|permission denied|EACCES|operation not permitted"),
    ),
    (
        fam.MISSING_ENV_CONFIG,
        _rx(
            r"is a required (variable|setting)|required (env|environment variable|variable|key|"
            r"setting|config)|environment variable \S+ (is )?not set|KeyError: '[A-Z0-9_]+'|"
            r"Could not resolve placeholder|invalid configuration|must be set|is not set|missing "
            r"(required )?(env|environment|config)"
        ),
    ),
    (
        fam.DEPENDENCY_UNREACHABLE,
        _rx(
            r"connection refused|ECONNREFUSED|no such host|Name or service not known|"
            r"Temporary failure in name resolution|could not translate host name|i/o timeout|"
            r"\bENOTFOUND\b|Connection timed out|Unknown MySQL server host|Could not connect to"
        ),
    ),
    (
        fam.BAD_COMMAND,
        _rx(
            r"exec \S+: no such file or directory|command not found|executable file not found|"
            r"^/bin/(ba)?sh: (\d+: )?\S+: not found"
        ),
    ),
    (
        fam.APP_CRASH_STARTUP,
        _rx(
            r"Traceback \(most recent call last\)|Exception in thread|^panic:|Error:|Exception|"
            r"FATAL|fatal error|Unhandled|uncaught|Segmentation fault|\bERROR\b"
        ),
    ),
)

NOT_FATAL = _rx(r"\b(WARN|WARNING|INFO|DEBUG|TRACE)\b|level=(warn|info|debug)|^[WID]\d{4} ")

WAITING = _rx(r"waiting for|wait-for|not (ready|available) yet|retrying in|still waiting")

PROBE_KILL = _rx(r"failed (liveness|startup) probe")
PROBE_FAILED = _rx(r"(Liveness|Readiness|Startup) probe (failed|errored)")
PROBE_WRONG_PATH = _rx(r"statuscode: 40[45]|can't open|No such file|executable file not found")
PROBE_CONN = _rx(r"connect: connection refused|connection refused")
PROBE_PORT = re.compile(r":(\d{2,5})(/|\b)")
LISTENING = _rx(r"(listening|serving|started|running|bound)\b[^\n]*?(?:port |:)(\d{2,5})\b")


def first_match(table: tuple[tuple[str, re.Pattern[str]], ...], text: str) -> str | None:
    """The first family whose pattern occurs in `text`."""
    for family, pattern in table:
        if pattern.search(text):
            return family
    return None


def log_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def decisive_log_line(text: str) -> tuple[str, str] | None:
    """(family, quoted line) for the log's decisive error; warnings and info lines never decide.

    The most specific family wins; among lines of that family the last one, which is the error
    the process died on rather than an earlier symptom.
    """
    lines = [line for line in log_lines(text) if not NOT_FATAL.search(line)]
    for family, pattern in LOG_LINE:
        hits = [line for line in lines if pattern.search(line)]
        if hits:
            return family, hits[-1][:400]
    return None
