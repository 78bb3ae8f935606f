"""`da-ci check`: the diagnosis in a terminal, live against a cluster or offline from a snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from deploy_assistant.cli.base import exit_code_for, exits_cleanly, injected_clock, main_group
from deploy_assistant.errors import ConfigError
from deploy_assistant.models import RolloutStatus, Target, Verdict
from deploy_assistant.notify.render import render_report_md, render_terminal
from deploy_assistant.pipeline import Diagnosis, build_message, diagnose, wait_and_collect
from deploy_assistant.settings import Settings, load_settings
from deploy_assistant.snapshot import load_snapshot
from deploy_assistant.wiring import build_kube_client, settings_with_flags


@main_group.command()
@click.argument("deployment", required=False)
@click.option("-n", "--namespace", help="Namespace of the deployment.")
@click.option(
    "--snapshot",
    "snapshot_path",
    type=click.Path(path_type=Path),
    help="Analyse a saved snapshot file offline.",
)
@click.option(
    "--no-wait", is_flag=True, help="Diagnose what is there now; do not wait for a verdict."
)
@click.option("--timeout", "timeout_seconds", type=float, help="Seconds to wait for a verdict.")
@click.option("--context", help="kube context to use.")
@click.option("--kube-url", help="Kubernetes API URL with no auth (a proxy or the simulator).")
@click.option(
    "--output", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True
)
@exits_cleanly
def check(
    deployment: str | None,
    namespace: str | None,
    snapshot_path: Path | None,
    no_wait: bool,
    timeout_seconds: float | None,
    context: str | None,
    kube_url: str | None,
    output: str,
) -> int:
    """Explain why a rollout failed: live (DEPLOYMENT) or from --snapshot FILE."""
    settings = settings_with_flags(
        load_settings(), context=context, kube_url=kube_url, timeout_seconds=timeout_seconds
    )
    if snapshot_path is not None:
        if deployment:
            raise ConfigError("Give either a DEPLOYMENT or --snapshot FILE, not both.")
        diagnosis = diagnose(load_snapshot(snapshot_path), settings)
        return show(diagnosis, diagnosis.verdict, diagnosis.raw.target, settings, output)
    if not deployment:
        raise ConfigError("Name a DEPLOYMENT to check, or pass --snapshot FILE.")
    target = Target(namespace=namespace or settings.namespace or "default", deployment=deployment)
    client = build_kube_client(settings)
    try:
        verdict, raw = wait_and_collect(
            client, [target], settings, injected_clock(), wait=not no_wait
        )
    finally:
        client.close()
    if raw is None:
        return show(None, verdict, target, settings, output)
    diagnosis = diagnose(raw, settings)
    return show(diagnosis, diagnosis.verdict, target, settings, output)


def show(
    diagnosis: Diagnosis | None, verdict: Verdict, target: Target, settings: Settings, output: str
) -> int:
    """Print the verdict and diagnosis in the chosen format; return the exit code."""
    message = build_message(diagnosis, verdict, target, settings)
    if output == "json":
        click.echo(json.dumps(check_json(diagnosis, verdict), indent=2, ensure_ascii=False))
    elif output == "markdown":
        click.echo(render_report_md(message))
    else:
        Console(highlight=False, soft_wrap=True).print(render_terminal(message), markup=False)
    return exit_code_for(effective_status(diagnosis, verdict))


def check_json(diagnosis: Diagnosis | None, verdict: Verdict) -> dict[str, object]:
    body: dict[str, object] = {"verdict": verdict.model_dump(mode="json")}
    if diagnosis is not None:
        body["classification"] = diagnosis.classification.model_dump(mode="json")
        body["analysis"] = diagnosis.analysis.model_dump(mode="json")
        body["context"] = diagnosis.reduced.model_dump(mode="json")
        body["usage"] = diagnosis.analysis.usage.model_dump(mode="json")
    return body


def effective_status(diagnosis: Diagnosis | None, verdict: Verdict) -> RolloutStatus:
    """Without a verdict (a snapshot without one, --no-wait), a found failure counts as FAILED."""
    if verdict.status is not RolloutStatus.UNKNOWN or diagnosis is None:
        return verdict.status
    if diagnosis.analysis.family == "insufficient_evidence":
        return RolloutStatus.SUCCEEDED
    return RolloutStatus.FAILED
