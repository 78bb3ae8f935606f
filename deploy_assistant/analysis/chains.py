"""The LLM chains (seed §15), and the only module that imports LangChain.

`analyze` improves the rules' Analysis with a model and never makes it worse: any error,
timeout, refusal, schema violation or evidence the model cannot quote from the context returns
the rules' Analysis, marked with a `fallback_reason`. Cost discipline: the classification chain
runs only when the rules are unsure (< 0.8), the log-summary chain only when the logs do not fit
the budget, the main chain exactly once; answers are cached by (context, model, PROMPT_VERSION).

LangChain is imported inside functions: `import langchain` costs about 1.5 s, and a run without
a model must not pay it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from deploy_assistant.analysis import families
from deploy_assistant.analysis import prompt as prompts
from deploy_assistant.analysis.cache import AnalysisCache, cache_for
from deploy_assistant.analysis.schemas import (
    AnalysisAnswer,
    ClassificationAnswer,
    ReductionPlanAnswer,
    TemplateSummaryAnswer,
)
from deploy_assistant.analysis.signals import context_texts, is_quoted_from
from deploy_assistant.errors import LLMUnavailable
from deploy_assistant.models import (
    Analysis,
    Classification,
    Evidence,
    RawContext,
    ReducedContext,
    TokenUsage,
)
from deploy_assistant.settings import LLMSettings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

CONFIDENT = 0.8
"""Rules at or above this confidence skip the classification call."""
Answer = TypeVar("Answer", bound=BaseModel)


class Meter:
    """Calls made and tokens spent, summed from each answer's `usage_metadata`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.input_tokens = 0
        self.output_tokens = 0

    def count_call(self) -> None:
        with self._lock:
            self.calls += 1

    def record(self, usage: dict[str, Any] | None) -> None:
        with self._lock:
            self.input_tokens += int((usage or {}).get("input_tokens") or 0)
            self.output_tokens += int((usage or {}).get("output_tokens") or 0)

    def usage(self) -> TokenUsage:
        with self._lock:
            return TokenUsage(
                calls=self.calls, input_tokens=self.input_tokens, output_tokens=self.output_tokens
            )


def chat_model_from_settings(llm: LLMSettings) -> BaseChatModel:
    """The configured model via `init_chat_model`: `provider:model`, or any model name served
    by an OpenAI-compatible `base_url`."""
    from langchain.chat_models import init_chat_model

    name = llm.model or ""
    if llm.base_url and ":" not in name:
        name = "openai:" + name
    kwargs: dict[str, Any] = {
        "timeout": llm.timeout_seconds,
        "max_retries": 1,
        "temperature": llm.temperature,
        "max_tokens": llm.max_output_tokens,
    }
    if llm.base_url:
        kwargs["base_url"] = llm.base_url
    if llm.api_key is not None:
        kwargs["api_key"] = llm.api_key.get_secret_value()
    elif llm.base_url:
        # Local OpenAI-compatible servers take no key, but the client insists on one.
        kwargs["api_key"] = "unused"
    model: BaseChatModel = init_chat_model(name, **kwargs)
    return model


def structured_answer(
    model: BaseChatModel, schema: type[Answer], user: str, meter: Meter
) -> Answer:
    """One call that must come back as `schema`; anything else raises LLMUnavailable."""
    from langchain_core.messages import HumanMessage, SystemMessage

    runnable = model.with_structured_output(schema, include_raw=True)
    meter.count_call()
    out = runnable.invoke([SystemMessage(prompts.system_prompt()), HumanMessage(user)])
    raw_message = out.get("raw") if isinstance(out, dict) else None
    meter.record(getattr(raw_message, "usage_metadata", None))
    refused = (getattr(raw_message, "additional_kwargs", None) or {}).get("refusal")
    if refused:
        raise LLMUnavailable(f"the model refused: {refused}")
    parsed = out.get("parsed") if isinstance(out, dict) else None
    if not isinstance(parsed, schema):
        error = out.get("parsing_error") if isinstance(out, dict) else None
        raise LLMUnavailable(f"the model's answer did not match {schema.__name__}: {error}")
    return parsed


def classification_from_llm(
    model: BaseChatModel, reduced: ReducedContext, meter: Meter
) -> Classification:
    answer = structured_answer(
        model, ClassificationAnswer, prompts.classification_prompt(reduced), meter
    )
    known = answer.family in families.FAMILIES
    # A known family decides the class, so the two can never disagree.
    return Classification(
        failure_class=families.failure_class_of(answer.family) if known else answer.failure_class,
        family=answer.family if known else families.INSUFFICIENT_EVIDENCE,
        confidence=answer.confidence,
        rationale=answer.rationale,
    )


def log_summary_from_llm(model: BaseChatModel, reduced: ReducedContext, meter: Meter) -> str:
    templates = [(t.count, t.template) for x in reduced.logs for t in x.templates]
    if not templates:
        templates = [(1, line) for x in reduced.logs for line in x.lines]
    user = prompts.template_summary_prompt("log", templates[:80])
    return structured_answer(model, TemplateSummaryAnswer, user, meter).summary


