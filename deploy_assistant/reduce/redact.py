"""Redaction: every secret is replaced by a deterministic placeholder before text leaves.

Placeholders look like `[REDACTED:aws-access-key#1]`. One `Redactor` numbers the secrets of one
context: the same value always gets the same placeholder, so a repeated credential stays
recognisable without being readable. Work is linear in the text: each pattern runs only when
one of its literal hints occurs (`secrets.PATTERNS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from deploy_assistant.models import GitContext, KubeObject, LogEntry, RawContext
from deploy_assistant.reduce.secrets import (
    PATTERNS,
    SecretPattern,
    is_placeholder,
    is_sensitive_name,
)

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_MIN_ENV_SECRET_CHARS = 5


class Redactor:
    """Stateful redactor for one context. `redact` is safe to call on any text."""

    def __init__(self, known_secrets: tuple[str, ...] = ()) -> None:
        self._placeholders: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._known: re.Pattern[str] | None = None
        self._known_values: set[str] = set()
        self.add_known_secrets(known_secrets)

    def add_known_secrets(self, values: tuple[str, ...] | list[str]) -> None:
        """Exact strings (from the pod spec) to redact wherever they appear."""
        usable = {v for v in values if len(v) >= _MIN_ENV_SECRET_CHARS and not is_placeholder(v)}
        if usable <= self._known_values:
            return
        self._known_values |= usable
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(self._known_values, key=lambda v: (-len(v), v))
        self._known = re.compile("|".join(map(re.escape, ordered)))

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
        if self._known is not None:
            text = self._known.sub(lambda m: self.placeholder("env-secret", m.group(0)), text)
        lowered: str | None = None
        for pattern in PATTERNS:
            if pattern.ignore_case and lowered is None:
                lowered = text.lower()
            haystack = lowered if pattern.ignore_case and lowered is not None else text
            if any(hint in haystack for hint in pattern.hints):
                replaced = self._substitute(pattern, text, haystack)
                if replaced is not text:
                    text, lowered = replaced, None
        return text

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
            secret = text[start:end]
            quote = secret[0] if secret[:1] in ("'", '"') and len(secret) > 1 else ""
            inner = secret[1:-1] if quote else secret
            if inner.startswith("[REDACTED"):
                continue
            if pattern.kind == "credential" and not _looks_secret(
                text[match.start() : start], inner, quote, text[end : end + 2]
            ):
                continue
            pieces += [text[position:start], quote, self.placeholder(pattern.kind, inner), quote]
            position = end
        if not pieces:
            return text
        pieces.append(text[position:])
        return "".join(pieces)

    def redact_raw_context(self, raw: RawContext) -> RawContext:
        """A new RawContext with secrets redacted in logs, events, objects and the rollout diff.

        Literal env values in every pod template become placeholders (sensitive names are also
        redacted wherever the value appears), and the last-applied-configuration annotation
        (a full copy of the spec) is dropped.
        """
        objects = [raw.deployment or {}, *raw.replicasets, *raw.pods]
        self.add_known_secrets(list(_sensitive_env_values(objects)))
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
            return [self._walk(item, key) for item in value]
        if isinstance(value, dict):
            return {k: self._walk(v, k) for k, v in value.items() if k != LAST_APPLIED}
        return value

    def _env_var(self, item: Any) -> Any:
        if not isinstance(item, dict):
            return self._walk(item, "")
        redacted = {k: self._walk(v, k) for k, v in item.items()}
        value = item.get("value")
        if isinstance(value, str) and value and not value.startswith("[REDACTED"):
            kind = "env-secret" if is_sensitive_name(str(item.get("name", ""))) else "env-value"
            redacted["value"] = self.placeholder(kind, value)
        return redacted


def _sensitive_env_values(objects: list[KubeObject]) -> Iterator[str]:
    for obj in objects:
        for env in _env_lists(obj):
            for item in env:
                if not isinstance(item, dict):
                    continue
                value = item.get("value")
                if isinstance(value, str) and is_sensitive_name(str(item.get("name", ""))):
                    yield value


def _env_lists(value: Any) -> Iterator[list[Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "env" and isinstance(v, list):
                yield v
            else:
                yield from _env_lists(v)
    elif isinstance(value, list):
        for item in value:
            yield from _env_lists(item)


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


def redact_raw_context(raw: RawContext) -> RawContext:
    """Redact one RawContext with a fresh Redactor (idempotent: safe to apply twice)."""
    return Redactor().redact_raw_context(raw)


def redact_text(text: str) -> str:
    """Redact one text with a fresh Redactor (placeholders numbered within this text only)."""
    return Redactor().redact(text)
