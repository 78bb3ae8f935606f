"""Messages for the notify tests: a realistic failure, a hostile one and a healthy one."""

from __future__ import annotations

from deploy_assistant.models import (
    Analysis,
    Evidence,
    FailureClass,
    FailureRule,
    FieldChange,
    GitContext,
    RolloutStatus,
    Severity,
    Target,
    Verdict,
)
from deploy_assistant.notify.message import Message

GIT = GitContext(
    project="shop/app",
    commit="3f2a9c1e5b7d4a1f9e0c2b3a4d5e6f708192a3b4",
    pipeline_url="https://gitlab.example.com/shop/app/-/pipelines/98765",
    mr_url="https://gitlab.example.com/shop/app/-/merge_requests/42",
    mr_iid=42,
    job_url="https://gitlab.example.com/shop/app/-/jobs/55501",
    ref="feature/db-url",
    author="ann",
    environment="production",
)

HOSTILE = (
    "@channel @here @everyone <!channel> <!here> <!subteam^S123|devs> <https://evil.example|click>\n"
    "/merge\n/close now\n  /approve\n@all please @group/team look\n"
    "```\n~~~\n<script>alert(1)</script> & <img src=x onerror=y>"
)


def failed_message(**changes: object) -> Message:
    analysis = Analysis(
        summary="The new version of checkout crashes right after it starts.",
        likely_cause="The environment variable DATABASE_URL is missing from the new ConfigMap.",
        next_steps=(
            "Add DATABASE_URL to the checkout ConfigMap.",
            "Re-run the deploy job.",
        ),
        technical_details="3/3 new pods CrashLoopBackOff, exit code 1; old ReplicaSet serving.",
        severity=Severity.HIGH,
        failure_class=FailureClass.CRASH_LOOP,
        family="missing_env",
        confidence=0.82,
        evidence=(
            Evidence(source="log", text="KeyError: 'DATABASE_URL'", object="pod/checkout-7d9c-1"),
            Evidence(source="event", text="Back-off restarting failed container", object="pod/x"),
        ),
    )
    message = Message(
        verdict=Verdict(
            status=RolloutStatus.FAILED, rule=FailureRule.CRASH_LOOP, message="3 pods crash"
        ),
        analysis=analysis,
        git=GIT,
        cluster="prod-eu",
        target=Target(namespace="shop", deployment="checkout"),
        rollout_diff=(FieldChange(field="container/app.image", before="app:1.4", after="app:1.5"),),
        report_url="https://gitlab.example.com/shop/app/-/jobs/55501/artifacts/browse",
        environment="production",
    )
    return message.model_copy(update=changes)


def hostile_message() -> Message:
    """Every untrusted field carries mention, quick-action, HTML and fence attacks."""
    base = failed_message()
    assert base.analysis is not None
    analysis = base.analysis.model_copy(
        update={
            "summary": HOSTILE,
            "likely_cause": HOSTILE,
            "next_steps": (HOSTILE, "/merge"),
            "technical_details": HOSTILE,
            "evidence": (Evidence(source="log", text=HOSTILE + "\n````\n/close", object=HOSTILE),),
        }
    )
    diff = (FieldChange(field=HOSTILE, before=HOSTILE, after="`x`"),)
    return base.model_copy(update={"analysis": analysis, "rollout_diff": diff})


def healthy_message() -> Message:
    return failed_message(verdict=Verdict(status=RolloutStatus.SUCCEEDED), analysis=None)


def huge_message() -> Message:
    """Far more text than any sink accepts, in every field."""
    base = failed_message()
    assert base.analysis is not None
    analysis = base.analysis.model_copy(
        update={
            "summary": "crash " * 2000,
            "likely_cause": "&<>" * 3000,
            "next_steps": tuple(f"step {i} " * 30 for i in range(100)),
            "technical_details": "\n".join(f"line {i} " * 20 for i in range(2000)),
            "evidence": tuple(
                Evidence(source="log", text="x" * 5000, object=f"pod/p{i}") for i in range(200)
            ),
        }
    )
    return base.model_copy(update={"analysis": analysis})
