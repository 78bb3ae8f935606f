"""Where the stages meet: wait → collect → redact → classify → reduce → analyze.

Every entry point (the CI job, the watcher, `da-ci check`, the demo) diagnoses through
`diagnose`, so the same snapshot gives the same answer everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from deploy_assistant.analysis.rules import analyze_with_rules, classify
from deploy_assistant.clock import Clock
from deploy_assistant.kube.client import KubeClient
from deploy_assistant.kube.collect import collect_raw_context
from deploy_assistant.kube.wait import wait_for_rollout
from deploy_assistant.models import (
    Analysis,
    Classification,
    GitContext,
    RawContext,
    ReducedContext,
    RolloutStatus,
    Target,
    Verdict,
)
from deploy_assistant.notify.message import Message
from deploy_assistant.reduce.ops import default_plan
from deploy_assistant.reduce.redact import redact_raw_context
from deploy_assistant.reduce.reducer import build_reduced_context
from deploy_assistant.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

NEEDS_DIAGNOSIS = (RolloutStatus.FAILED, RolloutStatus.TIMEOUT)


class Diagnosis(BaseModel):
    """A verdict with its explanation: what every sink renders."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    verdict: Verdict
    raw: RawContext
    classification: Classification
    reduced: ReducedContext
    analysis: Analysis


def diagnose(
    raw: RawContext, settings: Settings, *, chat_model: BaseChatModel | None = None
) -> Diagnosis:
    """Redact, classify, reduce and analyze one rollout's context (rules, then the LLM if set)."""
    raw = redact_raw_context(raw)
    classification = classify(raw)
    plan = default_plan(classification.failure_class)
    reduced = build_reduced_context(
        raw, raw.git, plan, settings.reduce.budget_tokens, classification
    )
    analysis = analyze_with_rules(raw, classification)
    if settings.llm.model or chat_model is not None:
        from deploy_assistant.analysis.chains import analyze

        analysis = analyze(
            raw,
            reduced,
            rules_analysis=analysis,
            classification=classification,
            llm=settings.llm,
            chat_model=chat_model,
        )
    verdict = raw.verdict or Verdict(status=RolloutStatus.UNKNOWN, target=raw.target)
    return Diagnosis(
        verdict=verdict, raw=raw, classification=classification, reduced=reduced, analysis=analysis
    )


def wait_and_collect(
    client: KubeClient,
    targets: list[Target],
    settings: Settings,
    clock: Clock,
    *,
    git: GitContext | None = None,
    wait: bool = True,
    on_progress: Callable[[Any], None] | None = None,
) -> tuple[Verdict, RawContext | None]:
    """Wait for the verdict; when it needs explaining, collect the failing target's context."""
    if wait:
        verdict = wait_for_rollout(
            client,
            targets,
            settings.policy,
            clock,
            timeout_seconds=settings.policy.timeout_seconds,
            on_progress=on_progress,
            kube=settings.kube,
        )
    else:
        verdict = Verdict(status=RolloutStatus.UNKNOWN, target=targets[0], message="not waited")
    if wait and verdict.status not in NEEDS_DIAGNOSIS:
        return verdict, None
    target = verdict.target or targets[0]
    raw = collect_raw_context(
        client,
        target,
        verdict=verdict if wait else None,
        git=git,
        cluster=settings.cluster,
        clock=clock,
        settings=settings.reduce,
    )
    return verdict, raw


def build_message(
    diagnosis: Diagnosis | None,
    verdict: Verdict,
    target: Target,
    settings: Settings,
    *,
    git: GitContext | None = None,
    report_url: str | None = None,
) -> Message:
    """What the sinks render for one rollout: its verdict and, when it failed, the analysis."""
    return Message(
        verdict=verdict,
        analysis=diagnosis.analysis if diagnosis else None,
        git=git or (diagnosis.raw.git if diagnosis else None),
        cluster=settings.cluster,
        target=target,
        rollout_diff=diagnosis.raw.rollout_diff if diagnosis else (),
        report_url=report_url,
        environment=settings.environment,
    )
