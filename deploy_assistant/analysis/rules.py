"""The deterministic classifier: one family for a failed rollout, from the snapshot alone.

It follows the diagnosis order of k8s-failures.md §10 over the NEW ReplicaSet's pods: pods that
could not be created, pods that could not be scheduled, pods stuck creating (volumes, sandbox),
then each container (image, config, start, OOM, probes, logs), and the progress deadline last.
Every finding is kept; the first by that order and then by confidence is the diagnosis, the
rest are mentioned. Nothing here calls out: same snapshot, same answer.
"""

from __future__ import annotations

import re
from dataclasses import replace

from deploy_assistant.analysis import families as fam
from deploy_assistant.analysis import patterns as pat
from deploy_assistant.analysis.explain import build_analysis
from deploy_assistant.analysis.findings import (
    DECISIVE,
    GUESS,
    LIKELY,
    Finding,
    container_finding,
    ev_evidence,
)
from deploy_assistant.analysis.probes import probe_finding
from deploy_assistant.analysis.signals import Facts, collect_facts, container_spec, dicts, dig
from deploy_assistant.models import Analysis, Classification, Evidence, RawContext

IMAGE_FAMILIES = {
    fam.IMAGE_NOT_FOUND,
    fam.REGISTRY_AUTH,
    fam.REGISTRY_UNREACHABLE,
    fam.INVALID_IMAGE_NAME,
}
SUBJECT: dict[str, str] = {
    fam.MISSING_CONFIG_REF: r"((?:configmap|secret) \"[^\"]+\"|"
    r"key \S+ in (?:ConfigMap|Secret) \S+)",
    fam.RUN_AS_NON_ROOT: r"(runAsNonRoot)",
    fam.MISSING_VOLUME_SOURCE: r"^.*?((?:secret|configmap) \"[^\"]+\")|(volume \"[^\"]+\")",
    fam.VOLUME_ATTACH_CONFLICT: r"volume \"([^\"]+)\"",
    fam.QUOTA_EXCEEDED: r"quota: ([\w.-]+)",
    fam.ADMISSION_WEBHOOK: r"webhook \"([^\"]+)\"",
    fam.PODSECURITY_VIOLATION: r"PodSecurity \"([^\"]+)\"",
    fam.PVC_PENDING: r"persistentvolumeclaim \"([^\"]+)\"|(unbound immediate "
    r"PersistentVolumeClaims)",
    fam.INSUFFICIENT_RESOURCES: r"(Insufficient [\w./-]+|Too many pods)",
    fam.TAINTS_AFFINITY: r"(taint \{[^}]*\}|didn't match Pod's node affinity/selector|"
    r"anti-affinity rules|were unschedulable)",
    fam.PORT_IN_USE: r"(?:port |:)(\d{2,5})",
    fam.BAD_COMMAND: r"exec: \"([^\"]*)\"|exec (\S+): no such|(\S+): (?:command )?not found",
    fam.DEPENDENCY_UNREACHABLE: r"host name \"([^\"]+)\"|lookup ([\w.-]+)|ENOTFOUND ([\w.-]+)|"
    r"((?:[\w-]+\.)+[\w-]+:\d+|[\d.]+:\d+)",
    fam.MISSING_ENV_CONFIG: r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b",
    fam.FS_PERMISSION_DENIED: r"(/[\w./-]+)",
}


def _with_subject(found: Finding, facts: Facts) -> Finding:
    if found.subject:
        return found
    spec = container_spec(facts.pods, found.container)
    if found.family in IMAGE_FAMILIES and spec.get("image"):
        return replace(found, subject=str(spec["image"]))
    if found.family == fam.OOM_KILLED:
        limit = dig(spec, "resources", "limits", "memory")
        return replace(found, subject=f"limit {limit}") if limit else found
    pattern = SUBJECT.get(found.family)
    for evidence in found.evidence if pattern else ():
        match = re.search(pattern or "", evidence.text)
        if match:
            return replace(found, subject=next(g for g in match.groups() if g is not None))
    return found


def _creation_findings(facts: Facts) -> list[Finding]:
    found = []
    texts = [
        (ev.message, ev_evidence(ev))
        for ev in facts.events
        if ev.reason == "FailedCreate" or "Error creating" in ev.message
    ]
    for cond in facts.conditions:
        if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
            message = str(cond.get("message") or "")
            texts.append((message, Evidence(source="condition", text=message)))
    for message, evidence in texts:
        family = pat.first_match(pat.CREATE_REFUSAL, message) if message else None
        if family is not None:
            conf = GUESS if family == fam.CREATE_FORBIDDEN else DECISIVE
            found.append(Finding(family, conf, (evidence,)))
    return found


