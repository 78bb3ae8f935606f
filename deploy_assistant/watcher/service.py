"""The watcher process: its roles assembled around one store, one clock and one stop event.

    service = WatcherService(settings, clock=clock, roles=["watch", "ingest", "analyze", "notify"])
    service.start()
    ...                      # service.wait() blocks until stop() or a role fails for good
    service.stop()

Roles: `watch` (`WatchLoop`), `ingest` (`IngestServer`), `analyze` (`AnalyzeWorker` with
collect → diagnose) and `notify` (`NotifyWorker` posting to Slack and the merge request). Every
piece of state lives in the store, so stopping at any point and starting again loses nothing: the
watch role resumes unfinished rollouts, the workers' leases expire and their rows are taken again.
A role that cannot work because of its configuration (RBAC refusal, bad store URL) stops the
service with that error; any other failure is logged and retried by the role itself.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from deploy_assistant.clock import Clock, SystemClock
from deploy_assistant.errors import ConfigError, DeployAssistantError
from deploy_assistant.kube.client import KubeClient
from deploy_assistant.kube.collect import collect_raw_context
from deploy_assistant.models import Analysis, Target, Verdict
from deploy_assistant.notify.gitlab import GitLabNotifier, MergeRequestRef, gitlab_token
from deploy_assistant.notify.message import Message
from deploy_assistant.notify.render import note_marker, render_mr_note, render_slack_message
from deploy_assistant.notify.slack import SlackNotifier, resolve_slack_channel, slack_token
from deploy_assistant.pipeline import diagnose
from deploy_assistant.settings import CiEnvironment, Settings
from deploy_assistant.store import Store, open_store
from deploy_assistant.store.rows import RolloutRow, Sink
from deploy_assistant.watcher.ingest import IngestServer
from deploy_assistant.watcher.metrics import WatcherMetrics
from deploy_assistant.watcher.watch import WatchLoop
from deploy_assistant.watcher.workers import AnalyzeWorker, NotifyWorker

logger = logging.getLogger(__name__)

ROLES = ("watch", "ingest", "analyze", "notify")
STOP_TIMEOUT_SECONDS = 30.0


def roles_of(names: Sequence[str]) -> list[str]:
    """The roles named, in their canonical order; `ConfigError` for an unknown one."""
    wanted = {name.strip().lower() for name in names if name.strip()}
    unknown = sorted(wanted - set(ROLES))
    if unknown:
        raise ConfigError(f"Unknown watcher role {unknown[0]!r}; use some of {', '.join(ROLES)}.")
    if not wanted:
        raise ConfigError(f"No watcher role given; use some of {', '.join(ROLES)}.")
    return [role for role in ROLES if role in wanted]


def default_worker_id() -> str:
    """Unique per process, readable in the store's lease columns."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def verdict_of(rollout: RolloutRow) -> Verdict:
    """The stored verdict of a rollout, as the evaluator gave it."""
    return Verdict(
        status=rollout.status,
        rule=rollout.rule,
        message=rollout.message,
        target=Target(namespace=rollout.namespace, deployment=rollout.deployment),
        observed_at=rollout.finished_at,
    )


def message_of(rollout: RolloutRow, analysis: Analysis, cluster: str) -> Message:
    """What the sinks render for a stored rollout and its analysis."""
    verdict = verdict_of(rollout)
    return Message(
        verdict=verdict,
        analysis=analysis,
        git=rollout.git,
        cluster=cluster,
        target=verdict.target or Target(namespace=rollout.namespace, deployment=rollout.deployment),
        environment=rollout.git.environment if rollout.git else None,
    )


class RolloutAnalyzer:
    """`analyze_fn`: collect the failed rollout's context from the cluster, then diagnose it."""

    def __init__(self, settings: Settings, client: KubeClient, clock: Clock) -> None:
        self.settings, self.client, self.clock = settings, client, clock

    def __call__(self, rollout: RolloutRow) -> Analysis:
        verdict = verdict_of(rollout)
        raw = collect_raw_context(
            self.client,
            verdict.target or Target(namespace=rollout.namespace, deployment=rollout.deployment),
            verdict=verdict,
            git=rollout.git,
            cluster=self.settings.cluster,
            clock=self.clock,
            settings=self.settings.reduce,
        )
        return diagnose(raw, self.settings).analysis


