"""`da-ci sim`: run a bundled scenario's simulated cluster as a standalone Kubernetes API.

Used by the component's self-test and by anyone who wants to point `da-ci wait`, `check` or
`kubectl --server` at a cluster that fails on purpose.
"""

from __future__ import annotations

import threading

import click

from deploy_assistant.cli.base import exits_cleanly, main_group
from deploy_assistant.errors import ConfigError
from deploy_assistant.sim import Scenario, Simulator, list_scenarios, load_scenario


@main_group.group()
def sim() -> None:
    """The offline cluster simulator."""


@sim.command("list")
def list_command() -> None:
    """List the bundled scenarios and the verdict each one expects."""
    for name in list_scenarios():
        scenario = load_scenario(name)
        expect = scenario.expect
        verdict = expect.verdict + (f" {expect.rule}" if expect.rule else "")
        click.echo(f"{scenario.name:34} {verdict:28} {scenario.description.split('. ')[0].strip()}")


@sim.command()
@click.option("--scenario", "name", default="crash-loop", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--speed", default=1.0, show_default=True, type=float, help="Virtual seconds per real second."
)
@exits_cleanly
def serve(name: str, host: str, port: int, speed: float) -> int:
    """Serve a scenario's cluster on HOST:PORT until interrupted."""
    scenario = scenario_named(name)
    try:
        simulator = Simulator(scenario, speed=speed, port=port, host=host)
    except OSError as exc:
        raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from exc
    with simulator:
        click.echo(f"Simulating {scenario.name!r} at {simulator.url} (speed {speed:g}x).", err=True)
        for namespace, deployment in scenario.targets:
            click.echo(f"  target: -n {namespace} {deployment}", err=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("Stopped.", err=True)
    return 0


def scenario_named(name: str) -> Scenario:
    """A bundled scenario by name or a scenario file by path; ConfigError naming the choices."""
    try:
        return load_scenario(name)
    except ValueError as exc:
        known = ", ".join(list_scenarios())
        raise ConfigError(f"{exc} Bundled scenarios: {known}.") from exc
