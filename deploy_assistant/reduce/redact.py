"""Redaction: every secret is replaced by a deterministic placeholder before text leaves.

Placeholders look like `[REDACTED:aws-access-key#1]`. One `Redactor` numbers the secrets of one
context: the same value always gets the same placeholder, so a repeated credential stays
recognisable without being readable. Work is linear in the text: each pattern runs only when
one of its literal hints occurs (`secrets.PATTERNS`).
"""

from __future__ import annotations

import re
from typing import Any

from deploy_assistant.models import GitContext, KubeObject, LogEntry, RawContext
from deploy_assistant.reduce.secrets import (
    CONTEXTUAL_KINDS,
    PATTERNS,
    SecretPattern,
    accepts_candidate,
    is_placeholder,
    is_sensitive_name,
)
from deploy_assistant.reduce.spec_secrets import (
    is_arg_list,
    known_secret_regex,
    searchable_secret,
    secret_arg_indexes,
    spec_secret_values,
)

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Pair names start after a delimiter only, so a long run without `=` is scanned once.
_COOKIE_PAIR = re.compile(r"(?<![^;,\s])([^=;,\s]+)=([^;,\s]*)")
_MYSQL_PASSWORD = re.compile(r"(?<!\S)-p(\"(?:[^\"\\\n]|\\.)*+\"|'[^'\n]*'|[^\s\"'|;&]+)")
_COOKIE_ATTRIBUTES = frozenset(
    {"path", "domain", "expires", "max-age", "samesite", "priority", "version", "comment"}
)


