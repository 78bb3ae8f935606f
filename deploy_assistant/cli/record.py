"""`da-ci record`: tell the in-cluster watcher which commit and pipeline a rollout came from.

Prints the job's GitContext as JSON. When `DA_INGEST__URL` is set, it also POSTs one
`DeploymentNotifyRequest` per Deployment to `{url}/deployments` with the bearer token
`DA_INGEST__TOKEN`, retrying 5xx answers and connection failures with exponential backoff.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence

import click

from deploy_assistant.cli.base import exits_cleanly, main_group
from deploy_assistant.clock import Clock, SystemClock
from deploy_assistant.errors import ConfigError, NotifyUnavailable
from deploy_assistant.models import DeploymentNotifyRequest
from deploy_assistant.notify.gitcontext import git_context_from_ci
from deploy_assistant.settings import load_ci_environment, load_settings

logger = logging.getLogger(__name__)

INGEST_ATTEMPTS = 4
INGEST_BACKOFF_SECONDS = 0.5
INGEST_TIMEOUT_SECONDS = 10.0


class _Retryable(Exception):
    """A failure worth another attempt (5xx, connection refused, timeout)."""


def post_deployment_requests(
    url: str,
    token: str | None,
    bodies: Sequence[DeploymentNotifyRequest],
    *,
    clock: Clock,
    attempts: int = INGEST_ATTEMPTS,
    backoff_seconds: float = INGEST_BACKOFF_SECONDS,
    timeout_seconds: float = INGEST_TIMEOUT_SECONDS,
) -> None:
    """POST each body to `{url}/deployments`; ConfigError on 4xx, NotifyUnavailable when down."""
    endpoint = url.rstrip("/") + "/deployments"
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"DA_INGEST__URL must be an http(s) URL, not {url!r}.")
    for body in bodies:
        data = body.model_dump_json(exclude_none=True).encode()
        for attempt in range(1, attempts + 1):
            try:
                _post_once(endpoint, token, data, timeout_seconds)
                break
            except _Retryable as exc:
                if attempt == attempts:
                    raise NotifyUnavailable(
                        f"The ingest API at {endpoint} failed {attempts} times ({exc})."
                    ) from exc
                delay = backoff_seconds * 2 ** (attempt - 1)
                logger.warning(
                    "Ingest attempt %d failed (%s); retrying in %gs", attempt, exc, delay
                )
                clock.sleep(delay)


def _post_once(endpoint: str, token: str | None, data: bytes, timeout_seconds: float) -> None:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # The scheme was checked to be http(s) by the caller.
    request = urllib.request.Request(endpoint, data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds):  # noqa: S310
            return
    except urllib.error.HTTPError as exc:
        if exc.code >= 500:
            raise _Retryable(f"HTTP {exc.code}") from exc
        raise _client_error(exc) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise _Retryable(str(getattr(exc, "reason", exc))) from exc


def _client_error(exc: urllib.error.HTTPError) -> ConfigError:
    if exc.code in (401, 403):
        return ConfigError(
            f"The ingest API refused the token (HTTP {exc.code}); set DA_INGEST__TOKEN "
            "to one of the tokens the watcher accepts."
        )
    detail = exc.read(2000).decode("utf-8", "replace").strip()
    if exc.code == 422:
        return ConfigError(f"The ingest API rejected the deployment record (HTTP 422): {detail}")
    return ConfigError(f"The ingest API answered HTTP {exc.code}: {detail}")


@main_group.command()
@click.option(
    "--cluster", default=None, help="Cluster name the watcher knows (default DA_CLUSTER)."
)
@click.option("-n", "--namespace", required=True, help="Namespace of the Deployments.")
@click.option("--team", default=None, help="Owning team (selects its Slack channel).")
@click.option("--slack-channel", default=None, help="Slack channel ID for this rollout.")
@click.argument("deployments", nargs=-1, required=True)
@exits_cleanly
def record(
    cluster: str | None,
    namespace: str,
    team: str | None,
    slack_channel: str | None,
    deployments: tuple[str, ...],
) -> int:
    """Print this job's Git context and send it to the watcher's ingest API if configured."""
    settings = load_settings()
    git = git_context_from_ci(load_ci_environment())
    click.echo(json.dumps(git.model_dump(mode="json", exclude_none=True), indent=2))
    if not settings.ingest.url:
        return 0
    bodies = [
        DeploymentNotifyRequest(
            cluster=cluster or settings.cluster,
            namespace=namespace,
            deployment=name,
            git=git,
            team=team,
            slack_channel=slack_channel,
        )
        for name in deployments
    ]
    token = settings.ingest.token.get_secret_value() if settings.ingest.token else None
    post_deployment_requests(settings.ingest.url, token, bodies, clock=SystemClock())
    click.echo(f"Recorded {len(bodies)} deployment(s) with the ingest API.", err=True)
    return 0
