"""Builds adapters from Settings: the only place they are constructed."""

from __future__ import annotations

from deploy_assistant.clock import Clock, SystemClock
from deploy_assistant.kube.client import KubeClient
from deploy_assistant.settings import KubeSettings, Settings


def kube_settings_with(
    settings: Settings,
    *,
    context: str | None = None,
    kube_url: str | None = None,
    poll_interval_seconds: float | None = None,
) -> Settings:
    """Settings with the command line's cluster-access flags applied over the environment's."""
    update: dict[str, object] = {}
    if context:
        update["context"] = context
    if kube_url:
        update["api_url"] = kube_url
    if poll_interval_seconds:
        update["poll_interval_seconds"] = poll_interval_seconds
    if not update:
        return settings
    kube: KubeSettings = settings.kube.model_copy(update=update)
    return settings.model_copy(update={"kube": kube})


def build_kube_client(settings: Settings) -> KubeClient:
    return KubeClient.from_settings(settings.kube)


def build_clock() -> Clock:
    return SystemClock()
