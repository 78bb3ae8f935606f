"""git_context_from_ci for branch, MR and merged-results pipelines."""

from __future__ import annotations

import pytest

from deploy_assistant.errors import ConfigError
from deploy_assistant.notify.gitcontext import git_context_from_ci
from tests.notify.test_notify_gitlab import ci_env

BASE = {
    "CI_SERVER_URL": "https://gitlab.example.com",
    "CI_PROJECT_PATH": "shop/app",
    "CI_PROJECT_URL": "https://gitlab.example.com/shop/app",
    "CI_PIPELINE_URL": "https://gitlab.example.com/shop/app/-/pipelines/98765",
    "CI_JOB_URL": "https://gitlab.example.com/shop/app/-/jobs/55501",
    "CI_ENVIRONMENT_NAME": "production",
    "CI_COMMIT_AUTHOR": "Ann Lee <ann@example.com>",
}


def test_branch_pipeline_without_mr() -> None:
    git = git_context_from_ci(
        ci_env(**BASE, CI_COMMIT_SHA="a" * 40, CI_COMMIT_REF_NAME="main", CI_PIPELINE_SOURCE="push")
    )
    assert git.project == "shop/app"
    assert git.commit == "a" * 40
    assert git.ref == "main"
    assert git.mr_iid is None
    assert git.mr_url is None
    assert git.pipeline_url == BASE["CI_PIPELINE_URL"]
    assert git.job_url == BASE["CI_JOB_URL"]
    assert git.environment == "production"
    assert git.author == "Ann Lee"


def test_branch_pipeline_with_an_open_mr_of_this_project() -> None:
    git = git_context_from_ci(
        ci_env(
            **BASE,
            CI_COMMIT_SHA="a" * 40,
            CI_COMMIT_REF_NAME="topic",
            CI_OPEN_MERGE_REQUESTS="other/lib!4,shop/app!12",
            GITLAB_USER_LOGIN="ann",
        )
    )
    assert git.mr_iid == 12
    assert git.mr_url == "https://gitlab.example.com/shop/app/-/merge_requests/12"
    assert git.author == "ann"


def test_mr_pipeline_links_the_target_project_mr() -> None:
    git = git_context_from_ci(
        ci_env(
            **BASE,
            CI_COMMIT_SHA="a" * 40,
            CI_PIPELINE_SOURCE="merge_request_event",
            CI_MERGE_REQUEST_IID="7",
            CI_MERGE_REQUEST_EVENT_TYPE="detached",
            CI_MERGE_REQUEST_PROJECT_URL="https://gitlab.example.com/upstream/app",
        )
    )
    assert git.mr_iid == 7
    assert git.mr_url == "https://gitlab.example.com/upstream/app/-/merge_requests/7"
    assert git.commit == "a" * 40


def test_merged_results_pipeline_uses_the_source_branch_commit() -> None:
    git = git_context_from_ci(
        ci_env(
            **BASE,
            CI_COMMIT_SHA="e" * 40,  # the synthetic merge commit
            CI_MERGE_REQUEST_IID="7",
            CI_MERGE_REQUEST_EVENT_TYPE="merged_result",
            CI_MERGE_REQUEST_SOURCE_BRANCH_SHA="b" * 40,
        )
    )
    assert git.commit == "b" * 40
    assert git.mr_url == "https://gitlab.example.com/shop/app/-/merge_requests/7"


def test_outside_a_gitlab_job_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Not inside a GitLab CI job"):
        git_context_from_ci(ci_env())
