"""`da-watcher`: the in-cluster watcher's command. Logs are JSON lines on stdout.

Exit codes: 0 stopped by SIGTERM or SIGINT, 2 configuration error (bad option, unknown role, RBAC
refusal, unusable store URL), 4 Deploy Assistant's own error (store or cluster unavailable at
start, a crashed role).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import click

from deploy_assistant.clock import Clock, SystemClock
from deploy_assistant.errors import DeployAssistantError
from deploy_assistant.settings import Settings, load_settings
from deploy_assistant.watcher.service import ROLES, WatcherService, roles_of

logger = logging.getLogger(__name__)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _csv(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def settings_with(settings: Settings, **options: Any) -> Settings:
    """Settings with the command-line overrides applied (None: keep the setting)."""
    watcher = settings.watcher.model_copy(
        update={
            k: v
            for k, v in {"roles": options["roles"], "namespaces": options["namespaces"]}.items()
            if v is not None
        }
    )
    kube = settings.kube.model_copy(
        update={
            k: v
            for k, v in {"api_url": options["kube_url"], "context": options["context"]}.items()
            if v is not None
        }
    )
    ingest = settings.ingest
    if options["port"] is not None:
        ingest = ingest.model_copy(update={"port": options["port"]})
    store = settings.store
    if options["store_url"] is not None:
        store = store.model_copy(update={"url": options["store_url"]})
    return settings.model_copy(
        update={"watcher": watcher, "kube": kube, "ingest": ingest, "store": store}
    )


def _clock() -> Clock:
    """The clock a caller put in the click context (`obj={"clock": …}`), else the system clock."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    clock = obj.get("clock") if isinstance(obj, dict) else None
    return clock if clock is not None else SystemClock()


@click.command(name="da-watcher")
@click.option("--roles", help=f"Comma-separated roles to run (default all: {','.join(ROLES)}).")
@click.option("--namespaces", help="Comma-separated namespaces to watch (default: all).")
@click.option("--kube-url", help="Kubernetes API URL to use without credentials.")
@click.option("--context", "kube_context", help="kube context name.")
@click.option("--port", type=click.IntRange(0, 65535), help="Ingest API port (default 8080).")
@click.option("--store-url", help="sqlite:///path or mysql://user:pass@host/db.")
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
)
def watcher_command(
    roles: str | None,
    namespaces: str | None,
    kube_url: str | None,
    kube_context: str | None,
    port: int | None,
    store_url: str | None,
    log_level: str,
) -> int:
    """Watch Deployments, judge every rollout, explain failures in Slack and the merge request."""
    configure_logging(log_level)
    settings = settings_with(
        load_settings(),
        roles=roles_of(_csv(roles) or []) if roles else None,
        namespaces=_csv(namespaces),
        kube_url=kube_url,
        context=kube_context,
        port=port,
        store_url=store_url,
    )
    service = WatcherService(settings, clock=_clock())

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("received signal %d; stopping", signum)
        service.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service.start()
    try:
        service.wait()
    finally:
        service.stop()
    if service.failure is not None:
        raise service.failure
    return 0


def main() -> None:
    """Console entry point: every escape becomes one sentence and a documented exit code."""
    try:
        code = watcher_command.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(0)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except DeployAssistantError as exc:
        logger.error("%s", exc)
        click.echo(str(exc), err=True)
        sys.exit(exc.exit_code)
    except Exception:  # the contract: nothing escapes as a traceback on stderr
        logger.exception("da-watcher crashed")
        click.echo("da-watcher hit an internal error (details in the log); exit 4.", err=True)
        sys.exit(4)
    sys.exit(code if isinstance(code, int) else 0)
