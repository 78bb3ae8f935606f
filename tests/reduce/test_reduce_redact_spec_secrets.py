"""Secrets the pod spec names (env values, credential flags in args) leave every text; huge
inputs stay linear."""

from __future__ import annotations

import re
from typing import Any

import pytest

from deploy_assistant.models import FieldChange, LogEntry, RawContext
from deploy_assistant.reduce.redact import Redactor
from tests.reduce.reduce_fixtures import crash_loop_context

CRASH_LINE = "FATAL: password authentication failed (tried %Xk9Lm2qPz, pin 7291)"


def _context(env: list[dict[str, Any]], args: list[str], log: str, diff: str = "") -> RawContext:
    raw = crash_loop_context()
    container = raw.pods[0]["spec"]["containers"][0]
    container["env"] = env
    container["args"] = args
    changes = (FieldChange(field="container/app.args", before=None, after=diff),) if diff else ()
    return raw.model_copy(
        update={
            "logs": (LogEntry(pod="checkout-new-abcde", container="app", text=log),),
            "rollout_diff": changes,
        }
    )


@pytest.mark.parametrize("value", ["%Xk9Lm2qPz", "<Strong>pw1", "/xK9pass", "7291", "abc"])
def test_sensitive_env_values_leave_logs_whatever_they_look_like(value: str) -> None:
    raw = _context([{"name": "DB_PASSWORD", "value": value}], [], f"login with {value} failed")
    out = Redactor().redact_raw_context(raw)
    assert re.fullmatch(r"login with \[REDACTED:env-secret#\d\] failed", out.logs[0].text)


def test_short_env_values_are_redacted_as_whole_tokens_only() -> None:
    env = [{"name": "DB_PASSWORD", "value": "%Xk9Lm2qPz"}, {"name": "API_PIN", "value": "7291"}]
    log = f"{CRASH_LINE}\norder 172910 total 7291.00 id=7291x"
    out = Redactor().redact_raw_context(_context(env, [], log)).logs[0].text
    assert "%Xk9Lm2qPz" not in out
    pin = r"\[REDACTED:env-secret#\d\]"
    assert re.search(rf"pin {pin}\)\norder 172910 total {pin}\.00 id=7291x$", out)


@pytest.mark.parametrize("value", ["${DB_PASSWORD}", "$(DB_PASSWORD)", "{{ .Values.pw }}", "ab"])
def test_references_and_one_or_two_char_values_are_not_searched(value: str) -> None:
    log = f"value {value} in abba"
    out = Redactor().redact_raw_context(_context([{"name": "PW", "value": value}], [], log))
    assert out.logs[0].text == log
    assert out.pods[0]["spec"]["containers"][0]["env"][0]["value"].startswith("[REDACTED:")


def test_settings_about_a_secret_are_not_searched_in_logs() -> None:
    env = [
        {"name": "PASSWORD_FILE", "value": "/run/secrets/db"},
        {"name": "SESSION_TTL", "value": "3600"},
    ]
    log = "reading /run/secrets/db; session ttl 3600"
    out = Redactor().redact_raw_context(_context(env, [], log))
    assert out.logs[0].text == log


def test_known_short_value_never_cuts_into_a_placeholder() -> None:
    redactor = Redactor(known_secrets=("env", "REDACTED"))
    once = redactor.redact("password=S3cr3tPw7x env ok")
    assert once == "password=[REDACTED:credential#1] [REDACTED:env-secret#1] ok"
    assert redactor.redact(once) == once


def test_credential_flag_values_in_args_leave_spec_diff_and_logs() -> None:
    args = ["--db-password", "Zq9vLmx7Kp2w", "--port", "8080", "--api-token=Tk7pQw2mZx9v"]
    diff = '["--db-password","Zq9vLmx7Kp2w","--redis-url","redis://:R3disPassw0rd@redis:6379/0"]'
    log = "config: db pass Zq9vLmx7Kp2w, token Tk7pQw2mZx9v, redis://:R3disPassw0rd@redis:6379/0"
    out = Redactor().redact_raw_context(_context([], args, log, diff))
    dump = out.model_dump_json()
    for secret in ("Zq9vLmx7Kp2w", "Tk7pQw2mZx9v", "R3disPassw0rd"):
        assert secret not in dump
    redacted_args = out.pods[0]["spec"]["containers"][0]["args"]
    assert redacted_args[0] == "--db-password"
    assert redacted_args[1].startswith("[REDACTED:")
    assert redacted_args[2:4] == ["--port", "8080"]
    assert "redis:6379/0" in out.rollout_diff[0].after  # type: ignore[operator]


def test_cookie_attributes_survive_and_values_do_not() -> None:
    out = Redactor().redact("Set-Cookie: sid=Qz8mXk2vLp9w; Path=/; Max-Age=3600; HttpOnly")
    assert out == "Set-Cookie: sid=[REDACTED:cookie#1]; Path=/; Max-Age=3600; HttpOnly"


def test_private_key_without_end_line_is_redacted_to_the_end() -> None:
    text = "ok\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nrest of log"
    assert Redactor().redact(text) == "ok\n[REDACTED:private-key#1]"


def test_ten_megabyte_lines_are_handled() -> None:
    plain = "a" * 10_000_000
    assert Redactor().redact(plain) == plain
    key = "-----BEGIN RSA PRIVATE KEY-----" + "A" * 10_000_000
    assert Redactor().redact(key) == "[REDACTED:private-key#1]"