def _scheduling_findings(facts: Facts) -> list[Finding]:
    texts = [
        (ev.message, ev_evidence(ev)) for ev in facts.events if ev.reason == "FailedScheduling"
    ]
    for pod in facts.pods:
        for cond in dicts(dig(pod, "status", "conditions")):
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                message = str(cond.get("message") or "")
                obj = f"pod/{dig(pod, 'metadata', 'name') or ''}"
                texts.append((message, Evidence(source="scheduler", text=message, object=obj)))
    found = []
    for message, evidence in texts:
        family = pat.first_match(pat.SCHEDULING, message) if message else None
        if family is not None:
            found.append(Finding(family, DECISIVE, (evidence,)))
    return found


def _creating_findings(facts: Facts) -> list[Finding]:
    found = []
    for ev in facts.events:
        if ev.reason in ("FailedMount", "FailedAttachVolume"):
            family = pat.first_match(pat.VOLUME, ev.message)
            conf = DECISIVE if family else GUESS
            found.append(Finding(family or fam.MISSING_VOLUME_SOURCE, conf, (ev_evidence(ev),)))
        elif ev.reason in ("FailedCreatePodSandBox", "NetworkNotReady") or (
            ev.type == "Warning" and ev.reason == "FailedSync" and pat.SANDBOX.search(ev.message)
        ):
            found.append(Finding(fam.SANDBOX_NETWORK_FAILURE, DECISIVE, (ev_evidence(ev),)))
    found.sort(key=lambda f: -f.confidence)
    return found


def _container_findings(facts: Facts) -> list[Finding]:
    found = []
    for c in facts.containers:
        item = probe_finding(facts, c) or container_finding(facts, c)
        if item is not None:
            found.append(item)
    # Init containers run first and block the rest; otherwise the surest finding leads.
    found.sort(key=lambda f: (not f.init, -f.confidence))
    return found


def _deadline_findings(facts: Facts) -> list[Finding]:
    for cond in facts.conditions:
        if cond.get("reason") == "ProgressDeadlineExceeded":
            message = str(cond.get("message") or cond.get("reason"))
            return [
                Finding(
                    fam.PROGRESS_DEADLINE, LIKELY, (Evidence(source="condition", text=message),)
                )
            ]
    for ev in facts.events:
        if (
            "exceeded its progress deadline" in ev.message
            or ev.reason == "ProgressDeadlineExceeded"
        ):
            return [Finding(fam.PROGRESS_DEADLINE, LIKELY, (ev_evidence(ev),))]
    return []


def ranked_findings(raw: RawContext) -> tuple[Facts, list[Finding]]:
    """All findings about the new revision, the diagnosis first."""
    facts = collect_facts(raw)
    creation = _creation_findings(facts)
    blocked = creation if not facts.pods else []
    stages = [
        blocked,
        _scheduling_findings(facts),
        _creating_findings(facts),
        _container_findings(facts),
        [] if blocked else creation,
        _deadline_findings(facts),
    ]
    findings = [_with_subject(f, facts) for stage in stages for f in stage]
    return facts, _deduplicated(findings)


def _deduplicated(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for f in findings:
        key = (f.family, f.container if f.family != fam.APP_CRASH_STARTUP else f.subject)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


NO_FINDING = Finding(fam.INSUFFICIENT_EVIDENCE, 0.1, ())


def classify(raw: RawContext) -> Classification:
    """The family and symptom class of a failed rollout, with a confidence that reflects the
    evidence (0.95 when a decisive message is quoted, ≤0.4 when guessing)."""
    _, findings = ranked_findings(raw)
    top = findings[0] if findings else NO_FINDING
    quoted = "; ".join(e.text for e in top.evidence[:2])
    rationale = f"{top.family}: {quoted}" if quoted else "no failure signal in the snapshot"
    return Classification(
        failure_class=fam.failure_class_of(top.family),
        family=top.family,
        confidence=top.confidence,
        rationale=rationale[:500],
    )


def analyze_with_rules(raw: RawContext, classification: Classification | None = None) -> Analysis:
    """The whole plain-language Analysis from the rules, quoting only text found in `raw`.

    A `classification` from elsewhere (the LLM's classification chain) picks the family when
    the rules found a matching finding; otherwise the rules' own diagnosis stands.
    """
    facts, findings = ranked_findings(raw)
    top = findings[0] if findings else NO_FINDING
    if classification is not None:
        top = next((f for f in findings if f.family == classification.family), top)
    others = tuple(f for f in findings if f is not top)
    return build_analysis(raw, facts, top, others)
