"""`da-ci`: the command line. Commands live in sibling modules; this module owns exit codes.

Exit codes (the GitLab component's contract): 0 healthy, 1 rollout failed or stuck, 2 usage or
configuration error, 3 failed but allowed (`fail_on_rollout_failure: false`) or no verdict
possible (superseded, paused), 4 Deploy Assistant's own error. Every uncaught exception is 4.
"""

from __future__ import annotations

import logging
import sys

import click

from deploy_assistant.cli import check, demo, record, run, sim, snapshot, wait  # noqa: F401 - registers commands
from deploy_assistant.cli.base import main_group


def main() -> None:
    """Console entry point: run the group, turning every escape into a documented exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # urllib3 logs every connection retry; the one sentence we print says it better.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    try:
        code = main_group.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(4)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except Exception:  # the contract: nothing escapes as a traceback
        logging.getLogger(__name__).exception("Deploy Assistant crashed")
        click.echo("Deploy Assistant hit an internal error (details above); exit 4.", err=True)
        sys.exit(4)
    sys.exit(code if isinstance(code, int) else 0)
