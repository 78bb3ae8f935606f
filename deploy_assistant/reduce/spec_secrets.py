"""Secrets the pod spec tells us: literal values of sensitive env vars and of credential flags.

A pod spec names its secrets: `DB_PASSWORD=%Xk9Lm2qPz`, `API_PIN=7291`, or
`args: ["--db-password", "Zq9vLmx7Kp2w"]`. Those exact values are redacted wherever they show up
in log text, whatever they look like, since the name already says they are secrets. Only
references (`${X}`, `$(X)`, `{{ x }}`) are skipped. `known_secret_regex` finds them in linear
time: one alternation of literals, longest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from deploy_assistant.models import KubeObject
from deploy_assistant.reduce.secrets import KEYWORDS, is_reference, is_sensitive_name

MIN_KNOWN_SECRET_CHARS = 3
"""A 1–2 character value is not searched for: it would match inside ordinary words and numbers
all over the text, and a secret that short is guessable anyway (it is still replaced in the
spec itself)."""

WHOLE_TOKEN_BELOW_CHARS = 5
"""Shorter values (`7291`, `abcd`) are matched only as whole tokens, so `7291` does not cut
`172910` or `abcd` cut `abcdef` apart."""

# A flag of boolean meaning is a switch, never a password: AUTH_ENABLED=true, SESSION_SECURE=on.
_SWITCH_WORDS = frozenset({"true", "false", "yes", "off", "null", "none"})

# `--db-password`, `-token`, `--client_secret`: a flag whose name ends with a credential keyword.
_SECRET_FLAG = re.compile(r"--?[a-z0-9_.-]*(?:" + KEYWORDS + r")")
_MAX_FLAG_CHARS = 100
_ARG_LISTS = frozenset({"args", "command"})
_PLACEHOLDER_TEXT = r"(?P<placeholder>\[REDACTED:[\w-]+#\d+\])"


def is_secret_flag(arg: str) -> bool:
    """True for a command-line flag whose value is a credential (`--db-password`), not for
    flags about one (`--password-file`, `--token-ttl`)."""
    return len(arg) <= _MAX_FLAG_CHARS and _SECRET_FLAG.fullmatch(arg.lower()) is not None


def searchable_secret(value: str) -> bool:
    """Whether a spec secret value is worth searching for in text (see the module docstring)."""
    return (
        len(value) >= MIN_KNOWN_SECRET_CHARS
        and not is_reference(value)
        and value.lower() not in _SWITCH_WORDS
    )


def known_secret_regex(values: Iterable[str]) -> re.Pattern[str] | None:
    """One regex finding any of `values`; short ones only as whole tokens. Existing placeholders
    match first as the group `placeholder`, so a value never cuts into one (`env` in
    `[REDACTED:env-secret#1]`). None when there is nothing to search for."""
    ordered = sorted(set(values), key=lambda v: (-len(v), v))
    if not ordered:
        return None
    return re.compile("|".join([_PLACEHOLDER_TEXT, *map(_literal, ordered)]))


def _literal(value: str) -> str:
    text = re.escape(value)
    if len(value) >= WHOLE_TOKEN_BELOW_CHARS:
        return text
    before = r"(?<!\w)" if re.match(r"\w", value) else ""
    after = r"(?!\w)" if re.match(r"\w", value[-1]) else ""
    return before + text + after


def spec_secret_values(objects: Iterable[KubeObject]) -> Iterator[str]:
    """Literal values of sensitive env vars and of credential flags in `args`/`command` lists,
    anywhere in `objects` (pod templates of Deployments and ReplicaSets, pod specs)."""
    for key, items in _named_lists(list(objects)):
        if key == "env":
            yield from _env_secret_values(items)
        else:
            yield from flag_secret_values(items)


def flag_secret_values(args: list[Any]) -> Iterator[str]:
    """Values of credential flags in one argument list: `--db-password X` and `--password=X`."""
    previous: Any = None
    for arg in args:
        if isinstance(arg, str):
            name, equals, value = arg.partition("=")
            if equals and value and is_secret_flag(name):
                yield value
            elif isinstance(previous, str) and is_secret_flag(previous) and arg[:1] != "-":
                yield arg
        previous = arg


def secret_arg_indexes(args: list[Any]) -> set[int]:
    """Indexes of the list items that are the value of the credential flag before them."""
    return {
        index
        for index in range(1, len(args))
        if isinstance(args[index], str)
        and isinstance(args[index - 1], str)
        and is_secret_flag(args[index - 1])
        and not args[index].startswith("-")
    }


def is_arg_list(key: str) -> bool:
    """Container `args` and `command` hold flags and their values."""
    return key in _ARG_LISTS


def _env_secret_values(env: list[Any]) -> Iterator[str]:
    for item in env:
        if isinstance(item, dict):
            value = item.get("value")
            if isinstance(value, str) and is_sensitive_name(str(item.get("name", ""))):
                yield value


def _named_lists(value: Any) -> Iterator[tuple[str, list[Any]]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, list) and (k == "env" or is_arg_list(k)):
                yield k, v
            else:
                yield from _named_lists(v)
    elif isinstance(value, list):
        for item in value:
            yield from _named_lists(item)
