"""Secret patterns for redaction: what a credential looks like in logs, events and specs.

Each pattern names its kind (used in the placeholder), the regex, which group holds the secret
(0 = the whole match) and literal hints: the regex only runs when one hint occurs in the text,
so clean text costs a few substring scans. Hints are lower-case when `ignore_case` is set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SecretPattern:
    """`regex` is case-sensitive. For `ignore_case` patterns it is written in lower case and
    runs on the lower-cased text (much faster than re.IGNORECASE); `folded` is the
    re.IGNORECASE twin for texts whose lower-case form changes length."""

    kind: str
    regex: re.Pattern[str]
    group: int
    hints: tuple[str, ...]
    ignore_case: bool = False
    folded: re.Pattern[str] | None = None


def _p(kind: str, rx: str, group: int, hints: tuple[str, ...], flags: int = 0) -> SecretPattern:
    if flags & re.IGNORECASE:
        return SecretPattern(
            kind, re.compile(rx), group, hints, True, re.compile(rx, re.IGNORECASE)
        )
    return SecretPattern(kind, re.compile(rx), group, hints)


_I = re.IGNORECASE
_KEYWORDS = (
    r"password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key"
    r"|private[_-]?key|account[_-]?key|shared[_-]?access[_-]?key|auth[_-]?key|credentials?"
    r"|client[_-]?secret|dsn|database[_-]?url|conn(?:ection)?[_-]?string"
)

# Order matters: specific shapes first, then the generic key/value rule.
PATTERNS: tuple[SecretPattern, ...] = (
    _p(
        "private-key",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[A-Za-z0-9+/=\s\\]*"
        r"(?:-----END [A-Z ]*PRIVATE KEY-----)?",
        0,
        ("PRIVATE KEY-----",),
    ),
    _p("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", 0, ("eyJ",)),
    _p(
        "aws-access-key",
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b",
        0,
        ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"),
    ),
    _p(
        "aws-secret-key",
        r"aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
        1,
        ("secret",),
        _I,
    ),
    _p("gcp-api-key", r"\bAIza[0-9A-Za-z_-]{35}", 0, ("AIza",)),
    _p("slack-token", r"\bxox[baprse]-[A-Za-z0-9-]{10,}", 0, ("xox",)),
    _p("slack-webhook", r"hooks\.slack\.com/services/([A-Za-z0-9_/-]+)", 1, ("hooks.slack.com",)),
    _p(
        "gitlab-token",
        r"\bgl(?:pat|dt|rt|cbt|ptt|ft|imt|agent|soat|oas)-[A-Za-z0-9_.-]{16,}",
        0,
        ("gl",),
    ),
    _p(
        "github-token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})",
        0,
        ("gh", "github_pat_"),
    ),
    _p("anthropic-key", r"\bsk-ant-[A-Za-z0-9_-]{20,}", 0, ("sk-ant-",)),
    _p("openai-key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", 0, ("sk-",)),
    _p(
        "stripe-key",
        r"\b(?:[sr]k|pk)_(?:live|test)_[A-Za-z0-9]{16,}|\bwhsec_[A-Za-z0-9]{16,}",
        0,
        ("_live_", "_test_", "whsec_"),
    ),
    _p(
        "azure-key",
        r"(?:accountkey|sharedaccesskey|sharedaccesssignature)=([^;\s\"']+)",
        1,
        ("accountkey=", "sharedaccess"),
        _I,
    ),
    _p("azure-sas", r"[?&]sig=([A-Za-z0-9%+/=]{16,})", 1, ("sig=",)),
    _p(
        "auth-header",
        r"\b(?:bearer|basic|digest|token)\s+((?=[A-Za-z._~-]*[0-9+/=])[A-Za-z0-9._~+/=-]{12,})",
        1,
        ("bearer", "basic", "digest", "token"),
        _I,
    ),
    _p("url-password", r"\b[a-z][a-z0-9+.-]*://[^/\s:@\"']+:([^@\s/\"']+)@", 1, ("://",), _I),
    _p(
        "credential",
        # The key only has to end with a keyword, so the scan can start at the keyword.
        r"(?:" + _KEYWORDS + r")[\"']?\s*[:=]\s*(\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',;&}\])]+)",
        1,
        ("pass", "pwd", "secret", "token", "key", "credential", "dsn", "database", "conn"),
        _I,
    ),
)

NOT_SECRET_VALUES = frozenset(
    {
        "",
        "true",
        "false",
        "null",
        "none",
        "nil",
        "yes",
        "no",
        "on",
        "off",
        "required",
        "missing",
        "empty",
        "unset",
        "set",
        "invalid",
        "expired",
        "redacted",
        "***",
        "n/a",
        "undefined",
        "present",
        "absent",
        "ok",
        "not",
        "is",
        "was",
        "has",
        "for",
        "the",
    }
)

_SENSITIVE_NAME = re.compile(
    r"pass|pwd|secret|token|key|credential|dsn|database_url|db_url|conn|auth|private|cert"
    r"|signature|salt|session|cookie|webhook",
    re.IGNORECASE,
)


def is_sensitive_name(name: str) -> bool:
    """True for env var names whose values are secrets by context (DB_PASSWORD, API_KEY…)."""
    return _SENSITIVE_NAME.search(name) is not None


def is_placeholder(value: str) -> bool:
    """Values that are references or already redacted, not secrets (`${X}`, `<x>`, `[REDACTED…`)."""
    stripped = value.strip("\"'")
    return (
        stripped.lower() in NOT_SECRET_VALUES
        or stripped.startswith(("[REDACTED", "${", "$(", "<", "/", "{{", "%"))
        or set(stripped) <= {"*", "x", "X", "-", "."}
    )
