"""`da-ci wait`: wait on one or more Deployments and print one verdict line.

Exit codes: 0 succeeded; 1 failed or timed out; 2 usage or configuration error (unknown
Deployment, namespace or context, RBAC refusal); 3 superseded or paused (no verdict possible);
4 the tool's own error or UNKNOWN (API unreachable beyond the retry budget).

Live progress goes to stderr (rich); the verdict line, or `--output json`, goes to stdout.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

from deploy_assistant.cli.base import exit_code_for, exits_cleanly, injected_clock, main_group
from deploy_assistant.kube.client import KubeClient
from deploy_assistant.kube.tracker import RolloutProgress
from deploy_assistant.kube.wait import RolloutOutcome, wait_for_rollouts
from deploy_assistant.models import PodSignals, Target, Verdict
from deploy_assistant.reduce.redact import redact_text
from deploy_assistant.settings import load_settings
from deploy_assistant.wiring import settings_with_flags


def verdict_line(verdict: Verdict) -> str:
    """`FAILED CRASH_LOOP shop/web: 3 of 3 new pods keep crashing: …`"""
    head = verdict.status.value + (f" {verdict.rule.value}" if verdict.rule else "")
    where = f" {verdict.target.namespace}/{verdict.target.deployment}" if verdict.target else ""
    return f"{head}{where}: {redact_text(verdict.message)}"


def pod_state(pod: PodSignals) -> str:
    """A kubectl-like STATUS word for one pod."""
    if pod.unschedulable_message is not None:
        return "Unschedulable"
    for c in (*pod.init_containers, *pod.containers):
        if c.waiting_reason and c.waiting_reason != "PodInitializing":
            prefix = "Init:" if c.init else ""
            return f"{prefix}{c.waiting_reason}"
    if pod.ready:
        return "Ready"
    return pod.phase or "Pending"


def progress_table(progress: Sequence[RolloutProgress]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold")
    for column in ("deployment", "new pods", "arming", "status"):
        table.add_column(column)
    for item in progress:
        pods = ", ".join(
            f"{p.name}: {pod_state(p)} ({sum(c.restarts_since_start for c in p.containers)}↻)"
            for p in item.new_pods[:6]
        )
        arming = ", ".join(
            f"{a.hit.rule.value} {a.elapsed_seconds(item.at or a.since):.0f}/"
            f"{a.hit.window_seconds:.0f}s"
            for a in item.arming
        )
        notes = "; ".join(item.notes)
        status = redact_text(item.message + (f" [{notes}]" if notes else ""))
        table.add_row(
            f"{item.target.namespace}/{item.target.deployment}", pods or "-", arming or "-", status
        )
    return table


def outcome_json(outcome: RolloutOutcome) -> str:
    return json.dumps(
        {
            "verdict": _redacted(outcome.verdict).model_dump(mode="json"),
            "targets": [_redacted(v).model_dump(mode="json") for v in outcome.verdicts],
        },
        indent=2,
    )


def _redacted(verdict: Verdict) -> Verdict:
    """Verdict messages quote pod state (termination messages, admission denials)."""
    return verdict.model_copy(update={"message": redact_text(verdict.message)})


class ProgressView:
    """Live table on a terminal; on a CI log, one line per target whenever its state changes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None
        self.last: dict[str, str] = {}

    def __enter__(self) -> ProgressView:
        if self.console.is_terminal:
            self.live = Live(console=self.console, auto_refresh=False, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def __call__(self, progress: Sequence[RolloutProgress]) -> None:
        if self.live is not None:
            self.live.update(progress_table(progress), refresh=True)
            return
        for item in progress:
            name = f"{item.target.namespace}/{item.target.deployment}"
            pods = " ".join(f"{p.name}={pod_state(p)}" for p in item.new_pods[:6])
            arming = " ".join(f"arming:{a.hit.rule.value}" for a in item.arming)
            parts = (item.message, pods, arming, *item.notes)
            line = redact_text(" ".join(part for part in parts if part))
            if self.last.get(name) != line:
                self.last[name] = line
                self.console.print(f"{name}: {line}", markup=False, highlight=False, soft_wrap=True)


@main_group.command("wait")
@click.argument("deployments", nargs=-1, required=True)
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("--timeout", "timeout_seconds", type=click.FloatRange(min=1), default=None)
@click.option("--context", default=None, help="kube context (default: current or in-cluster)")
@click.option("--kube-url", default=None, help="talk to this API URL directly, no credentials")
@click.option("--poll-interval", "poll_seconds", type=click.FloatRange(min=1), default=None)
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@exits_cleanly
def wait_command(
    deployments: tuple[str, ...],
    namespace: str,
    timeout_seconds: float | None,
    context: str | None,
    kube_url: str | None,
    poll_seconds: float | None,
    output: str,
) -> int:
    """Wait for DEPLOYMENT rollouts; fail fast on hard pod failures, never on slowness."""
    settings = settings_with_flags(
        load_settings(),
        context=context,
        kube_url=kube_url,
        poll_interval_seconds=poll_seconds,
        timeout_seconds=timeout_seconds,
    )
    kube, policy = settings.kube, settings.policy
    clock = injected_clock()
    targets = [Target(namespace=namespace, deployment=name) for name in deployments]
    console = Console(stderr=True)
    client = KubeClient.from_settings(kube)
    try:
        with ProgressView(console) as view:
            outcome = wait_for_rollouts(client, targets, policy, clock, on_progress=view, kube=kube)
    finally:
        client.close()
    if output == "json":
        click.echo(outcome_json(outcome))
    else:
        for verdict in outcome.verdicts if len(outcome.verdicts) > 1 else ():
            click.echo(verdict_line(verdict), err=True)
        click.echo(verdict_line(outcome.verdict))
    return exit_code_for(outcome.verdict.status)
