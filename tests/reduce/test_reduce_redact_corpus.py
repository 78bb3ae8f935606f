"""Redaction corpus: every fake secret disappears entirely; every near-miss survives unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy_assistant.reduce.redact import Redactor

_CORPUS: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "redaction_corpus.yaml").read_text(encoding="utf-8")
)
SECRETS: list[dict[str, str]] = _CORPUS["secrets"]
NEAR_MISSES: list[str] = _CORPUS["near_misses"]
_WINDOW = 10


def test_corpus_is_large_enough() -> None:
    assert len(SECRETS) >= 60
    assert len(NEAR_MISSES) >= 60


@pytest.mark.parametrize("case", SECRETS, ids=[f"secret-{i}" for i in range(len(SECRETS))])
def test_secret_is_redacted_without_leftovers(case: dict[str, str]) -> None:
    out = Redactor().redact(case["line"])
    secret = case["secret"]
    assert "[REDACTED:" in out
    leftovers = [
        secret[i : i + _WINDOW]
        for i in range(max(1, len(secret) - _WINDOW + 1))
        if secret[i : i + _WINDOW] in out
    ]
    assert leftovers == [], out


@pytest.mark.parametrize("line", NEAR_MISSES, ids=[f"near-{i}" for i in range(len(NEAR_MISSES))])
def test_near_miss_survives_unchanged(line: str) -> None:
    assert Redactor().redact(line) == line


def _corpus_text() -> str:
    """The corpus as one text; a private key without its END line runs to the end of the text,
    so those lines come last."""
    unterminated = [
        c["line"] for c in SECRETS if "PRIVATE KEY" in c["line"] and "-----END" not in c["line"]
    ]
    lines = [c["line"] for c in SECRETS if c["line"] not in unterminated]
    return "\n".join(lines + NEAR_MISSES + unterminated)


def test_whole_corpus_as_one_text_keeps_near_misses_and_drops_secrets() -> None:
    out = Redactor().redact(_corpus_text())
    assert all(c["secret"] not in out for c in SECRETS)
    assert all(line in out for line in NEAR_MISSES)


def test_redaction_is_idempotent_on_the_corpus() -> None:
    once = Redactor().redact(_corpus_text())
    assert Redactor().redact(once) == once
