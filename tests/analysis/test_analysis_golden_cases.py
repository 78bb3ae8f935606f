"""Every golden case through the rules: class, family, the likely cause's words, quoted evidence."""

from __future__ import annotations

import pytest

from deploy_assistant.analysis import families
from deploy_assistant.analysis.rules import analyze_with_rules, classify
from deploy_assistant.analysis.signals import context_texts, is_quoted_from
from tests.analysis.golden import CASES_DIR, case_names, load_case


@pytest.mark.parametrize("name", case_names())
def test_rules_diagnose_golden_case(name: str) -> None:
    case = load_case(CASES_DIR / name)
    classification = classify(case.raw)
    analysis = analyze_with_rules(case.raw, classification)

    assert (classification.failure_class.value, classification.family) == (
        case.failure_class,
        case.family,
    )
    assert analysis.family == case.family
    cause = analysis.likely_cause.lower()
    missing_phrases = [p for p in case.cause_phrases if p.lower() not in cause]
    assert not missing_phrases, analysis.likely_cause
    quoted = [e.text for e in analysis.evidence]
    missing_quotes = [q for q in case.evidence if not any(q in text for text in quoted)]
    assert not missing_quotes, quoted
    texts = context_texts(case.raw)
    invented = [e.text for e in analysis.evidence if not is_quoted_from(e.text, texts)]
    assert not invented


def test_golden_cases_cover_twenty_families() -> None:
    covered = {load_case(CASES_DIR / name).family for name in case_names()}
    assert len(case_names()) >= 40
    assert len(covered) >= 20
    assert covered <= set(families.FAMILIES)