class Redactor:
    """Stateful redactor for one context. `redact` is safe to call on any text."""

    def __init__(self, known_secrets: tuple[str, ...] = ()) -> None:
        self._placeholders: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._known: re.Pattern[str] | None = None
        self._known_values: set[str] = set()
        self.add_known_secrets(known_secrets)

    def add_known_secrets(self, values: tuple[str, ...] | list[str]) -> None:
        """Exact strings (from the pod spec) to redact wherever they appear; short ones as whole
        tokens, references and 1–2 character values not at all (`spec_secrets`)."""
        usable = {v for v in values if searchable_secret(v)}
        if usable <= self._known_values:
            return
        self._known_values |= usable
        self._known = known_secret_regex(self._known_values)

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder of `value`; numbered per kind in order of first sight."""
        existing = self._placeholders.get(value)
        if existing is not None:
            return existing
        number = self._counts.get(kind, 0) + 1
        self._counts[kind] = number
        text = f"[REDACTED:{kind}#{number}]"
        self._placeholders[value] = text
        return text

    def redact(self, text: str) -> str:
        """Return `text` with every recognised secret replaced by its placeholder."""
        if not text:
            return text
        if self._known is not None and any(value in text for value in self._known_values):
            text = self._known.sub(self._known_replacement, text)
        lowered: str | None = None
        # Patterns sharing hints (the two credential rules) scan for them once per text.
        hints_seen: dict[tuple[tuple[str, ...], bool], bool] = {}
        for pattern in PATTERNS:
            if pattern.ignore_case and lowered is None:
                lowered = text.lower()
            haystack = lowered if pattern.ignore_case and lowered is not None else text
            key = (pattern.hints, pattern.ignore_case)
            if key not in hints_seen:
                hints_seen[key] = any(hint in haystack for hint in pattern.hints)
            if hints_seen[key]:
                replaced = self._substitute(pattern, text, haystack)
                if replaced is not text:
                    text, lowered = replaced, None
                    hints_seen.clear()
        return text

    def _known_replacement(self, match: re.Match[str]) -> str:
        found = match.group(0)
        return found if match.group("placeholder") else self.placeholder("env-secret", found)

    def _substitute(self, pattern: SecretPattern, text: str, haystack: str) -> str:
        """Replace the secret group of each match; matches are found in `haystack` (the text,
        or its lower-case form of the same length) and cut from `text`."""
        regex = pattern.regex
        if haystack is not text and len(haystack) != len(text):
            regex, haystack = pattern.folded or regex, text
        pieces: list[str] = []
        position = 0
        for match in regex.finditer(haystack):
            start, end = match.span(pattern.group)
            replacement = self._replacement(pattern.kind, text, match.start(), start, end)
            if replacement is None:
                continue
            pieces += [text[position:start], replacement]
            position = end
        if not pieces:
            return text
        pieces.append(text[position:])
        return "".join(pieces)

    def _replacement(
        self, kind: str, text: str, match_start: int, start: int, end: int
    ) -> str | None:
        """What replaces `text[start:end]`, the secret group of a `kind` match; None to keep it."""
        secret = text[start:end]
        if kind in ("cookie", "mysql-password"):
            # The match is a whole header or command; the secrets are parts of it.
            parts = _COOKIE_PAIR if kind == "cookie" else _MYSQL_PASSWORD
            replace = self._cookie_pair if kind == "cookie" else self._mysql_password
            redacted = parts.sub(replace, secret)
            return None if redacted == secret else redacted
        quote = secret[0] if secret[:1] in ("'", '"') and len(secret) > 1 else ""
        inner = secret[1:-1] if quote else secret
        if inner.startswith("[REDACTED"):
            return None
        if kind in CONTEXTUAL_KINDS and not accepts_candidate(
            kind, text, match_start, start, end, inner, quote
        ):
            return None
        return quote + self.placeholder(kind, inner) + quote

    def _mysql_password(self, match: re.Match[str]) -> str:
        value = match.group(1)
        quote = value[0] if value[:1] in ("'", '"') and len(value) > 1 else ""
        inner = value[1:-1] if quote else value
        if inner.startswith("[REDACTED") or is_placeholder(inner):
            return match.group(0)
        return f"-p{quote}{self.placeholder('mysql-password', inner)}{quote}"

    def _cookie_pair(self, match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if name.lower() in _COOKIE_ATTRIBUTES or not value or value.startswith("[REDACTED"):
            return match.group(0)
        return f"{name}={self.placeholder('cookie', value)}"

    def redact_raw_context(self, raw: RawContext) -> RawContext:
        """A new RawContext with secrets redacted in logs, events, objects and the rollout diff.

        Literal env values and credential-flag values in `args`/`command` become placeholders
        (values of sensitive env names and of credential flags are also redacted wherever they
        appear, `spec_secrets`), and the last-applied-configuration annotation (a full copy of
        the spec) is dropped.
        """
        objects = [raw.deployment or {}, *raw.replicasets, *raw.pods]
        self.add_known_secrets(list(spec_secret_values(objects)))
        return raw.model_copy(
            update={
                "deployment": self.redact_object(raw.deployment) if raw.deployment else None,
                "replicasets": tuple(self.redact_object(o) for o in raw.replicasets),
                "pods": tuple(self.redact_object(o) for o in raw.pods),
                "events": tuple(self.redact_object(o) for o in raw.events),
                "nodes": tuple(self.redact_object(o) for o in raw.nodes),
                "git": self._redact_git(raw.git),
                "missing": tuple(self.redact(m) for m in raw.missing),
                "logs": tuple(self._redact_log(entry) for entry in raw.logs),
                "rollout_diff": tuple(
                    c.model_copy(
                        update={
                            "before": self.redact(c.before) if c.before else c.before,
                            "after": self.redact(c.after) if c.after else c.after,
                        }
                    )
                    for c in raw.rollout_diff
                ),
                "verdict": raw.verdict.model_copy(
                    update={"message": self.redact(raw.verdict.message)}
                )
                if raw.verdict
                else None,
            }
        )

    def _redact_git(self, git: GitContext | None) -> GitContext | None:
        """URLs may carry credentials (`https://gitlab-ci-token:…@host`)."""
        if git is None:
            return None
        fields = git.model_dump()
        return GitContext(
            **{k: self.redact(v) if isinstance(v, str) else v for k, v in fields.items()}
        )

    def _redact_log(self, entry: LogEntry) -> LogEntry:
        return entry.model_copy(update={"text": self.redact(entry.text)})

    def redact_object(self, obj: KubeObject) -> KubeObject:
        """A redacted deep copy of a Kubernetes object (env values → placeholders)."""
        result = self._walk(obj, key="")
        assert isinstance(result, dict)
        return result

    def _walk(self, value: Any, key: str) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            if key == "env":
                return [self._env_var(item) for item in value]
            if is_arg_list(key):
                return self._args(value, key)
            return [self._walk(item, key) for item in value]
        if isinstance(value, dict):
            return {k: self._walk(v, k) for k, v in value.items() if k != LAST_APPLIED}
        return value

    def _args(self, args: list[Any], key: str) -> list[Any]:
        """Container args: the value after a credential flag (`--db-password`, X) is a secret."""
        secret_indexes = secret_arg_indexes(args)
        return [
            self.placeholder("credential-flag", item)
            if index in secret_indexes and not item.startswith("[REDACTED")
            else self._walk(item, key)
            for index, item in enumerate(args)
        ]

    def _env_var(self, item: Any) -> Any:
        if not isinstance(item, dict):
            return self._walk(item, "")
        redacted = {k: self._walk(v, k) for k, v in item.items()}
        value = item.get("value")
        if isinstance(value, str) and value and not value.startswith("[REDACTED"):
            kind = "env-secret" if is_sensitive_name(str(item.get("name", ""))) else "env-value"
            redacted["value"] = self.placeholder(kind, value)
        return redacted


def redact_raw_context(raw: RawContext) -> RawContext:
    """Redact one RawContext with a fresh Redactor (idempotent: safe to apply twice)."""
    return Redactor().redact_raw_context(raw)


def redact_text(text: str) -> str:
    """Redact one text with a fresh Redactor (placeholders numbered within this text only)."""
    return Redactor().redact(text)
