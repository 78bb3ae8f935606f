"""Faults on the wire: the real langchain-openai client against a loopback OpenAI stub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_openai import ChatOpenAI

from deploy_assistant.analysis import chains
from deploy_assistant.analysis.cache import AnalysisCache
from deploy_assistant.analysis.rules import analyze_with_rules, classify
from deploy_assistant.models import Analysis
from deploy_assistant.settings import LLMSettings
from tests.analysis.golden import CASES_DIR, load_case, minimal_reduced
from tests.stubs.openai_stub import (
    OpenAIStub,
    StubReply,
    completion,
    error,
    json_completion,
    refusal,
    running_openai_stub,
)

CASE = "oom_killed_limit_lowered"


def answer(quotes: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "summary": "The new version runs out of memory.",
        "likely_cause": "The memory limit was lowered to 128Mi.",
        "next_steps": ["Raise spec.template.spec.containers[app].resources.limits.memory"],
        "technical_details": "OOMKilled, exit 137.",
        "severity": "high",
        "evidence": [{"source": "status", "text": q} for q in quotes],
        **extra,
    }


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with running_openai_stub() as running:
        yield running


def analyzed(
    stub: OpenAIStub,
    replies: list[StubReply],
    *,
    case: str = CASE,
    client_timeout_seconds: float = 5.0,
    hard_timeout_seconds: float = 10.0,
) -> Analysis:
    stub.replies = replies
    raw = load_case(CASES_DIR / case).raw
    classification = classify(raw)
    model = ChatOpenAI(
        base_url=stub.base_url,
        api_key="sk-test",
        model="stub-model",
        max_retries=0,
        timeout=client_timeout_seconds,
    )
    return chains.analyze(
        raw,
        minimal_reduced(raw, classification),
        rules_analysis=analyze_with_rules(raw, classification),
        classification=classification,
        llm=LLMSettings(model="openai:stub-model", timeout_seconds=hard_timeout_seconds),
        chat_model=model,
        cache=AnalysisCache(),
    )


def test_valid_grounded_answer_is_used_with_its_usage(stub: OpenAIStub) -> None:
    result = analyzed(stub, [json_completion(answer(["OOMKilled"]), prompt_tokens=1234)])
    assert (result.source, result.fallback_reason) == ("llm", None)
    assert result.usage.input_tokens == 1234
    assert result.usage.calls == 1
    assert len(stub.requests) == 1


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (error(429, "Rate limit reached"), "RateLimitError"),
        (error(500, "upstream exploded"), "Error code: 500"),
        (completion("{not json"), "ValidationError"),
        (completion("I cannot help with that."), "ValidationError"),
        (refusal("I can't help with that request."), "the model refused"),
    ],
    ids=["429", "500", "invalid-json", "plain-text", "refusal"],
)
def test_http_and_format_faults_fall_back_to_rules(
    stub: OpenAIStub, reply: StubReply, reason: str
) -> None:
    result = analyzed(stub, [reply])
    assert result.source == "rules"
    assert result.fallback_reason is not None
    assert reason in result.fallback_reason
    assert result.family == "oom_killed"


def test_client_timeout_falls_back(stub: OpenAIStub) -> None:
    result = analyzed(stub, [StubReply(hold=True)], client_timeout_seconds=0.3)
    assert result.source == "rules"
    assert result.fallback_reason is not None
    assert "Timeout" in result.fallback_reason


def test_hard_timeout_wins_over_a_patient_client(stub: OpenAIStub) -> None:
    result = analyzed(
        stub, [StubReply(hold=True)], client_timeout_seconds=30.0, hard_timeout_seconds=0.3
    )
    assert result.source == "rules"
    assert result.fallback_reason == "the model did not answer within 0.3 s"


def test_schema_valid_answer_with_invented_evidence_is_rejected(stub: OpenAIStub) -> None:
    invented = "Killed process 4242 (java) total-vm:8123456kB"
    result = analyzed(stub, [json_completion(answer([invented]))])
    assert result.source == "rules"
    assert result.fallback_reason is not None
    assert "not in the context" in result.fallback_reason


def test_prompt_injection_in_logs_cannot_change_the_schema(stub: OpenAIStub) -> None:
    # The crash log of this case carries an injected instruction; the stub plays a model that
    # obeys it and adds a field, which the fixed schema refuses.
    obeyed = answer(["OOMKilled"], pwned=True)
    result = analyzed(stub, [json_completion(obeyed)], case="prompt_injection_in_logs")
    request = stub.requests[0]
    user = request["messages"][-1]["content"]
    schema = request["response_format"]["json_schema"]["schema"]
    assert user.count("</untrusted-data>") == 1
    assert "Ignore all previous instructions" in user
    assert schema["additionalProperties"] is False
    assert "pwned" not in json.dumps(schema)
    assert result.source == "rules"
    assert result.family == "missing_env_config"


def test_prompt_injection_does_not_stop_a_valid_answer(stub: OpenAIStub) -> None:
    quote = "KeyError: 'STRIPE_API_KEY'"
    result = analyzed(stub, [json_completion(answer([quote]))], case="prompt_injection_in_logs")
    assert result.source == "llm"
    assert result.evidence[0].text == quote
