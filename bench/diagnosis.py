"""Diagnosis benchmark over the golden cases (tests/cases).

Rules only: failure-class accuracy, family accuracy and likely-cause phrase match, against a
majority-class baseline run in the same process. LLM path: calls and input tokens per analysis
through a scripted fake model that returns valid answers, against a naive path without cost
discipline (always classify, always summarize). Writes bench/results/diagnosis.json.

    .venv/bin/python -m bench.diagnosis
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from langchain_core.messages import BaseMessage

from deploy_assistant.analysis import chains
from deploy_assistant.analysis.cache import AnalysisCache
from deploy_assistant.analysis.rules import analyze_with_rules, classify
from deploy_assistant.models import Analysis, Classification, RawContext, ReducedContext
from deploy_assistant.reduce.ops import default_plan
from deploy_assistant.reduce.reducer import build_reduced_context
from deploy_assistant.settings import LLMSettings
from deploy_assistant.snapshot import load_snapshot
from tests.analysis.fake_chat import Responder, ScriptedChatModel

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"
RESULTS = ROOT / "bench" / "results" / "diagnosis.json"


def load_cases() -> list[tuple[str, RawContext, dict[str, Any]]]:
    cases = []
    for directory in sorted(p for p in CASES.iterdir() if (p / "snapshot.json").is_file()):
        expected = yaml.safe_load((directory / "expected.yaml").read_text(encoding="utf-8"))
        cases.append((directory.name, load_snapshot(directory / "snapshot.json"), expected))
    return cases


def rules_scores(cases: list[tuple[str, RawContext, dict[str, Any]]]) -> dict[str, Any]:
    majority = Counter(str(e["failure_class"]) for _, _, e in cases).most_common(1)[0][0]
    klass = family = phrases = baseline = 0
    misses = []
    for name, raw, expected in cases:
        found = classify(raw)
        analysis = analyze_with_rules(raw, found)
        ok_class = found.failure_class.value == expected["failure_class"]
        ok_family = found.family == expected["family"]
        cause = analysis.likely_cause.lower()
        ok_phrases = all(p.lower() in cause for p in expected.get("cause_phrases") or ())
        klass, family, phrases = klass + ok_class, family + ok_family, phrases + ok_phrases
        baseline += majority == expected["failure_class"]
        if not (ok_class and ok_family and ok_phrases):
            misses.append(name)
    n = len(cases)
    return {
        "cases": n,
        "families": len({e["family"] for _, _, e in cases}),
        "failure_class_accuracy": klass / n,
        "family_accuracy": family / n,
        "cause_phrase_match": phrases / n,
        "baseline_majority_class": majority,
        "baseline_failure_class_accuracy": baseline / n,
        "misses": misses,
    }


def valid_answers(rules: Analysis) -> Responder:
    quotes = [e.text for e in rules.evidence][:3]

    def respond(schema: str, _messages: list[BaseMessage]) -> dict[str, Any] | str:
        if schema == "ClassificationAnswer":
            return {
                "failure_class": rules.failure_class.value,
                "family": rules.family,
                "confidence": 0.7,
                "rationale": "as the rules say",
            }
        if schema == "TemplateSummaryAnswer":
            return {"summary": "The process starts, logs an error and exits."}
        return {
            "summary": rules.summary[:400],
            "likely_cause": rules.likely_cause[:600],
            "next_steps": [s[:300] for s in rules.next_steps[:6]],
            "technical_details": rules.technical_details[:1500],
            "severity": rules.severity.value,
            "evidence": [{"source": "quote", "text": q[:400]} for q in quotes],
        }

    return respond


def llm_run(raw: RawContext, reduced: ReducedContext, classification: Classification) -> Analysis:
    rules = analyze_with_rules(raw, classification)
    model = ScriptedChatModel(respond=valid_answers(rules))
    return chains.analyze(
        raw,
        reduced,
        rules_analysis=rules,
        classification=classification,
        llm=LLMSettings(model="scripted", timeout_seconds=30.0),
        chat_model=model,
        cache=AnalysisCache(),
    )


def llm_scores(cases: list[tuple[str, RawContext, dict[str, Any]]]) -> dict[str, Any]:
    calls, tokens, naive_calls, naive_tokens, used = [], [], [], [], 0
    for _, raw, _ in cases:
        found = classify(raw)
        reduced = build_reduced_context(raw, None, default_plan(found.failure_class), 3000, found)
        result = llm_run(raw, reduced, found)
        calls.append(result.usage.calls)
        tokens.append(result.usage.input_tokens)
        used += result.source == "llm"
        # Naive: no cost discipline (always classify, always summarize the logs).
        unsure = found.model_copy(update={"confidence": 0.0})
        squeezed = reduced.model_copy(update={"budget_tokens": 0})
        naive = llm_run(raw, squeezed, unsure)
        naive_calls.append(naive.usage.calls)
        naive_tokens.append(naive.usage.input_tokens)
    return {
        "median_calls": statistics.median(calls),
        "max_calls": max(calls),
        "median_input_tokens": statistics.median(tokens),
        "max_input_tokens": max(tokens),
        "llm_answer_used": used / len(cases),
        "naive_median_calls": statistics.median(naive_calls),
        "naive_median_input_tokens": statistics.median(naive_tokens),
    }


def main() -> None:
    cases = load_cases()
    rules = rules_scores(cases)
    llm = llm_scores(cases)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"rules": rules, "llm": llm}, indent=2) + "\n", encoding="utf-8")
    ratio = rules["failure_class_accuracy"] / max(rules["baseline_failure_class_accuracy"], 1e-9)
    print(f"golden cases: {rules['cases']} across {rules['families']} families")
    print(f"{'metric':38} {'value':>10} {'baseline':>10} {'ratio':>7}")
    print(
        f"{'failure-class accuracy (rules)':38} {rules['failure_class_accuracy']:>10.1%} "
        f"{rules['baseline_failure_class_accuracy']:>10.1%} {ratio:>7.2f}"
    )
    print(f"{'family accuracy (rules)':38} {rules['family_accuracy']:>10.1%}")
    print(f"{'likely-cause phrase match (rules)':38} {rules['cause_phrase_match']:>10.1%}")
    for key, naive in (("median_calls", "naive_median_calls"), ("median_input_tokens", None)):
        base = llm[naive or "naive_median_input_tokens"]
        print(
            f"{'LLM ' + key.replace('_', ' '):38} {llm[key]:>10} {base:>10} "
            f"{llm[key] / max(base, 1):>7.2f}"
        )
    print(
        f"{'LLM max calls / max input tokens':38} {llm['max_calls']:>10} "
        f"{llm['max_input_tokens']:>10}"
    )
    print(f"{'LLM answers used (not fallen back)':38} {llm['llm_answer_used']:>10.1%}")
    if rules["misses"]:
        print("misses:", ", ".join(rules["misses"]))
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
