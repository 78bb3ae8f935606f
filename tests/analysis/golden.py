"""Golden cases as data: `tests/cases/<name>/snapshot.json` and `expected.yaml`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from deploy_assistant.models import (
    Classification,
    EventSummary,
    LogExcerpt,
    PodSummary,
    RawContext,
    ReducedContext,
)
from deploy_assistant.snapshot import load_snapshot

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"


@dataclass(frozen=True)
class GoldenCase:
    name: str
    raw: RawContext
    failure_class: str
    family: str
    cause_phrases: tuple[str, ...]
    evidence: tuple[str, ...]


def load_case(directory: Path) -> GoldenCase:
    raw = load_snapshot(directory / "snapshot.json")
    expected = yaml.safe_load((directory / "expected.yaml").read_text(encoding="utf-8"))
    return GoldenCase(
        name=directory.name,
        raw=raw,
        failure_class=str(expected["failure_class"]),
        family=str(expected["family"]),
        cause_phrases=tuple(expected.get("cause_phrases") or ()),
        evidence=tuple(expected.get("evidence") or ()),
    )


def case_names() -> list[str]:
    return sorted(p.name for p in CASES_DIR.iterdir() if (p / "snapshot.json").is_file())


def all_cases() -> list[GoldenCase]:
    return [load_case(CASES_DIR / name) for name in case_names()]


def minimal_reduced(
    raw: RawContext, classification: Classification | None = None, *, budget_tokens: int = 3000
) -> ReducedContext:
    """A small ReducedContext built straight from `raw` (analysis tests do not use the reducer)."""
    events = tuple(
        EventSummary(
            object=str((e.get("involvedObject") or e.get("regarding") or {}).get("name", "")),
            reason=str(e.get("reason") or ""),
            message=str(e.get("message") or e.get("note") or ""),
            type=str(e.get("type") or "Normal"),
            count=int(e.get("count") or 1),
        )
        for e in raw.events
    )
    logs = tuple(
        LogExcerpt(
            pod=entry.pod,
            container=entry.container,
            previous=entry.previous,
            lines=tuple(entry.text.splitlines()[-30:]),
            total_lines=len(entry.text.splitlines()),
        )
        for entry in raw.logs
    )
    pods = tuple(PodSummary(name=str(p.get("metadata", {}).get("name", "?"))) for p in raw.pods)
    reduced = ReducedContext(
        target=raw.target,
        classification=classification,
        rollout_diff=raw.rollout_diff,
        pods=pods,
        events=events,
        logs=logs,
        missing=raw.missing,
        budget_tokens=budget_tokens,
    )
    return reduced.model_copy(update={"estimated_tokens": len(reduced.model_dump_json()) // 4})
