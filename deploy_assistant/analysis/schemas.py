"""What the chains must answer: pydantic schemas handed to `with_structured_output`.

Every string and list is bounded (small local models loop without it, and a bound also keeps an
injected instruction from growing the answer); numbers are re-validated here because JSON-schema
grammars do not enforce `minimum`/`maximum`. The model cannot add fields: `extra="forbid"`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from deploy_assistant.models import FailureClass, Severity

Line = Annotated[str, Field(max_length=300)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuotedEvidence(Strict):
    source: str = Field(max_length=40, description="event, log, status, scheduler or rollout_diff")
    text: str = Field(max_length=400, description="copied verbatim from the context")


class AnalysisAnswer(Strict):
    """The main analysis chain's answer (seed §15.1, plus the evidence it rests on)."""

    summary: str = Field(max_length=400, description="what happened, for a non-Kubernetes reader")
    likely_cause: str = Field(max_length=600)
    next_steps: list[Line] = Field(max_length=6, description="commands to run, fields to change")
    technical_details: str = Field(max_length=1500)
    severity: Severity
    evidence: list[QuotedEvidence] = Field(
        max_length=5, description="verbatim quotes from the context that support likely_cause"
    )


class ClassificationAnswer(Strict):
    """The classification chain's answer (seed §15.2)."""

    failure_class: FailureClass
    family: str = Field(max_length=40, description="one of the listed family slugs")
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str = Field(max_length=400)


class ReductionPlanAnswer(Strict):
    """The reduction-plan chain's answer: op names chosen from the list it was given."""

    ops: list[Annotated[str, Field(max_length=60)]] = Field(max_length=12)
    rationale: str = Field(max_length=300)


class TemplateSummaryAnswer(Strict):
    """A short plain-language summary of log or event templates."""

    summary: str = Field(max_length=600)
