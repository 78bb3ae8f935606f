"""`da-ci demo`: the whole CI job on a bundled scenario, with nothing to install or configure.

Starts the cluster simulator in-process, applies the scenario's deploy, shows the rollout live,
then — when it fails — the diagnosis, and the Slack message and merge-request note it would post
(also written to files). Nothing is posted anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.panel import Panel

from deploy_assistant.cli.base import exit_code_for, exits_cleanly, main_group
from deploy_assistant.cli.sim import scenario_named
from deploy_assistant.cli.wait import ProgressView, verdict_line
from deploy_assistant.errors import ConfigError
from deploy_assistant.kube.client import KubeClient
from deploy_assistant.models import Target
from deploy_assistant.notify.render import (
    render_mr_note,
    render_report_md,
    render_slack_message,
    render_terminal,
)
from deploy_assistant.pipeline import build_message, diagnose, wait_and_collect
from deploy_assistant.reports import write_report_dir
from deploy_assistant.settings import KubeSettings, Settings, load_settings
from deploy_assistant.sim import Simulator


@main_group.command()
@click.argument("scenario", default="crash-loop")
@click.option("--speed", default=20.0, show_default=True, help="Simulated seconds per second.")
@click.option(
    "--output-dir",
    type=click.Path(path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Where the messages and the report are written.",
)
@exits_cleanly
def demo(scenario: str, speed: float, output_dir: Path) -> int:
    """Run SCENARIO (see `da-ci sim list`) on the in-process simulator, end to end."""
    chosen = scenario_named(scenario)
    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(f"--output-dir {output_dir} exists and is not a directory.")
    out = Console(highlight=False)
    out.print(Panel(chosen.description.strip(), title=f"scenario {chosen.name}", expand=False))
    targets = [Target(namespace=ns, deployment=name) for ns, name in chosen.targets]
    with Simulator(chosen, speed=speed) as sim:
        settings = _demo_settings(load_settings(), sim.url, output_dir)
        client = KubeClient.from_settings(settings.kube)
        try:
            with ProgressView(Console(stderr=True)) as view:
                verdict, raw = wait_and_collect(
                    client, targets, settings, sim.clock, on_progress=view
                )
        finally:
            client.close()
        out.print(f"\n[bold]Verdict[/] after {sim.clock.monotonic():.0f} simulated seconds:")
        out.print(verdict_line(verdict), markup=False)
        diagnosis = diagnose(raw, settings) if raw is not None else None
    verdict = diagnosis.verdict if diagnosis else verdict
    message = build_message(diagnosis, verdict, verdict.target or targets[0], settings)
    out.print()
    out.print(render_terminal(message), markup=False)
    slack = render_slack_message(message)
    note = render_mr_note(message)
    output_dir.mkdir(parents=True, exist_ok=True)
    slack_file = output_dir / "slack-message.json"
    slack_file.write_text(json.dumps(slack.model_dump(mode="json"), indent=2) + "\n")
    (output_dir / "mr-note.md").write_text(note, encoding="utf-8")
    write_report_dir(
        settings.report_dir,
        verdict,
        targets,
        diagnosis=diagnosis,
        report_md=render_report_md(message),
    )
    out.print(Panel(_slack_preview(slack.blocks, slack.thread_blocks), title="Slack (not posted)"))
    out.print(Panel(note.strip(), title="Merge request note (not posted)"), markup=False)
    code = exit_code_for(verdict.status)
    out.print(
        f"\nWritten to {output_dir}/: slack-message.json, mr-note.md, report/. "
        f"In CI this job would exit {code}."
    )
    return 0


def _demo_settings(settings: Settings, url: str, output_dir: Path) -> Settings:
    return settings.model_copy(
        update={
            "kube": KubeSettings(api_url=url),
            "cluster": "demo",
            "dry_run": True,
            "report_dir": output_dir / "report",
        }
    )


def _slack_preview(blocks: tuple[dict[str, Any], ...], thread: tuple[dict[str, Any], ...]) -> str:
    """The text a Slack reader sees, block by block (mrkdwn shown as is)."""
    lines: list[str] = []
    for label, group in (("message", blocks), ("thread reply", thread)):
        if not group:
            continue
        lines.append(f"── {label} ──")
        for block in group:
            lines.extend(_block_texts(block))
    return "\n".join(lines)


def _block_texts(block: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    text = block.get("text")
    if isinstance(text, dict) and text.get("text"):
        texts.append(str(text["text"]))
    for element in block.get("elements") or ():
        if isinstance(element, dict) and element.get("text"):
            inner = element["text"]
            texts.append(str(inner["text"] if isinstance(inner, dict) else inner))
    return texts
