"""Classifiers for the free text Kubernetes puts in waiting messages, conditions and events.

The wording differs between containerd, CRI-O, Docker and registry vendors, so every classifier
falls back to the harmless class (transient / other) on text it does not know: an unknown
message must never produce an early FAILED. The corpus in the tests pins the known forms.
"""

from __future__ import annotations

import re
from enum import StrEnum

from deploy_assistant.models import ConfigErrorClass, ImagePullClass

# "pull access denied, repository does not exist or may require authorization" is ambiguous
# by design (Docker Hub hides private repos); like krane and kubedog we call it permanent.
_PERMANENT = re.compile(
    r"manifest unknown|\bnot found\b|notfound|name unknown|repository does not exist|"
    r"pull access denied|invalid reference format|no match for platform|no matching manifest|"
    r"couldn't parse image reference",
    re.IGNORECASE,
)
_CERTAIN_PERMANENT = re.compile(r"manifest unknown|repository does not exist", re.IGNORECASE)
_AUTH = re.compile(
    r"unauthorized|authentication required|\b401\b|\b403\b|forbidden|\bdenied\b|"
    r"no basic auth credentials|authorization failed|failed to fetch oauth token|"
    r"incorrect username or password",
    re.IGNORECASE,
)
_TRANSIENT = re.compile(
    r"toomanyrequests|too many requests|\b50[0-4] (?:internal|bad|service|gateway)|i/o timeout|"
    r"tls handshake timeout|connection reset|connection refused|context deadline exceeded|"
    r"\beof\b|no such host|timeout|temporary failure|service unavailable|bad gateway|"
    r"rate limit|registry is unavailable|network is unreachable",
    re.IGNORECASE,
)


_BACKOFF = re.compile(r'back-off pulling image "[^"]*"(?::\s*(.*))?', re.IGNORECASE | re.DOTALL)


def classify_image_pull_message(message: str | None) -> ImagePullClass:
    """permanent (bad name/tag), auth (credentials), transient (network/registry), or unknown.

    Outage markers win over "not found" (a 503 page may say anything), except for the two
    registry answers that only a missing image produces. Unknown text is treated like
    transient by the policy; the kubelet's bare "Back-off pulling image" carries no class.
    """
    text = (message or "").strip()
    backoff = _BACKOFF.match(text)
    if backoff:
        # Since 1.32 the back-off message carries the last pull error after the image name.
        text = (backoff.group(1) or "").strip()
    if not text:
        return ImagePullClass.UNKNOWN
    if _TRANSIENT.search(text) and not _CERTAIN_PERMANENT.search(text):
        return ImagePullClass.TRANSIENT
    if _PERMANENT.search(text):
        return ImagePullClass.PERMANENT
    if _AUTH.search(text):
        return ImagePullClass.AUTH
    return ImagePullClass.UNKNOWN


def classify_config_error_message(message: str | None) -> ConfigErrorClass:
    """Which object a CreateContainerConfigError is about (krane ignores the cache-sync form)."""
    text = (message or "").lower()
    if "failed to sync" in text and "cache" in text:
        return ConfigErrorClass.CACHE_SYNC
    if "couldn't find key" in text or "non-existent config key" in text:
        return ConfigErrorClass.MISSING_KEY
    if re.search(r'configmaps? "[^"]*" not found', text):
        return ConfigErrorClass.MISSING_CONFIGMAP
    if re.search(r'secrets? "[^"]*" not found', text):
        return ConfigErrorClass.MISSING_SECRET
    if "runasnonroot" in text or "non-root" in text:
        return ConfigErrorClass.RUN_AS_NON_ROOT
    return ConfigErrorClass.OTHER


_DETERMINISTIC_START = re.compile(
    r"executable file not found|exec format error|permission denied|no such file or directory|"
    r"no command specified|not a directory",
    re.IGNORECASE,
)


def is_deterministic_start_error(message: str | None) -> bool:
    """A Create/RunContainerError the runtime will hit again on every retry."""
    return bool(_DETERMINISTIC_START.search(message or ""))


class CreateRefusal(StrEnum):
    """Why the ReplicaSet controller could not create pods (ReplicaFailure / FailedCreate)."""

    ADMISSION = "admission"
    QUOTA = "quota"
    WEBHOOK_UNAVAILABLE = "webhook_unavailable"
    OTHER = "other"


def classify_create_refusal(message: str | None) -> CreateRefusal:
    text = (message or "").lower()
    if "exceeded quota" in text or "failed quota" in text:
        return CreateRefusal.QUOTA
    if "failed calling webhook" in text or "request did not complete within" in text:
        return CreateRefusal.WEBHOOK_UNAVAILABLE
    if re.search(r"violates podsecurity|admission webhook .* denied|is invalid|forbidden", text):
        return CreateRefusal.ADMISSION
    return CreateRefusal.OTHER
