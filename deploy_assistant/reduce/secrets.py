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
KEYWORDS = (
    r"password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key"
    r"|private[_-]?key|account[_-]?key|shared[_-]?access[_-]?key|auth[_-]?key|credentials?"
    r"|client[_-]?secret|dsn|database[_-]?url|conn(?:ection)?[_-]?string"
)

# Order matters: specific shapes first, then the generic key/value rule.
PATTERNS: tuple[SecretPattern, ...] = (
    _p(
        "private-key",
        # Lazily to the matching END line, or to the end of the text (a truncated log), whatever
        # lies between: per-line timestamps, `Proc-Type:`/`DEK-Info:` headers, escaped newlines.
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
        r"(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        0,
        ("PRIVATE KEY",),
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
    _p(
        "auth-header",
        # In an Authorization header the scheme says a credential follows, even an all-letter one.
        r"authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|digest|token|negotiate|apikey)[ \t]+"
        r"([a-z0-9._~+/=-]{8,})",
        1,
        ("authorization",),
        _I,
    ),
    # The user may be empty (`redis://:password@redis:6379/0`).
    _p(
        "url-password",
        r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*+://[^/\s:@\"']*+:([^@\s/\"']+)@",
        1,
        ("://",),
        _I,
    ),
    _p(
        "mysql-password",
        # A MySQL/MariaDB client command up to the end of the command (`|`, `;`, `&`, newline);
        # the redactor replaces its `-p<password>` (no space). Elsewhere `-p` is a port, a path
        # or a profile. Case-sensitive: `-P 3306` is the port.
        r"(?<![\w.-])(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mysqlpump"
        r"|mysqlsh|mariadb|mariadb-dump|mariadb-admin)(?![\w-])([^\n|;&]*)",
        1,
        ("mysql", "mariadb"),
    ),
    _p(
        "cookie",
        # The whole `name=value; …` list; each value is redacted apart from cookie attributes.
        r"\b(?:set-)?cookie[\"']?[ \t]*:[ \t]*[\"']?([^\n\"']+)",
        1,
        ("cookie",),
        _I,
    ),
    _p(
        "credential-flag",
        # `--db-password Zq9…`, `["--db-password","Zq9…"]` (JSON args), `- --token` / `- Zq9…`
        # (YAML lists). The match starts at the keyword; the redactor checks that a `-`/`--`
        # flag name ends with it (`--password-file` and `--token-ttl` do not).
        r"(?:" + KEYWORDS + r")(?:[ \t]++|[\"']?[ \t]*+,[ \t]*+|[\"']?[ \t]*+\n[ \t]*+-[ \t]++)"
        r"(\"(?:[^\"\\\n]|\\.)*+\"|'[^'\n]*'|[^\s\"',;\]\-][^\s\"',;\]]*)",
        1,
        ("pass", "pwd", "secret", "token", "key", "credential", "dsn", "database", "conn"),
        _I,
    ),
    _p(
        "credential",
        # The key only has to end with a keyword, so the scan can start at the keyword.
        r"(?:" + KEYWORDS + r")[\"']?\s*[:=]\s*"
        r"(\"(?:[^\"\\\n]|\\.)*+\"|'(?:[^'\\\n]|\\.)*+'|[^\s\"',;&}\])]+)",
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
    r"|signature|salt|session|cookie|webhook|(?:^|[_-])pin(?:[_-]|$)|pincode",
    re.IGNORECASE,
)
# Settings about a secret, not the secret: PASSWORD_FILE=/run/…, SESSION_TTL=3600,
# PASSWORD_MIN_LENGTH=12. Their values are ordinary words and numbers of the log text.
_ABOUT_A_SECRET = re.compile(
    r"[_-](?:file|path|dir|port|enabled|ttl|timeout|seconds|length|size|mode|algorithm)$",
    re.IGNORECASE,
)
# Stand-ins found in text where a secret would go: `$DB_PASSWORD`, `%s`, `%(pw)s`, `<password>`,
# and file paths (`/run/secrets/db`, `/etc/key.pem`); a lone `/xK9pass` is a value.
_STAND_IN = re.compile(
    r"\$[A-Z_][A-Z0-9_]*|%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-z]|<[^<>]*>"
    r"|/[^/\s]*+/\S*|/[^/\s.]*\.[^/\s]*"
)


def is_sensitive_name(name: str) -> bool:
    """True for env var names whose values are secrets by context (DB_PASSWORD, API_PIN…);
    False for names of settings about a secret (PASSWORD_FILE, SESSION_TTL)."""
    return _SENSITIVE_NAME.search(name) is not None and _ABOUT_A_SECRET.search(name) is None


def is_reference(value: str) -> bool:
    """Values that only point at a secret or are already redacted (`${X}`, `$(X)`, `{{ x }}`)."""
    return value.startswith(("[REDACTED", "${", "$(", "{{"))


def is_placeholder(value: str) -> bool:
    """Values found in text that stand in for a secret or are already redacted, not secrets
    (`${X}`, `$X`, `%s`, `<x>`, `/etc/x`, `***`, `[REDACTED…`)."""
    stripped = value.strip("\"'")
    return (
        stripped.lower() in NOT_SECRET_VALUES
        or is_reference(stripped)
        or _STAND_IN.fullmatch(stripped) is not None
        or set(stripped) <= {"*", "x", "X", "-", "."}
    )


# Kinds whose regex only finds a candidate; `_accepts` decides whether it is a credential.
CONTEXTUAL_KINDS = frozenset({"credential", "credential-flag", "auth-header"})
# `--db-password`: the text before a keyword is a flag name up to it, after a delimiter.
_FLAG_HEAD = re.compile(r"(?<![^\s\"'\[,(=])--?[\w.-]*\Z")
_FLAG_HEAD_CHARS = 64


PROSE_VALUES = frozenset(
    {
        "required",
        "missing",
        "invalid",
        "expired",
        "empty",
        "none",
        "null",
        "unset",
        "set",
        "true",
        "false",
        "yes",
        "no",
        "ok",
        "redacted",
        "hidden",
        "masked",
        "changed",
        "reset",
    }
)
"""Words that follow `password:` in messages about a password, not in front of one."""


def _looks_secret(key_and_separator: str, value: str, quote: str, after: str = "") -> bool:
    """For `key: value` / `key=value` matches: is the value a credential, not prose?

    After a colon, an unquoted all-letter word that a sentence goes on from
    (`token: signature has expired`) or a status word (`password: required`) is prose; a lone
    word ending the line or the field (`PASSWORD: correcthorse`) is a credential.
    """
    if is_placeholder(value):
        return False
    if value.lower() in PROSE_VALUES:
        return False
    separator_is_colon = "=" not in key_and_separator
    sentence_goes_on = after[:1] == " " and after[1:2].strip() != ""
    return not (separator_is_colon and not quote and value.isalpha() and sentence_goes_on)


def accepts_candidate(
    kind: str, text: str, match_start: int, start: int, end: int, inner: str, quote: str
) -> bool:
    """For the contextual kinds: is this candidate a credential? Flags must be flags
    (`--db-password X`, not `a password X`); all values must not be stand-ins or status words."""
    if kind == "credential":
        return _looks_secret(text[match_start:start], inner, quote, text[end : end + 2])
    if kind == "credential-flag":
        head_start = max(0, match_start - _FLAG_HEAD_CHARS)
        if len(inner) < 3 or _FLAG_HEAD.search(text, head_start, match_start) is None:
            return False
    return not is_placeholder(inner) and inner.lower() not in PROSE_VALUES
