"""Redactor behaviour: deterministic placeholders, env values from the spec, raw contexts."""

from __future__ import annotations

from deploy_assistant.models import GitContext
from deploy_assistant.reduce.redact import LAST_APPLIED, Redactor, redact_raw_context, redact_text
from tests.reduce.reduce_fixtures import DB_PASSWORD, crash_loop_context

FAKE_KEY = "AKIAFAKE0000EXAMPLE1"
OTHER_KEY = "AKIAFAKE1111EXAMPLE2"


def test_same_secret_gets_same_placeholder_and_different_secrets_differ() -> None:
    redactor = Redactor()
    first = redactor.redact(f"key {FAKE_KEY}")
    again = redactor.redact(f"retry with {FAKE_KEY} then {OTHER_KEY}")
    assert first == "key [REDACTED:aws-access-key#1]"
    assert again == "retry with [REDACTED:aws-access-key#1] then [REDACTED:aws-access-key#2]"


def test_numbering_is_per_kind_and_deterministic_across_redactors() -> None:
    text = f"password=s3cretPass9 key={FAKE_KEY}"
    assert Redactor().redact(text) == Redactor().redact(text)
    assert "[REDACTED:credential#1]" in Redactor().redact(text)


def test_redact_text_is_a_fresh_redactor() -> None:
    assert redact_text(f"x {FAKE_KEY}") == "x [REDACTED:aws-access-key#1]"
    assert redact_text("") == ""


def test_known_secret_is_redacted_anywhere() -> None:
    redactor = Redactor(known_secrets=("plain-words-secret",))
    out = redactor.redact("login ok as plain-words-secret today")
    assert out == "login ok as [REDACTED:env-secret#1] today"


def test_raw_context_env_values_become_placeholders_and_leave_logs() -> None:
    raw = crash_loop_context()
    redacted = Redactor().redact_raw_context(raw)
    dump = redacted.model_dump_json()
    assert DB_PASSWORD not in dump
    env = redacted.pods[0]["spec"]["containers"][0]["env"]
    assert env[0]["value"].startswith("[REDACTED:env-secret#")
    assert env[1]["value"].startswith("[REDACTED:env-value#")
    assert LAST_APPLIED not in redacted.deployment["metadata"]["annotations"]  # type: ignore[index]
    assert "[REDACTED:env-secret#" in redacted.logs[0].text


def test_raw_context_is_not_mutated() -> None:
    raw = crash_loop_context()
    before = raw.model_dump_json()
    Redactor().redact_raw_context(raw)
    assert raw.model_dump_json() == before


def test_event_and_termination_messages_are_redacted() -> None:
    raw = crash_loop_context()
    event = dict(raw.events[0]) | {"message": f"pull failed with token ghp_{'a1B2' * 9}"}
    status = raw.pods[0]["status"]["containerStatuses"][0]
    status["lastState"]["terminated"]["message"] = "boom postgres://app:Fak3Pass@db:5432/x"
    redacted = Redactor().redact_raw_context(raw.model_copy(update={"events": (event,)}))
    assert "ghp_" not in redacted.events[0]["message"]
    term = redacted.pods[0]["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert "Fak3Pass" not in term["message"]


def test_pem_block_across_lines_is_redacted_whole() -> None:
    body = "\n".join(["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + "A" * 32] * 3)
    text = f"start\n-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\nend"
    out = Redactor().redact(text)
    assert out == "start\n[REDACTED:private-key#1]\nend"


def test_large_clean_text_is_unchanged() -> None:
    text = "INFO request served in 12ms status=200 path=/api/orders\n" * 20_000
    assert Redactor().redact(text) == text


def test_redacting_a_redacted_context_changes_nothing() -> None:
    once = redact_raw_context(crash_loop_context())
    assert redact_raw_context(once) == once


def test_git_urls_with_credentials_are_redacted() -> None:
    raw = crash_loop_context().model_copy(
        update={
            "git": GitContext(
                project="shop/checkout",
                commit="3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
                pipeline_url="https://gitlab-ci-token:Fak3JobT0ken99@gitlab.example.com/p/1",
            )
        }
    )
    git = redact_raw_context(raw).git
    assert git is not None
    assert "Fak3JobT0ken99" not in (git.pipeline_url or "")
    assert git.commit == "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39"
