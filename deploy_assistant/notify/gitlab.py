"""GitLab adapter (the only module importing `gitlab`): find the MR, upsert one note per env.

MR discovery, in order: `CI_MERGE_REQUEST_IID` (MR pipelines; the note goes to the target
project), `CI_OPEN_MERGE_REQUESTS` (branch pipelines of a branch with an open MR), then
`commits/:sha/merge_requests` (typically the default branch after the merge; merged-results
pipelines use `CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`, the real commit). The note is upserted by the
hidden marker on its first line, so retries and new pipelines update it and never duplicate it.
Writing notes needs a project or group access token: CI_JOB_TOKEN cannot create notes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import gitlab
import requests
from gitlab.exceptions import GitlabAuthenticationError, GitlabError

from deploy_assistant.errors import ConfigError, NotifyUnavailable
from deploy_assistant.settings import CiEnvironment, GitLabSettings

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class MergeRequestRef:
    project: str
    """Numeric id or `group/project` path of the MR's (target) project."""
    iid: int
    web_url: str | None = None


@dataclass(frozen=True)
class NotePost:
    mr: MergeRequestRef
    note_id: int
    created: bool
    url: str | None = None


def gitlab_token(settings: GitLabSettings) -> str | None:
    """The access token, or None when unset (a literal `$VARIABLE` left by CI counts as unset)."""
    token = settings.token.get_secret_value().strip() if settings.token else ""
    return token if token and not token.startswith("$") else None


def merge_request_from_ci(ci: CiEnvironment) -> MergeRequestRef | None:
    """The MR named by the pipeline's own variables (no API call), or None."""
    server = (ci.CI_SERVER_URL or "").rstrip("/")
    if ci.CI_MERGE_REQUEST_IID and ci.CI_MERGE_REQUEST_IID.isdigit():
        project_url = (ci.CI_MERGE_REQUEST_PROJECT_URL or ci.CI_PROJECT_URL or "").rstrip("/")
        if server and project_url.startswith(server + "/"):
            project = project_url[len(server) + 1 :]
        else:
            project = ci.CI_PROJECT_ID or ci.CI_PROJECT_PATH or ""
        iid = int(ci.CI_MERGE_REQUEST_IID)
        web_url = f"{project_url}/-/merge_requests/{iid}" if project_url else None
        return MergeRequestRef(project=project, iid=iid, web_url=web_url) if project else None
    for entry in (ci.CI_OPEN_MERGE_REQUESTS or "").split(","):
        path, _, iid_text = entry.strip().rpartition("!")
        if path and path == ci.CI_PROJECT_PATH and iid_text.isdigit():
            web_url = f"{server}/{path}/-/merge_requests/{iid_text}" if server else None
            return MergeRequestRef(project=path, iid=int(iid_text), web_url=web_url)
    return None


def best_merge_request(
    mrs: list[dict[str, Any]], sha: str, ref: str | None
) -> dict[str, Any] | None:
    """From `commits/:sha/merge_requests`: the MR merged as `sha`, else the open MR of `ref`."""
    merged = [
        m
        for m in mrs
        if m.get("state") == "merged"
        and sha
        in (
            m.get("merge_commit_sha"),
            m.get("squash_commit_sha"),
            m.get("merged_commit_sha"),
            m.get("sha"),
        )
    ]
    if merged:
        return max(merged, key=lambda m: str(m.get("merged_at") or ""))
    opened = [m for m in mrs if m.get("state") == "opened"]
    same_branch = [m for m in opened if ref and m.get("source_branch") == ref]
    candidates = same_branch or opened
    return candidates[0] if candidates else None


