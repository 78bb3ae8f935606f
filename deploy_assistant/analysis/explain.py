"""Plain-language text for each family: what happened, why, and the exact next commands.

Written for a developer who does not know Kubernetes: the summary says what broke in everyday
words, the likely cause names the object at fault and quotes the deciding message, and each
next step is a command to run or a field to change.
"""

from __future__ import annotations

import re

from deploy_assistant.analysis import families as fam
from deploy_assistant.analysis.findings import Finding
from deploy_assistant.analysis.signals import Facts, dig, render_change
from deploy_assistant.analysis.wording import TEXT
from deploy_assistant.models import Analysis, Evidence, FieldChange, RawContext, Severity

DIFF_KEYS: dict[str, tuple[str, ...]] = {
    fam.OOM_KILLED: ("memory",),
    fam.IMAGE_NOT_FOUND: ("image",),
    fam.REGISTRY_AUTH: ("image", "imagePullSecrets"),
    fam.INVALID_IMAGE_NAME: ("image",),
    fam.ARCH_MISMATCH: ("image",),
    fam.BAD_COMMAND: ("command", "args", "image"),
    fam.MISSING_CONFIG_REF: ("env", "envFrom"),
    fam.MISSING_ENV_CONFIG: ("env",),
    fam.LIVENESS_KILLS_SLOW_START: ("Probe",),
    fam.PROBE_MISCONFIG: ("Probe",),
    fam.INSUFFICIENT_RESOURCES: ("requests", "replicas"),
    fam.QUOTA_EXCEEDED: ("requests", "limits", "replicas"),
    fam.TAINTS_AFFINITY: ("nodeSelector", "affinity", "tolerations"),
    fam.FS_PERMISSION_DENIED: ("securityContext", "volumeMounts"),
    fam.PODSECURITY_VIOLATION: ("securityContext",),
    fam.RUN_AS_NON_ROOT: ("securityContext", "image"),
}
DEFAULT_SUBJECT: dict[str, str] = {
    fam.DEPENDENCY_UNREACHABLE: "a service it depends on",
    fam.MISSING_ENV_CONFIG: "a setting",
    fam.FS_PERMISSION_DENIED: "a file or folder",
    fam.PORT_IN_USE: "its port",
    fam.BAD_COMMAND: "the start command",
    fam.MISSING_VOLUME_SOURCE: "the volume's source",
    fam.MISSING_CONFIG_REF: "a ConfigMap or Secret",
    fam.INIT_CONTAINER_FAILURE: "unknown",
}
"""What `{subject}` says when the evidence names no object."""
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "m": 1e-3, "": 1}


def _quantity(text: str | None) -> float | None:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|m|)", text or "")
    return float(match.group(1)) * UNITS[match.group(2)] if match else None


def change_sentence(change: FieldChange) -> str:
    """`memory limit lowered from 512Mi to 128Mi in this deploy`-style wording of a diff entry."""
    before, after = _quantity(change.before), _quantity(change.after)
    verb = "changed"
    if before is not None and after is not None and before != after:
        verb = "lowered" if after < before else "raised"
    return f"`{change.field}` {verb} from {change.before} to {change.after} in this deploy"


def relevant_changes(facts: Facts, family: str) -> list[FieldChange]:
    keys = DIFF_KEYS.get(family, ())
    return [c for c in facts.diff if any(k.lower() in c.field.lower() for k in keys)]


def _slots(raw: RawContext, facts: Facts, top: Finding) -> dict[str, str]:
    quote = top.evidence[0].text if top.evidence else ""
    return {
        "ns": facts.namespace,
        "deploy": facts.deployment,
        "pod": top.pod
        or (str(dig(facts.pods[0], "metadata", "name") or "POD") if facts.pods else "POD"),
        "container": top.container or "app",
        "ctype": "init container" if top.init else "container",
        "subject": top.subject or DEFAULT_SUBJECT.get(top.family, "the object in the evidence"),
        "subject_note": f" ({top.subject})" if top.subject else "",
        "quote": f"“{quote[:300]}”" if quote else "",
        "rs": facts.new_rs or raw.target.deployment,
    }


def _severity(facts: Facts, family: str) -> Severity:
    if family == fam.INSUFFICIENT_EVIDENCE:
        return Severity.MEDIUM
    if facts.service_down:
        return Severity.CRITICAL
    return Severity.MEDIUM if facts.old_ready_pods else Severity.HIGH


def build_analysis(
    raw: RawContext, facts: Facts, top: Finding, others: tuple[Finding, ...]
) -> Analysis:
    """Fill the family's text with the finding's names and quotes; add the diff and side issues."""
    key = top.family
    if key == fam.APP_CRASH_STARTUP and all(e.source == "status" for e in top.evidence):
        key += ":exit"
    if key == fam.INIT_CONTAINER_FAILURE and "waiting" in top.notes:
        key += ":waiting"
    summary, cause, steps = TEXT.get(key, TEXT[fam.INSUFFICIENT_EVIDENCE])
    slots = _slots(raw, facts, top)
    changes = relevant_changes(facts, top.family)
    cause = cause.format(**slots)
    if changes:
        cause += " " + "; ".join(change_sentence(c) for c in changes) + "."
    summary = summary.format(**slots)
    if facts.old_ready_pods:
        summary += f" The previous version is still serving ({facts.old_ready_pods} pods ready)."
    evidence = list(top.evidence)
    evidence += [Evidence(source="rollout_diff", text=render_change(c)) for c in changes]
    details = [f"Class {fam.failure_class_of(top.family).value}, family {top.family}."]
    if facts.new_rs:
        details.append(f"New ReplicaSet: {facts.new_rs}.")
    details += [f"{e.source} ({e.object or '-'}): {e.text}" for e in evidence]
    details += [f"Also seen: {o.family} — {o.evidence[0].text}" for o in others if o.evidence]
    details += [f"Not collected: {m}" for m in raw.missing]
    return Analysis(
        summary=summary,
        likely_cause=cause,
        next_steps=tuple(step.format(**slots) for step in steps),
        technical_details="\n".join(details),
        severity=_severity(facts, top.family),
        failure_class=fam.failure_class_of(top.family),
        family=top.family,
        confidence=top.confidence,
        evidence=tuple(evidence),
        source="rules",
    )
