"""GitLabNotifier against the loopback GitLab stub with the real python-gitlab."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from deploy_assistant.errors import ConfigError, NotifyUnavailable
from deploy_assistant.notify.gitlab import (
    GitLabNotifier,
    MergeRequestRef,
    best_merge_request,
    merge_request_from_ci,
)
from deploy_assistant.notify.render import note_marker, render_mr_note
from deploy_assistant.settings import CiEnvironment, GitLabSettings
from tests.notify.sample_messages import failed_message, healthy_message
from tests.stubs.gitlab_stub import GitLabStub

SHA = "3f2a9c1e5b7d4a1f9e0c2b3a4d5e6f708192a3b4"


def ci_env(**values: Any) -> CiEnvironment:
    """A CiEnvironment with exactly these variables (the test runner's own CI_* never leak in)."""
    if "CI_JOB_TOKEN" in values:
        values["CI_JOB_TOKEN"] = SecretStr(values["CI_JOB_TOKEN"])
    return CiEnvironment.model_construct(**values)


@pytest.fixture
def gl() -> Iterator[GitLabStub]:
    with GitLabStub() as stub:
        stub.add_project("shop/app", project_id=42)
        stub.add_merge_request("shop/app", 7, source_branch="feature", sha=SHA)
        yield stub


def _notifier(
    stub: GitLabStub, ci: CiEnvironment, token: str | None = None, timeout_seconds: float = 5
) -> GitLabNotifier:
    settings = GitLabSettings(url=stub.url, token=SecretStr(token or stub.token), max_retries=3)
    return GitLabNotifier(settings, ci, timeout_seconds=timeout_seconds)


def _mr_pipeline(stub: GitLabStub) -> CiEnvironment:
    return ci_env(
        CI_SERVER_URL=stub.url,
        CI_PROJECT_PATH="shop/app",
        CI_PROJECT_ID="42",
        CI_COMMIT_SHA="f" * 40,
        CI_MERGE_REQUEST_IID="7",
        CI_MERGE_REQUEST_PROJECT_URL=f"{stub.url}/shop/app",
        CI_MERGE_REQUEST_SOURCE_BRANCH_SHA=SHA,
    )


def _post(notifier: GitLabNotifier, message: Any = None) -> Any:
    message = message or failed_message()
    return notifier.post(render_mr_note(message), note_marker(message))


def test_mr_pipeline_posts_one_note_on_the_target_project(gl: GitLabStub) -> None:
    post = _post(_notifier(gl, _mr_pipeline(gl)))
    assert post.created
    assert post.mr == MergeRequestRef("shop/app", 7, f"{gl.url}/shop/app/-/merge_requests/7")
    assert post.url == f"{gl.url}/shop/app/-/merge_requests/7#note_{post.note_id}"
    (note,) = gl.notes("shop/app", 7)
    assert note["body"].startswith(note_marker(failed_message()))
    assert gl.requests[-1].headers["PRIVATE-TOKEN"] == "glpat-test"


def test_second_post_updates_the_same_note_never_duplicates(gl: GitLabStub) -> None:
    notifier = _notifier(gl, _mr_pipeline(gl))
    first = _post(notifier)
    second = _post(notifier, healthy_message())
    assert not second.created
    assert second.note_id == first.note_id
    (note,) = gl.notes("shop/app", 7)
    assert "Rollout healthy" in note["body"]
    assert [r.method for r in gl.requests].count("PUT") == 1


def test_each_environment_gets_its_own_note(gl: GitLabStub) -> None:
    notifier = _notifier(gl, _mr_pipeline(gl))
    _post(notifier)
    _post(notifier, failed_message(environment="staging"))
    _post(notifier, failed_message(environment="staging"))
    assert len(gl.notes("shop/app", 7)) == 2


def test_a_human_note_quoting_the_marker_is_never_edited(gl: GitLabStub) -> None:
    marker = note_marker(failed_message())
    human = gl.add_note("shop/app", 7, f"{marker}\nI copied this")
    post = _post(_notifier(gl, _mr_pipeline(gl)))
    assert post.created
    assert gl.notes("shop/app", 7)[0]["body"] == human["body"]


def test_branch_pipeline_finds_the_mr_in_open_merge_requests(gl: GitLabStub) -> None:
    gl.add_merge_request("shop/app", 8, source_branch="topic", sha="a" * 40)
    ci = ci_env(
        CI_SERVER_URL=gl.url,
        CI_PROJECT_PATH="shop/app",
        CI_PROJECT_ID="42",
        CI_COMMIT_SHA="a" * 40,
        CI_OPEN_MERGE_REQUESTS="other/lib!3,shop/app!8",
    )
    post = _post(_notifier(gl, ci))
    assert post.mr.iid == 8
    assert len(gl.notes("shop/app", 8)) == 1
    assert not any("/repository/commits/" in r.path for r in gl.requests)


def test_default_branch_pipeline_finds_the_merged_mr_by_commit(gl: GitLabStub) -> None:
    merge_sha = "b" * 40
    gl.add_merge_request(
        "shop/app",
        9,
        state="merged",
        sha="c" * 40,
        merge_commit_sha=merge_sha,
        merged_at="2026-01-02T00:00:00Z",
    )
    ci = ci_env(
        CI_SERVER_URL=gl.url,
        CI_PROJECT_PATH="shop/app",
        CI_PROJECT_ID="42",
        CI_COMMIT_SHA=merge_sha,
    )
    post = _post(_notifier(gl, ci))
    assert post.mr.iid == 9
    assert post.mr.project == "42"
    assert any(r.path.endswith(f"/commits/{merge_sha}/merge_requests") for r in gl.requests)


def test_no_merge_request_means_no_note(gl: GitLabStub) -> None:
    ci = ci_env(
        CI_SERVER_URL=gl.url, CI_PROJECT_PATH="shop/app", CI_PROJECT_ID="42", CI_COMMIT_SHA="d" * 40
    )
    assert _post(_notifier(gl, ci)) is None
    assert gl.all_notes == []


def test_only_a_job_token_explains_that_it_cannot_write_notes() -> None:
    ci = ci_env(CI_SERVER_URL="http://127.0.0.1:9", CI_JOB_TOKEN="job-token")
    with pytest.raises(ConfigError, match=r"CI_JOB_TOKEN.*cannot write merge request notes"):
        GitLabNotifier(GitLabSettings(token=SecretStr("$DEPLOY_ASSISTANT_GITLAB_TOKEN")), ci)


def test_wrong_token_is_a_config_error(gl: GitLabStub) -> None:
    with pytest.raises(ConfigError, match=r"rejected the token \(401\)"):
        _post(_notifier(gl, _mr_pipeline(gl), token="glpat-wrong"))


@pytest.mark.parametrize("status", [429, 500, 502])
def test_rate_limits_and_server_errors_are_retried(gl: GitLabStub, status: int) -> None:
    gl.fail_next(status, times=2)
    post = _post(_notifier(gl, _mr_pipeline(gl)))
    assert post.created
    assert len(gl.notes("shop/app", 7)) == 1


def test_persistent_server_errors_raise_notify_unavailable(gl: GitLabStub) -> None:
    gl.fail_next(500, times=20)
    with pytest.raises(NotifyUnavailable, match=r"HTTP 500"):
        _post(_notifier(gl, _mr_pipeline(gl)))


def test_one_slow_answer_is_retried(gl: GitLabStub) -> None:
    gl.delay_next(0.6)
    _post(_notifier(gl, _mr_pipeline(gl), timeout_seconds=0.2))
    assert len(gl.notes("shop/app", 7)) == 1


def test_a_gitlab_that_never_answers_in_time_is_unavailable(gl: GitLabStub) -> None:
    gl.delay_next(0.6, times=20)
    with pytest.raises(NotifyUnavailable, match=r"did not answer within 0\.2 s"):
        _post(_notifier(gl, _mr_pipeline(gl), timeout_seconds=0.2))
    assert gl.all_notes == []


def test_merge_request_from_ci_variables() -> None:
    mr = merge_request_from_ci(
        ci_env(
            CI_SERVER_URL="https://gl.example",
            CI_MERGE_REQUEST_IID="12",
            CI_MERGE_REQUEST_PROJECT_URL="https://gl.example/upstream/app",
            CI_PROJECT_PATH="fork/app",
        )
    )
    assert mr == MergeRequestRef(
        "upstream/app", 12, "https://gl.example/upstream/app/-/merge_requests/12"
    )
    assert (
        merge_request_from_ci(ci_env(CI_PROJECT_PATH="a/b", CI_OPEN_MERGE_REQUESTS="c/d!1")) is None
    )


def test_best_merge_request_prefers_the_merged_one_then_the_branch() -> None:
    mrs = [
        {"iid": 1, "state": "opened", "source_branch": "other"},
        {"iid": 2, "state": "opened", "source_branch": "topic"},
        {"iid": 3, "state": "merged", "squash_commit_sha": "s", "merged_at": "2026-01-01"},
        {"iid": 4, "state": "merged", "squash_commit_sha": "s", "merged_at": "2026-02-01"},
    ]
    assert best_merge_request(mrs, "s", "topic") == mrs[3]
    assert best_merge_request(mrs[:2], "s", "topic") == mrs[1]
    assert best_merge_request(mrs[:1], "s", "topic") == mrs[0]
    assert best_merge_request([], "s", None) is None
