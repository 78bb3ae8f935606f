"""Findings: one suspected cause each, with the quoted evidence behind it.

Detectors here read container statuses, events and logs of the new revision and return
`Finding`s; `rules.py` ranks them. A finding never carries text that is not in the snapshot:
`quote` and every `Evidence.text` are verbatim substrings of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from deploy_assistant.analysis import families as fam
from deploy_assistant.analysis import patterns as pat
from deploy_assistant.analysis.signals import ContainerFact, EventFact, Facts
from deploy_assistant.models import Evidence

DECISIVE = 0.95
STRONG = 0.85
CRASH = 0.8
LIKELY = 0.65
GUESS = 0.4


@dataclass(frozen=True)
class Finding:
    family: str
    confidence: float
    evidence: tuple[Evidence, ...]
    pod: str = ""
    container: str = ""
    init: bool = False
    subject: str = ""
    """The object at fault when one is named: an image, a ConfigMap, a port, a volume."""
    notes: tuple[str, ...] = field(default=())


def ev_evidence(ev: EventFact) -> Evidence:
    obj = f"{ev.kind.lower() or 'object'}/{ev.name}" if ev.name else None
    return Evidence(source="event", text=ev.message, object=obj)


def status_evidence(c: ContainerFact, text: str) -> Evidence:
    return Evidence(source="status", text=text, object=f"pod/{c.pod} container/{c.name}")


def log_evidence(pod: str, container: str, line: str) -> Evidence:
    return Evidence(source="log", text=line, object=f"pod/{pod} container/{container}")


def events_for(facts: Facts, pod: str, *reasons: str) -> list[EventFact]:
    """Events with one of `reasons` about `pod` (or about no object, in hand-made snapshots)."""
    return [ev for ev in facts.events if ev.reason in reasons and ev.name in (pod, "")]


def _image_finding(facts: Facts, c: ContainerFact) -> Finding | None:
    texts = [(c.message, status_evidence(c, c.message))] if c.message else []
    for ev in events_for(facts, c.pod, "Failed", "FailedToRetrieveImagePullSecret", "BackOff"):
        if (
            c.name in ev.message
            or "image" in ev.message.lower()
            or ev.reason.startswith("FailedTo")
        ):
            texts.append((ev.message, ev_evidence(ev)))
    ranked = []
    for text, evidence in texts:
        family = pat.first_match(pat.IMAGE_MESSAGE, text)
        if family is not None:
            order = [f for f, _ in pat.IMAGE_MESSAGE].index(family)
            ranked.append((order, family, evidence))
    if c.reason == "InvalidImageName":
        ranked.append((0, fam.INVALID_IMAGE_NAME, status_evidence(c, c.reason)))
    if not ranked:
        reason_ev = status_evidence(c, c.reason)
        return Finding(fam.IMAGE_NOT_FOUND, GUESS, (reason_ev,), c.pod, c.name, c.init)
    ranked.sort(key=lambda item: item[0])
    family = ranked[0][1]
    quoted = tuple(e for _, f, e in ranked if f == family)[:2]
    return Finding(family, DECISIVE, quoted, c.pod, c.name, c.init)


def _table_finding(
    table: tuple[tuple[str, re.Pattern[str]], ...], facts: Facts, c: ContainerFact, text: str
) -> Finding | None:
    candidates = [(text, status_evidence(c, text))] if text else []
    candidates += [(e.message, ev_evidence(e)) for e in events_for(facts, c.pod, "Failed")]
    for message, evidence in candidates:
        family = pat.first_match(table, message)
        if family is not None:
            return Finding(family, DECISIVE, (evidence,), c.pod, c.name, c.init)
    return None


def _log_finding(facts: Facts, c: ContainerFact) -> Finding | None:
    # Hand-made snapshots may leave the container name out of a log entry.
    entries = [e for e in facts.logs if e.pod == c.pod and e.container in (c.name, "")]
    entries.sort(key=lambda e: not e.previous)  # the crashed run's log speaks first
    for entry in entries:
        hit = pat.decisive_log_line(entry.text)
        if hit is not None:
            family, line = hit
            conf = CRASH if family == fam.APP_CRASH_STARTUP else STRONG
            return Finding(family, conf, (log_evidence(c.pod, c.name, line),), c.pod, c.name)
    return None


def _exit_finding(c: ContainerFact) -> Finding:
    reason = c.last_reason or c.reason
    code = c.last_exit_code if c.last_exit_code is not None else c.exit_code
    evidence = (status_evidence(c, reason),) if reason else ()
    if reason == "Completed" or code == 0:
        return Finding(fam.PROCESS_EXITS_NORMALLY, STRONG, evidence, c.pod, c.name, c.init)
    if code in (126, 127, 128):
        return Finding(fam.BAD_COMMAND, LIKELY, evidence, c.pod, c.name, c.init)
    subject = f"exit code {code}" if code is not None else ""
    return Finding(fam.APP_CRASH_STARTUP, GUESS, evidence, c.pod, c.name, c.init, subject)


def _crashing(c: ContainerFact) -> bool:
    if c.reason == "CrashLoopBackOff" or c.last_reason in ("Error", "OOMKilled", "Completed"):
        return True
    return (c.state == "terminated" and (c.exit_code or 0) != 0) or c.reason == "OOMKilled"


def container_finding(facts: Facts, c: ContainerFact) -> Finding | None:
    """What is wrong with one container, judged from its status, its events and its logs."""
    if c.reason in pat.IMAGE_WAITING:
        return _image_finding(facts, c)
    if c.reason == "CreateContainerConfigError":
        found = _table_finding(pat.CONFIG_MESSAGE, facts, c, c.message)
        return found or Finding(fam.MISSING_CONFIG_REF, LIKELY, (status_evidence(c, c.reason),))
    start_text = c.message if c.reason in pat.START_REASONS else ""
    if c.last_reason in pat.START_REASONS:
        start_text = c.last_message or c.last_reason
    if start_text:
        found = _table_finding(pat.START_MESSAGE, facts, c, start_text)
        if found is not None:
            return found
    if c.last_reason == "OOMKilled" or c.reason == "OOMKilled":
        return Finding(fam.OOM_KILLED, DECISIVE, (status_evidence(c, "OOMKilled"),), c.pod, c.name)
    if c.init and c.state == "running" and not c.ready:
        return _waiting_init(facts, c)
    if not _crashing(c):
        return None
    if c.init:
        return init_finding(facts, c)
    return _log_finding(facts, c) or _termination_message_finding(c) or _exit_finding(c)


def _termination_message_finding(c: ContainerFact) -> Finding | None:
    """The kubelet's copy of the log tail (terminationMessagePolicy: FallbackToLogsOnError)."""
    hit = pat.decisive_log_line(c.last_message or c.message)
    if hit is None:
        return None
    family, line = hit
    conf = CRASH if family == fam.APP_CRASH_STARTUP else STRONG
    return Finding(family, conf, (status_evidence(c, line),), c.pod, c.name, c.init)


