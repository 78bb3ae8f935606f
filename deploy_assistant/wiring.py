"""Builds adapters from Settings: the only place they are constructed."""

from __future__ import annotations

from deploy_assistant.clock import Clock, SystemClock
from deploy_assistant.kube.client import KubeClient
from deploy_assistant.settings import KubeSettings, Settings


def settings_with_flags(
    settings: Settings,
    *,
    context: str | None = None,
    kube_url: str | None = None,
    poll_interval_seconds: float | None = None,
    timeout_seconds: float | None = None,
) -> Settings:
    """Settings with the command line's cluster-access and timeout flags over the environment's."""
    kube_update: dict[str, object] = {}
    if context:
        kube_update["context"] = context
    if kube_url:
        kube_update["api_url"] = kube_url
    if poll_interval_seconds:
        kube_update["poll_interval_seconds"] = poll_interval_seconds
    update: dict[str, object] = {}
    if kube_update:
        kube: KubeSettings = settings.kube.model_copy(update=kube_update)
        update["kube"] = kube
    if timeout_seconds is not None:
        update["policy"] = settings.policy.model_copy(update={"timeout_seconds": timeout_seconds})
    return settings.model_copy(update=update) if update else settings


def build_kube_client(settings: Settings) -> KubeClient:
    return KubeClient.from_settings(settings.kube)


def build_clock() -> Clock:
    return SystemClock()
