"""The report directory a CI job leaves behind, whatever happened (gitlab-component spec §3.5).

snapshot.json.gz   the redacted RawContext (re-analyse it with `da-ci check --snapshot`)
analysis.json      verdict, classification, analysis, the context the analysis saw, usage
report.md          the full human report (linked from the MR widget via expose_as)
annotations.json   links shown on the job page (Slack thread, MR comment)
junit.xml          one test case per deployment; a failure carries the one-line cause
result.env         DA_RESULT and links for later jobs (dotenv: no secrets, no multi-line values)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from deploy_assistant.models import RolloutStatus, Target, Verdict
from deploy_assistant.snapshot import write_snapshot

from .pipeline import Diagnosis

XML_INVALID = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

RESULTS = {
    RolloutStatus.SUCCEEDED: "healthy",
    RolloutStatus.FAILED: "failed",
    RolloutStatus.TIMEOUT: "stuck",
    RolloutStatus.SUPERSEDED: "superseded",
    RolloutStatus.PAUSED: "skipped",
    RolloutStatus.UNKNOWN: "error",
}


@dataclass(frozen=True)
class PostedLinks:
    """Where the messages went, for annotations and dotenv."""

    slack_permalink: str | None = None
    note_url: str | None = None
    errors: tuple[str, ...] = field(default=())


def result_name(verdict: Verdict) -> str:
    return RESULTS.get(verdict.status, "error")


def write_report_dir(
    report_dir: Path,
    verdict: Verdict,
    targets: list[Target],
    *,
    diagnosis: Diagnosis | None = None,
    report_md: str | None = None,
    links: PostedLinks | None = None,
) -> list[Path]:
    """Write every report file; returns the paths written."""
    report_dir.mkdir(parents=True, exist_ok=True)
    links = links or PostedLinks()
    written: list[Path] = []
    if diagnosis is not None:
        snapshot = report_dir / "snapshot.json.gz"
        write_snapshot(diagnosis.raw, snapshot)
        written.append(snapshot)
        written.append(_write(report_dir / "analysis.json", analysis_json(diagnosis)))
    if report_md is not None:
        written.append(_write(report_dir / "report.md", report_md))
    written.append(_write(report_dir / "annotations.json", _annotations(links)))
    written.append(_write(report_dir / "junit.xml", junit_xml(verdict, targets, diagnosis)))
    written.append(_write(report_dir / "result.env", _dotenv(verdict, links)))
    return written


def analysis_json(diagnosis: Diagnosis) -> str:
    body = {
        "verdict": diagnosis.verdict.model_dump(mode="json"),
        "classification": diagnosis.classification.model_dump(mode="json"),
        "analysis": diagnosis.analysis.model_dump(mode="json"),
        "context": diagnosis.reduced.model_dump(mode="json"),
        "usage": diagnosis.analysis.usage.model_dump(mode="json"),
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def junit_xml(verdict: Verdict, targets: list[Target], diagnosis: Diagnosis | None) -> str:
    cases: list[str] = []
    failed_target = verdict.target
    failures = 0
    for target in targets:
        name = quoteattr(f"rollout {target.namespace}/{target.deployment}")
        is_failed = verdict.status in (RolloutStatus.FAILED, RolloutStatus.TIMEOUT) and (
            failed_target is None or failed_target == target
        )
        if not is_failed:
            cases.append(f'  <testcase classname="deploy-assistant" name={name}/>')
            continue
        failures += 1
        cause = _xml_safe(diagnosis.analysis.summary if diagnosis else verdict.message)
        detail = _xml_safe(diagnosis.analysis.likely_cause if diagnosis else verdict.message)
        cases.append(
            f'  <testcase classname="deploy-assistant" name={name}>\n'
            f"    <failure message={quoteattr(_one_line(cause))}>{escape(detail)}</failure>\n"
            "  </testcase>"
        )
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuite name="deploy-assistant" tests="{len(targets)}" failures="{failures}">'
    )
    return "\n".join([head, *cases, "</testsuite>"]) + "\n"


def _annotations(links: PostedLinks) -> str:
    items = []
    if links.slack_permalink:
        items.append({"external_link": {"label": "Slack thread", "url": links.slack_permalink}})
    if links.note_url:
        items.append({"external_link": {"label": "MR comment", "url": links.note_url}})
    return json.dumps({"deploy_assistant": items}, indent=2) + "\n"


def _dotenv(verdict: Verdict, links: PostedLinks) -> str:
    values = {
        "DA_RESULT": result_name(verdict),
        "DA_RULE": verdict.rule.value if verdict.rule else "",
        "DA_NOTE_URL": links.note_url or "",
        "DA_SLACK_PERMALINK": links.slack_permalink or "",
    }
    return "".join(f"{key}={_dotenv_value(value)}\n" for key, value in values.items() if value)


def _dotenv_value(value: str) -> str:
    """dotenv values may not hold spaces, quotes or new lines."""
    return re.sub(r"[\s\"'`]", "", value)[:1024]


def _xml_safe(text: str) -> str:
    """XML 1.0 forbids most control characters (ANSI-coloured logs are full of ESC)."""
    return XML_INVALID.sub("", text)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