def init_finding(facts: Facts, c: ContainerFact) -> Finding:
    """An init container that exits non-zero; its own log names the reason when there is one."""
    inner = _log_finding(facts, c)
    base = inner.evidence if inner else ()
    exit_code = c.last_exit_code if c.last_exit_code is not None else c.exit_code
    reason = c.last_reason or c.reason
    status = (status_evidence(c, reason),) if reason else ()
    notes = (inner.family,) if inner else ()
    conf = STRONG if inner else LIKELY
    found = Finding(fam.INIT_CONTAINER_FAILURE, conf, (*base, *status), c.pod, c.name, True)
    return replace(found, subject=str(exit_code) if exit_code is not None else "", notes=notes)


def _waiting_init(facts: Facts, c: ContainerFact) -> Finding | None:
    """An init container still running a wait-for loop: the app waits for a dependency."""
    for entry in facts.logs:
        if entry.pod == c.pod and entry.container == c.name:
            lines = [line for line in pat.log_lines(entry.text) if pat.WAITING.search(line)]
            if lines:
                evidence = (log_evidence(c.pod, c.name, lines[-1][:400]),)
                found = Finding(fam.INIT_CONTAINER_FAILURE, LIKELY, evidence, c.pod, c.name, True)
                return replace(found, notes=("waiting",))
    return None