class RolloutNotifier:
    """`notify_fn`: post or update one sink's message; None when the sink has nowhere to post.

    Slack refs are `channel:ts[:reply_ts]` so a retry edits the same message and thread reply;
    the merge-request note is upserted by its marker, so even a lost ref never duplicates it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(
        self, rollout: RolloutRow, analysis: Analysis, sink: Sink, previous_ref: str | None
    ) -> str | None:
        message = message_of(rollout, analysis, self.settings.cluster)
        if sink is Sink.SLACK:
            return self._slack(rollout, message, previous_ref)
        return self._merge_request_note(rollout, message)

    def _slack(self, rollout: RolloutRow, message: Message, previous_ref: str | None) -> str | None:
        slack = self.settings.slack
        channel = resolve_slack_channel(slack, explicit=rollout.slack_channel, team=rollout.team)
        if slack_token(slack) is None or channel is None:
            return None
        previous = (previous_ref or "").split(":")
        ts = previous[1] if len(previous) > 1 and previous[1] else None
        reply_ts = previous[2] if len(previous) > 2 and previous[2] else None
        post = SlackNotifier(slack).post(
            render_slack_message(message),
            previous[0] if ts else channel,
            ts=ts,
            reply_ts=reply_ts,
        )
        return f"{post.channel}:{post.ts}:{post.reply_ts or ''}"

    def _merge_request_note(self, rollout: RolloutRow, message: Message) -> str | None:
        git = rollout.git
        if git is None or git.mr_iid is None or gitlab_token(self.settings.gitlab) is None:
            return None
        gitlab = self.settings.gitlab
        url = gitlab.url or _server_of(git.mr_url or git.pipeline_url)
        if url is None:
            return None
        notifier = GitLabNotifier(
            gitlab.model_copy(update={"url": url}), CiEnvironment.model_construct()
        )
        mr = MergeRequestRef(project=git.project, iid=git.mr_iid, web_url=git.mr_url)
        return str(notifier.upsert_note(mr, render_mr_note(message), note_marker(message)).note_id)


def _server_of(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


class WatcherService:
    """See the module docstring. Not reusable after `stop()`."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        roles: Sequence[str] | None = None,
        worker_id: str | None = None,
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.roles = roles_of(roles if roles is not None else settings.watcher.roles)
        self.worker_id = worker_id or default_worker_id()
        self._own_store = store is None
        self.store = store or open_store(settings.store.url, self.clock)
        self.metrics = WatcherMetrics()
        self.stop_event = threading.Event()
        self.failure: DeployAssistantError | None = None
        self.ingest: IngestServer | None = None
        self.watch_loop: WatchLoop | None = None
        self._threads: list[threading.Thread] = []
        self._clients: list[KubeClient] = []

    @property
    def ingest_url(self) -> str | None:
        return self.ingest.url if self.ingest is not None else None

    def start(self) -> None:
        settings, interval = self.settings, self.settings.watcher.loop_interval_seconds
        if "ingest" in self.roles:
            self.ingest = IngestServer(
                self.store.rollouts,
                settings.ingest,
                self.metrics,
                clock=self.clock,
                ready_check=self.store.ping,
            )
            self.ingest.start()
        if "watch" in self.roles:
            self.watch_loop = WatchLoop(
                self._client(),
                self.store.rollouts,
                settings.policy,
                self.clock,
                settings.watcher,
                cluster=settings.cluster,
                metrics=self.metrics,
                watch_timeout_seconds=settings.kube.watch_timeout_seconds,
            )
            self._spawn("watch", lambda: self._watch(self.watch_loop))
        if "analyze" in self.roles:
            analyzer = AnalyzeWorker(
                self.store.rollouts,
                self.store.analyses,
                RolloutAnalyzer(settings, self._client(), self.clock),
                worker_id=self.worker_id,
                clock=self.clock,
                metrics=self.metrics,
            )
            self._spawn("analyze", lambda: analyzer.run_forever(self.stop_event, interval))
        if "notify" in self.roles:
            notifier = NotifyWorker(
                self.store.rollouts,
                self.store.analyses,
                self.store.notifications,
                RolloutNotifier(settings),
                worker_id=self.worker_id,
                pipeline_grace_seconds=settings.watcher.pipeline_grace_seconds,
                clock=self.clock,
                metrics=self.metrics,
            )
            self._spawn("notify", lambda: notifier.run_forever(self.stop_event, interval))
        logger.info("watcher %s started with roles %s", self.worker_id, ",".join(self.roles))

    def _client(self) -> KubeClient:
        client = KubeClient.from_settings(self.settings.kube)
        self._clients.append(client)
        return client

    def _watch(self, loop: WatchLoop | None) -> None:
        if loop is not None:
            loop.run(self.stop_event)

    def _spawn(self, role: str, work: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                work()
            except DeployAssistantError as exc:
                logger.error("the %s role stopped: %s", role, exc)
                self.failure = exc
                self.stop_event.set()
            except Exception as exc:
                logger.exception("the %s role crashed", role)
                self.failure = DeployAssistantError(f"the {role} role crashed: {exc}")
                self.stop_event.set()

        thread = threading.Thread(target=guarded, name=f"watcher-{role}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait(self, poll_seconds: float = 0.5) -> None:
        """Block until `stop()` is called or a role fails (signals are handled between polls)."""
        while not self.stop_event.wait(poll_seconds):
            pass

    def stop(self) -> None:
        """Stop every role, let passes in progress finish, close the store. Idempotent."""
        self.stop_event.set()
        if self.ingest is not None:
            self.ingest.stop()
            self.ingest = None
        for thread in self._threads:
            thread.join(timeout=STOP_TIMEOUT_SECONDS)
        self._threads.clear()
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self._own_store:
            self.store.close()
            self._own_store = False
        logger.info("watcher %s stopped", self.worker_id)
