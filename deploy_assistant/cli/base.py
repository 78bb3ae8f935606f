"""The `da-ci` click group and the one place where our exceptions become exit codes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec

import click

from deploy_assistant import __version__
from deploy_assistant.clock import Clock, SystemClock
from deploy_assistant.errors import DeployAssistantError
from deploy_assistant.models import RolloutStatus

P = ParamSpec("P")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="da-ci")
def main_group() -> None:
    """Deploy Assistant: why a Kubernetes rollout failed, for the developer who merged."""


def exits_cleanly(func: Callable[P, int]) -> Callable[P, int]:
    """Turn a DeployAssistantError into one sentence on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            return func(*args, **kwargs)
        except DeployAssistantError as exc:
            click.echo(f"error: {exc}", err=True)
            return exc.exit_code

    return wrapper


EXIT_CODES = {
    RolloutStatus.SUCCEEDED: 0,
    RolloutStatus.FAILED: 1,
    RolloutStatus.TIMEOUT: 1,
    RolloutStatus.SUPERSEDED: 3,
    RolloutStatus.PAUSED: 3,
    RolloutStatus.UNKNOWN: 4,
}


def exit_code_for(status: RolloutStatus, *, fail_on_rollout_failure: bool = True) -> int:
    """0 healthy, 1 failed or stuck (3 when failures are allowed), 3 no verdict, 4 unknown."""
    code = EXIT_CODES.get(status, 4)
    if code == 1 and not fail_on_rollout_failure:
        return 3
    return code


def injected_clock() -> Clock:
    """The clock a caller put in the click context (`obj={"clock": …}`), else the system clock.

    Tests and the demo run commands against the simulator's virtual clock this way.
    """
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    clock = obj.get("clock") if isinstance(obj, dict) else None
    return clock if clock is not None else SystemClock()