class GitLabNotifier:
    """Writes the Deploy Assistant note on the pipeline's merge request."""

    def __init__(
        self, settings: GitLabSettings, ci: CiEnvironment, *, timeout_seconds: float = 30.0
    ) -> None:
        token = gitlab_token(settings)
        if token is None:
            if ci.CI_JOB_TOKEN is not None and ci.CI_JOB_TOKEN.get_secret_value():
                raise ConfigError(
                    "Only CI_JOB_TOKEN is available and GitLab job tokens cannot write merge "
                    "request notes; set DA_GITLAB__TOKEN to a project or group access token "
                    "with the api scope and at least the Reporter role."
                )
            raise ConfigError(
                "No GitLab token: set DA_GITLAB__TOKEN to a project or group access token "
                "with the api scope."
            )
        url = settings.url or ci.CI_SERVER_URL
        if not url:
            raise ConfigError("No GitLab URL: set DA_GITLAB__URL (CI_SERVER_URL is unset).")
        self._ci = ci
        self._timeout_seconds = timeout_seconds
        self._retries: dict[str, Any] = {"max_retries": settings.max_retries}
        self._gl = gitlab.Gitlab(
            url, private_token=token, timeout=timeout_seconds, retry_transient_errors=True
        )

    def find_merge_request(self) -> MergeRequestRef | None:
        """The pipeline's MR: from CI variables, else by commit through the API; None if none."""
        found = merge_request_from_ci(self._ci)
        if found is not None:
            return found
        project = self._ci.CI_PROJECT_ID or self._ci.CI_PROJECT_PATH
        sha = self._ci.CI_MERGE_REQUEST_SOURCE_BRANCH_SHA or self._ci.CI_COMMIT_SHA
        if not project or not sha:
            return None
        commit = self._gl.projects.get(project, lazy=True).commits.get(sha, lazy=True)
        mrs = self._guarded(lambda: list(commit.merge_requests(get_all=True, **self._retries)))
        best = best_merge_request(mrs, sha, self._ci.CI_COMMIT_REF_NAME)
        if best is None:
            return None
        return MergeRequestRef(
            project=str(best.get("project_id") or project),
            iid=int(best["iid"]),
            web_url=best.get("web_url"),
        )

    def upsert_note(
        self, mr: MergeRequestRef, body: str, marker: str, *, internal: bool = False
    ) -> NotePost:
        """Update our note whose first line is `marker`, else create one; `body` includes marker."""
        return self._guarded(lambda: self._upsert(mr, body, marker, internal))

    def post(self, body: str, marker: str, *, internal: bool = False) -> NotePost | None:
        """Find the MR and upsert the note; None when the pipeline has no MR."""
        mr = self.find_merge_request()
        if mr is None:
            logger.info("No merge request for this pipeline; skipping the MR note")
            return None
        return self.upsert_note(mr, body, marker, internal=internal)

    def find_note_body(self, mr: MergeRequestRef, marker: str) -> str | None:
        """The body of our note carrying `marker`, or None (e.g. to recover the Slack thread)."""
        note = self._guarded(lambda: self._own_note(self._merge_request(mr), marker))
        return str(note.attributes.get("body", "")) if note is not None else None

    def _merge_request(self, mr: MergeRequestRef) -> Any:
        return self._gl.projects.get(mr.project, lazy=True).mergerequests.get(mr.iid, lazy=True)

    def _own_note(self, merge_request: Any, marker: str) -> Any | None:
        bot_id = self._bot_user_id()
        notes = merge_request.notes.list(
            iterator=True, sort="desc", order_by="updated_at", per_page=100, **self._retries
        )
        for note in notes:
            attrs = note.attributes
            author_id = (attrs.get("author") or {}).get("id")
            if attrs.get("system") or (bot_id is not None and author_id != bot_id):
                continue
            if str(attrs.get("body", "")).split("\n", 1)[0].strip() == marker:
                return note
        return None

    def _upsert(self, mr: MergeRequestRef, body: str, marker: str, internal: bool) -> NotePost:
        merge_request = self._merge_request(mr)
        note = self._own_note(merge_request, marker)
        if note is not None:
            note.body = body
            note.save(**self._retries)
            return NotePost(mr=mr, note_id=int(note.id), created=False, url=_note_url(mr, note.id))
        data: dict[str, Any] = {"body": body}
        if internal:
            data["internal"] = True
        created = merge_request.notes.create(data, **self._retries)
        return NotePost(mr=mr, note_id=int(created.id), created=True, url=_note_url(mr, created.id))

    def _bot_user_id(self) -> int | None:
        """Our own user id, so we never try to edit a human's note (which GitLab refuses)."""
        try:
            user = self._gl.http_get("/user", **self._retries)
        except GitlabAuthenticationError:
            raise
        except GitlabError as exc:
            logger.warning("GitLab /user unavailable (%s); matching notes by marker only", exc)
            return None
        user_id = user.get("id") if isinstance(user, dict) else None
        return int(user_id) if user_id is not None else None

    def _guarded(self, action: Callable[[], T]) -> T:
        """Run a GitLab call, turning its failures into one actionable sentence."""
        try:
            return action()
        except GitlabAuthenticationError as exc:
            raise ConfigError(
                "GitLab rejected the token (401); set DA_GITLAB__TOKEN to a valid project or "
                "group access token with the api scope."
            ) from exc
        except GitlabError as exc:
            code = exc.response_code
            if code == 403:
                raise ConfigError(
                    "GitLab refused the merge request note (403); the token needs the api "
                    "scope and at least the Reporter role on the project."
                ) from exc
            raise NotifyUnavailable(
                f"GitLab answered HTTP {code} ({exc.error_message}) to the merge request note."
            ) from exc
        except requests.RequestException as exc:
            raise NotifyUnavailable(
                f"GitLab did not answer within {self._timeout_seconds:g} s "
                f"({exc.__class__.__name__})."
            ) from exc


def _note_url(mr: MergeRequestRef, note_id: Any) -> str | None:
    return f"{mr.web_url}#note_{note_id}" if mr.web_url else None
