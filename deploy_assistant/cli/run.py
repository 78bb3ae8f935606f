"""`da-ci run`: the CI job — record → wait → on failure collect, diagnose, post — and the report.

The report directory is written whatever happens, and every failure of Deploy Assistant itself
ends as exit 4 with `DA_RESULT=error`, never as a red rollout (ADR 0004).
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from deploy_assistant.cli.base import exit_code_for, exits_cleanly, injected_clock, main_group
from deploy_assistant.cli.record import post_deployment_requests
from deploy_assistant.clock import Clock
from deploy_assistant.delivery import deliver
from deploy_assistant.errors import ConfigError, DeployAssistantError
from deploy_assistant.models import (
    DeploymentNotifyRequest,
    GitContext,
    RolloutStatus,
    Target,
    Verdict,
)
from deploy_assistant.notify.gitcontext import git_context_from_ci
from deploy_assistant.notify.render import render_report_md, render_terminal
from deploy_assistant.pipeline import Diagnosis, build_message, diagnose, wait_and_collect
from deploy_assistant.reports import write_report_dir
from deploy_assistant.settings import CiEnvironment, Settings, load_ci_environment, load_settings
from deploy_assistant.wiring import build_kube_client, settings_with_flags

log = logging.getLogger(__name__)


@main_group.command()
@click.argument("deployments", nargs=-1)
@click.option("-n", "--namespace", help="Namespace of the deployments (default: DA_NAMESPACE).")
@click.option("--timeout", "timeout_seconds", type=float, help="Seconds to wait for a verdict.")
@click.option("--report-dir", type=click.Path(path_type=Path), help="Where to write the report.")
@click.option("--dry-run", is_flag=True, help="Analyse and write the report; post nothing.")
@click.option("--context", help="kube context to use.")
@click.option("--kube-url", help="Kubernetes API URL with no auth (a proxy or the simulator).")
@click.option("--poll-interval", type=float, help="Poll every N seconds instead of watching.")
@exits_cleanly
def run(
    deployments: tuple[str, ...],
    namespace: str | None,
    timeout_seconds: float | None,
    report_dir: Path | None,
    dry_run: bool,
    context: str | None,
    kube_url: str | None,
    poll_interval: float | None,
) -> int:
    """Wait on DEPLOYMENTS and, when the rollout fails, explain it in Slack and the MR."""
    settings = _settings_from_flags(
        load_settings(), timeout_seconds, report_dir, dry_run, context, kube_url, poll_interval
    )
    ci = load_ci_environment()
    targets = _targets(settings, namespace, deployments)
    if not targets:
        click.echo("Nothing to watch: no deployments named (DA_WORKLOADS is empty).", err=True)
        write_report_dir(settings.report_dir, Verdict(status=RolloutStatus.PAUSED), [])
        return 0
    return run_job(settings, ci, targets, injected_clock())


def run_job(settings: Settings, ci: CiEnvironment, targets: list[Target], clock: Clock) -> int:
    """The whole job for `targets`; returns the exit code (0/1/2/3/4)."""
    git = _git_context(ci, settings)
    _record(settings, git, targets, clock)
    client = build_kube_client(settings)
    diagnosis: Diagnosis | None = None
    try:
        verdict, raw = wait_and_collect(client, targets, settings, clock, git=git)
        if raw is not None:
            diagnosis = diagnose(raw, settings)
            verdict = diagnosis.verdict
    except DeployAssistantError as exc:
        verdict = Verdict(status=RolloutStatus.UNKNOWN, target=targets[0], message=str(exc))
        write_report_dir(settings.report_dir, verdict, targets)
        raise
    finally:
        client.close()
    target = verdict.target or targets[0]
    message = build_message(
        diagnosis, verdict, target, settings, git=git, report_url=_report_url(ci, settings)
    )
    click.echo(render_terminal(message))
    links = deliver(message, settings, ci)
    _record(settings, git, targets, clock, verdict)
    for error in links.errors:
        click.echo(f"warning: {error}", err=True)
    write_report_dir(
        settings.report_dir,
        verdict,
        targets,
        diagnosis=diagnosis,
        report_md=render_report_md(message),
        links=links,
    )
    code = exit_code_for(verdict.status, fail_on_rollout_failure=settings.fail_on_rollout_failure)
    return 4 if code == 0 and links.errors else code


def _settings_from_flags(
    settings: Settings,
    timeout_seconds: float | None,
    report_dir: Path | None,
    dry_run: bool,
    context: str | None,
    kube_url: str | None,
    poll_interval: float | None,
) -> Settings:
    settings = settings_with_flags(
        settings,
        context=context,
        kube_url=kube_url,
        poll_interval_seconds=poll_interval,
        timeout_seconds=timeout_seconds,
    )
    update: dict[str, object] = {}
    if report_dir is not None:
        update["report_dir"] = report_dir
    if dry_run:
        update["dry_run"] = True
    return settings.model_copy(update=update) if update else settings


def _targets(settings: Settings, namespace: str | None, names: tuple[str, ...]) -> list[Target]:
    namespace = namespace or settings.namespace
    chosen = [n.strip() for n in (names or tuple(settings.workloads)) if n.strip()]
    if chosen and not namespace:
        raise ConfigError("Name the namespace with -n NAMESPACE (or DA_NAMESPACE).")
    return [Target(namespace=namespace or "", deployment=name) for name in chosen]


def _git_context(ci: CiEnvironment, settings: Settings) -> GitContext | None:
    if not ci.CI_COMMIT_SHA:
        return None
    try:
        git = git_context_from_ci(ci)
    except ConfigError as exc:
        log.warning("No Git context: %s", exc)
        return None
    if settings.environment and not git.environment:
        git = git.model_copy(update={"environment": settings.environment})
    return git


def _record(
    settings: Settings,
    git: GitContext | None,
    targets: list[Target],
    clock: Clock,
    verdict: Verdict | None = None,
) -> None:
    """Tell the watcher this pipeline owns the rollout (and, at the end, the verdict it reached).

    A failure here never fails the job.
    """
    if not settings.ingest.url or git is None:
        return
    token = settings.ingest.token.get_secret_value() if settings.ingest.token else None
    bodies = [
        DeploymentNotifyRequest(
            cluster=settings.cluster,
            namespace=t.namespace,
            deployment=t.deployment,
            git=git,
            slack_channel=settings.slack.channel,
            verdict=verdict.status if verdict else None,
        )
        for t in targets
    ]
    try:
        post_deployment_requests(settings.ingest.url, token, bodies, clock=clock)
    except DeployAssistantError as exc:
        click.echo(f"warning: could not record the rollout with the watcher: {exc}", err=True)


def _report_url(ci: CiEnvironment, settings: Settings) -> str | None:
    if not ci.CI_JOB_URL:
        return None
    return f"{ci.CI_JOB_URL}/artifacts/file/{settings.report_dir.as_posix()}/report.md"
