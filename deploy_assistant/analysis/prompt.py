"""Prompts: Jinja2 templates under `prompts/`, versioned together by PROMPT_VERSION.

Cached answers are keyed by the version, so any edit to a template must bump it. Untrusted text
(logs, events, statuses) is only ever placed inside `<untrusted-data>` tags, with any tag of that
name inside the text defused, so that collected text cannot close the block and speak as us.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from deploy_assistant.analysis import families
from deploy_assistant.models import Analysis, Classification, FailureClass, ReducedContext

PROMPT_VERSION = "2026-11-27.1"

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "prompts"),
    autoescape=select_autoescape(default=False),
    undefined=StrictUndefined,
    keep_trailing_newline=False,
)
_TAG = re.compile(r"<\s*(/?)\s*untrusted-data\s*>", re.IGNORECASE)


def defused(text: str) -> str:
    """`text` with every `<untrusted-data>` / `</untrusted-data>` tag made inert."""
    return _TAG.sub(lambda m: f"[{m.group(1)}untrusted-data]", text)


def _render(name: str, **values: Any) -> str:
    return _ENV.get_template(name).render(**values).strip()


def system_prompt() -> str:
    return _render("system.j2", version=PROMPT_VERSION)


def context_json(reduced: ReducedContext, *, without_logs: bool = False) -> str:
    """The context the model reads: compact JSON, defused."""
    exclude = {"logs"} if without_logs else set()
    data = reduced.model_dump(mode="json", exclude_none=True, exclude=exclude)
    return defused(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def analysis_prompt(
    reduced: ReducedContext,
    rules: Analysis,
    classification: Classification,
    log_summary: str | None = None,
) -> str:
    return _render(
        "analysis.j2",
        deployment=reduced.target.deployment,
        namespace=reduced.target.namespace,
        failure_class=classification.failure_class.value,
        family=classification.family,
        confidence=f"{classification.confidence:.2f}",
        rules_cause=defused(rules.likely_cause),
        log_summary=defused(log_summary) if log_summary else "",
        context_json=context_json(reduced, without_logs=log_summary is not None),
    )


def classification_prompt(reduced: ReducedContext) -> str:
    return _render(
        "classification.j2",
        deployment=reduced.target.deployment,
        namespace=reduced.target.namespace,
        failure_classes=[c.value for c in FailureClass],
        families=families.FAMILIES,
        context_json=context_json(reduced),
    )


def reduction_plan_prompt(
    failure_class: str, known_ops: Sequence[str], outline: str, budget_tokens: int
) -> str:
    return _render(
        "reduction_plan.j2",
        failure_class=failure_class,
        known_ops=list(known_ops),
        outline=defused(outline),
        budget_tokens=budget_tokens,
    )


def template_summary_prompt(kind: str, templates: Sequence[tuple[int, str]]) -> str:
    lines = "\n".join(f"{count} x {template}" for count, template in templates)
    return _render("template_summary.j2", kind=kind, templates=defused(lines))


def context_digest(
    reduced: ReducedContext, rules: Analysis, classification: Classification, model: str
) -> str:
    """Cache key: what the model sees (context, the rules' reading), which model, which prompts."""
    parts = (reduced.model_dump_json(), rules.likely_cause, classification.model_dump_json())
    payload = "\n".join((*parts, model, PROMPT_VERSION))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
