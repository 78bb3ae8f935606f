"""Opt-in: the chains end to end against a tiny real model on an OpenAI-compatible server.

Run with `DA_TEST_LLM_URL=http://127.0.0.1:8021/v1 pytest -m llm tests/analysis` (a llama-server
with SmolLM2-135M is enough: the wire path is the point, not the quality of the answer).
Asserts shape and accounting only, never wording.
"""

from __future__ import annotations

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy_assistant.analysis import chains
from deploy_assistant.analysis.cache import AnalysisCache
from deploy_assistant.analysis.rules import analyze_with_rules, classify
from deploy_assistant.errors import LLMUnavailable
from deploy_assistant.models import Analysis
from deploy_assistant.settings import LLMSettings
from tests.analysis.golden import CASES_DIR, load_case, minimal_reduced


class RealModelTarget(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DA_TEST_LLM_", extra="ignore")

    url: str | None = None
    model: str = "smollm2"


TARGET = RealModelTarget()
pytestmark = [
    pytest.mark.llm,
    pytest.mark.skipif(TARGET.url is None, reason="DA_TEST_LLM_URL is not set"),
]


def settings() -> LLMSettings:
    return LLMSettings(
        model=TARGET.model, base_url=TARGET.url, timeout_seconds=120.0, max_output_tokens=300
    )


def test_main_chain_end_to_end() -> None:
    raw = load_case(CASES_DIR / "oom_killed_limit_lowered").raw
    classification = classify(raw)
    result = chains.analyze(
        raw,
        minimal_reduced(raw, classification),
        rules_analysis=analyze_with_rules(raw, classification),
        classification=classification,
        llm=settings(),
        cache=AnalysisCache(),
    )
    assert isinstance(result, Analysis)
    assert result.usage.calls == 1
    assert result.source == "llm" or result.fallback_reason
    if result.source == "llm":
        assert result.usage.input_tokens > 0


def test_classification_chain_answers_in_schema() -> None:
    raw = load_case(CASES_DIR / "missing_configmap_env").raw
    reduced = minimal_reduced(raw)
    model = chains.chat_model_from_settings(settings())
    meter = chains.Meter()
    try:
        found = chains.classification_from_llm(model, reduced, meter)
    except LLMUnavailable:
        pytest.xfail("the tiny model answered out of schema; the fallback path covers it")
    assert 0.0 <= found.confidence <= 1.0
    assert meter.usage().input_tokens > 0