def _haystack(raw: RawContext, reduced: ReducedContext) -> tuple[str, ...]:
    shown = prompts.context_json(reduced)
    return (*context_texts(raw), *_strings(json.loads(shown)), shown)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def llm_analysis(
    raw: RawContext,
    reduced: ReducedContext,
    rules: Analysis,
    classification: Classification,
    model: BaseChatModel,
    meter: Meter,
    model_name: str,
) -> Analysis:
    """The chains end to end; raises on any answer that cannot be trusted."""
    if classification.confidence < CONFIDENT:
        classification = classification_from_llm(model, reduced, meter)
    summary = None
    if reduced.logs and reduced.estimated_tokens > reduced.budget_tokens:
        summary = log_summary_from_llm(model, reduced, meter)
    user = prompts.analysis_prompt(reduced, rules, classification, summary)
    answer = structured_answer(model, AnalysisAnswer, user, meter)
    haystack = _haystack(raw, reduced)
    if not answer.evidence:
        raise LLMUnavailable("the model quoted no evidence for its likely cause")
    for quote in answer.evidence:
        if not is_quoted_from(quote.text, haystack):
            raise LLMUnavailable(f"the model quoted evidence not in the context: {quote.text!r}")
    return Analysis(
        summary=answer.summary,
        likely_cause=answer.likely_cause,
        next_steps=tuple(answer.next_steps),
        technical_details=answer.technical_details,
        severity=answer.severity,
        failure_class=classification.failure_class,
        family=classification.family,
        confidence=classification.confidence,
        evidence=tuple(Evidence(source=q.source, text=q.text) for q in answer.evidence),
        source="llm",
        model=model_name,
        usage=meter.usage(),
    )


def fallback(rules: Analysis, reason: str, usage: TokenUsage, model_name: str | None) -> Analysis:
    """The rules' Analysis, saying why the model's answer was not used."""
    log.warning("LLM analysis not used, falling back to rules: %s", reason)
    update = {"source": "rules", "fallback_reason": reason[:300], "usage": usage, "model": None}
    return rules.model_copy(update=update | ({"model": model_name} if model_name else {}))


def _model_name(llm: LLMSettings, chat_model: BaseChatModel | None) -> str:
    if chat_model is not None:
        return str(getattr(chat_model, "model_name", None) or type(chat_model).__name__)
    return llm.model or "unknown"


def analyze(
    raw: RawContext,
    reduced: ReducedContext,
    *,
    rules_analysis: Analysis,
    classification: Classification,
    llm: LLMSettings,
    chat_model: BaseChatModel | None = None,
    cache: AnalysisCache | None = None,
) -> Analysis:
    """The best Analysis available within `llm.timeout_seconds`; never raises for model trouble.

    Without a configured or injected model this is `rules_analysis` unchanged.
    """
    if chat_model is None and not llm.model:
        return rules_analysis
    name = _model_name(llm, chat_model)
    cache = cache or cache_for(llm.cache_dir)
    key = prompts.context_digest(reduced, rules_analysis, classification, name)
    hit = cache.get(key)
    if hit is not None:
        return hit.model_copy(update={"usage": TokenUsage()})
    meter = Meter()
    try:
        model = chat_model or chat_model_from_settings(llm)
    except Exception as exc:  # noqa: BLE001 - a missing provider package must not stop the rules
        return fallback(rules_analysis, f"could not set up the model: {exc}", meter.usage(), name)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="da-llm")
    args = (raw, reduced, rules_analysis, classification, model, meter, name)
    future = pool.submit(llm_analysis, *args)
    try:
        result = future.result(timeout=llm.timeout_seconds)
    except FuturesTimeout:
        reason = f"the model did not answer within {llm.timeout_seconds:g} s"
        return fallback(rules_analysis, reason, meter.usage(), name)
    except Exception as exc:  # noqa: BLE001 - any model failure means: use the rules
        return fallback(rules_analysis, f"{type(exc).__name__}: {exc}", meter.usage(), name)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    cache.put(key, result)
    return result


def plan_reduction(
    failure_class: str,
    known_ops: Sequence[str],
    outline: str,
    *,
    budget_tokens: int,
    model: BaseChatModel,
) -> tuple[str, ...] | None:
    """Reduction ops chosen by the model from `known_ops` (unknown names dropped).

    None when the model fails or chooses nothing usable: the caller keeps its default plan.
    """
    user = prompts.reduction_plan_prompt(failure_class, known_ops, outline, budget_tokens)
    try:
        answer = structured_answer(model, ReductionPlanAnswer, user, Meter())
    except Exception as exc:  # noqa: BLE001 - the default plan is always good enough
        log.warning("reduction plan chain failed: %s", exc)
        return None
    chosen = tuple(dict.fromkeys(op for op in answer.ops if op in set(known_ops)))
    return chosen or None


def summarize_templates(
    kind: str, templates: Sequence[tuple[int, str]], *, model: BaseChatModel
) -> str | None:
    """A short summary of log or event templates (`kind` = "log" / "event"); None on failure."""
    user = prompts.template_summary_prompt(kind, templates)
    try:
        return structured_answer(model, TemplateSummaryAnswer, user, Meter()).summary
    except Exception as exc:  # noqa: BLE001 - a summary is optional
        log.warning("%s summary chain failed: %s", kind, exc)
        return None
