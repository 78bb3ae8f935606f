"""`da-ci snapshot`: capture one rollout's context from a live cluster into a snapshot file."""

from __future__ import annotations

from pathlib import Path

import click

from deploy_assistant.cli.base import exits_cleanly, main_group
from deploy_assistant.errors import ConfigError
from deploy_assistant.kube.client import KubeApiError
from deploy_assistant.kube.collect import collect_raw_context
from deploy_assistant.models import Target
from deploy_assistant.reduce.redact import redact_raw_context
from deploy_assistant.settings import load_settings
from deploy_assistant.snapshot import write_snapshot
from deploy_assistant.wiring import build_clock, build_kube_client, settings_with_flags


@main_group.command()
@click.argument("deployment")
@click.option("-n", "--namespace", help="Namespace of the deployment.")
@click.option(
    "-o",
    "--output",
    "output_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Snapshot file to write (.json, or .json.gz for gzip).",
)
@click.option("--context", help="kube context to use.")
@click.option("--kube-url", help="Kubernetes API URL with no auth (a proxy or the simulator).")
@exits_cleanly
def snapshot(
    deployment: str,
    namespace: str | None,
    output_path: Path,
    context: str | None,
    kube_url: str | None,
) -> int:
    """Save DEPLOYMENT's rollout context (objects, events, logs) to a file, secrets redacted."""
    settings = settings_with_flags(load_settings(), context=context, kube_url=kube_url)
    target = Target(namespace=namespace or settings.namespace or "default", deployment=deployment)
    client = build_kube_client(settings)
    try:
        try:
            client.read_deployment(target.namespace, target.deployment)
        except KubeApiError as exc:
            if exc.status == 404:
                raise ConfigError(
                    f"Deployment {target.namespace}/{target.deployment} does not exist."
                ) from exc
            raise
        raw = collect_raw_context(
            client,
            target,
            verdict=None,
            git=None,
            cluster=settings.cluster,
            clock=build_clock(),
            settings=settings.reduce,
        )
    finally:
        client.close()
    # Secrets never reach the disk: the file may be attached to a CI job or a ticket.
    redacted = redact_raw_context(raw)
    write_snapshot(redacted, output_path)
    click.echo(
        f"Wrote {output_path}: {len(redacted.pods)} pods, {len(redacted.events)} events, "
        f"{len(redacted.logs)} logs.",
        err=True,
    )
    for note in redacted.missing:
        click.echo(f"missing: {note}", err=True)
    return 0
