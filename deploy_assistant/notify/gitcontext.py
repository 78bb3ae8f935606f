"""Where a rollout came from, read from GitLab's predefined CI/CD variables.

Branch pipelines: the commit is `CI_COMMIT_SHA`; an open MR of the branch comes from
`CI_OPEN_MERGE_REQUESTS`. MR pipelines: `CI_MERGE_REQUEST_IID` names the MR in the target project
(`CI_MERGE_REQUEST_PROJECT_URL`). Merged-results and merge-train pipelines run on a synthetic
merge commit, so the author's commit is `CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`.
"""

from __future__ import annotations

from deploy_assistant.errors import ConfigError
from deploy_assistant.models import GitContext
from deploy_assistant.settings import CiEnvironment


def git_context_from_ci(ci: CiEnvironment) -> GitContext:
    """The GitContext of the running GitLab job; ConfigError outside a GitLab job."""
    if not ci.CI_PROJECT_PATH or not ci.CI_COMMIT_SHA:
        raise ConfigError(
            "Not inside a GitLab CI job: CI_PROJECT_PATH and CI_COMMIT_SHA must be set."
        )
    mr_iid, mr_url = _merge_request(ci)
    return GitContext(
        project=ci.CI_PROJECT_PATH,
        commit=ci.CI_MERGE_REQUEST_SOURCE_BRANCH_SHA or ci.CI_COMMIT_SHA,
        pipeline_url=ci.CI_PIPELINE_URL or None,
        mr_url=mr_url,
        mr_iid=mr_iid,
        job_url=ci.CI_JOB_URL or None,
        ref=ci.CI_COMMIT_REF_NAME or None,
        author=ci.GITLAB_USER_LOGIN or _author_name(ci.CI_COMMIT_AUTHOR),
        environment=ci.CI_ENVIRONMENT_NAME or None,
    )


def _merge_request(ci: CiEnvironment) -> tuple[int | None, str | None]:
    """(iid, web URL) of the pipeline's MR from the variables alone, or (None, None)."""
    if ci.CI_MERGE_REQUEST_IID and ci.CI_MERGE_REQUEST_IID.isdigit():
        iid = int(ci.CI_MERGE_REQUEST_IID)
        base = ci.CI_MERGE_REQUEST_PROJECT_URL or ci.CI_PROJECT_URL
        return iid, f"{base.rstrip('/')}/-/merge_requests/{iid}" if base else None
    for entry in (ci.CI_OPEN_MERGE_REQUESTS or "").split(","):
        path, _, iid_text = entry.strip().rpartition("!")
        if path == ci.CI_PROJECT_PATH and iid_text.isdigit():
            base = ci.CI_PROJECT_URL
            url = f"{base.rstrip('/')}/-/merge_requests/{iid_text}" if base else None
            return int(iid_text), url
    return None, None


def _author_name(commit_author: str | None) -> str | None:
    """`Ann Lee <ann@example.com>` → `Ann Lee`: the e-mail address stays out of messages."""
    if not commit_author:
        return None
    return commit_author.split("<", 1)[0].strip() or None
