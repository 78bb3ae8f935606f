"""Probe failures: a liveness probe killing a slow start versus a probe aimed at the wrong place.

The deciding question is whether the app ever answered where the probe looks: a 404 means a
wrong path, a refused connection on a port other than the one the log says the app listens on
means a wrong port; a refused connection while the log is still starting up means the probe
gives up before the app is ready (k8s-failures.md §9).
"""

from __future__ import annotations

from deploy_assistant.analysis import families as fam
from deploy_assistant.analysis import patterns as pat
from deploy_assistant.analysis.findings import (
    DECISIVE,
    LIKELY,
    STRONG,
    Finding,
    ev_evidence,
    events_for,
    log_evidence,
)
from deploy_assistant.analysis.signals import ContainerFact, EventFact, Facts
from deploy_assistant.models import FieldChange

TIMING_FIELDS = ("initialDelaySeconds", "failureThreshold", "periodSeconds", "timeoutSeconds")


def _mentions(ev: EventFact, c: ContainerFact, facts: Facts) -> bool:
    single = len({x.name for x in facts.containers if x.pod == c.pod and not x.init}) <= 1
    return single or c.name in ev.message


def _listening_port(facts: Facts, c: ContainerFact) -> tuple[str, str] | None:
    for entry in facts.logs:
        if entry.pod == c.pod and entry.container == c.name:
            for line in pat.log_lines(entry.text):
                match = pat.LISTENING.search(line)
                if match:
                    return match.group(2), line[:400]
    return None


def _probe_diff(facts: Facts) -> FieldChange | None:
    for change in facts.diff:
        if "Probe" in change.field or "probe" in change.field:
            return change
    return None


def _wrong_target(facts: Facts, c: ContainerFact, failed: list[EventFact]) -> Finding | None:
    for ev in failed:
        if pat.PROBE_WRONG_PATH.search(ev.message):
            return Finding(fam.PROBE_MISCONFIG, DECISIVE, (ev_evidence(ev),), c.pod, c.name)
    listening = _listening_port(facts, c)
    for ev in failed:
        port = pat.PROBE_PORT.search(ev.message)
        if (
            listening
            and port
            and pat.PROBE_CONN.search(ev.message)
            and port.group(1) != listening[0]
        ):
            evidence = (ev_evidence(ev), log_evidence(c.pod, c.name, listening[1]))
            return Finding(
                fam.PROBE_MISCONFIG, STRONG, evidence, c.pod, c.name, subject=port.group(1)
            )
    change = _probe_diff(facts)
    if change is not None and not change.field.endswith(TIMING_FIELDS):
        return Finding(fam.PROBE_MISCONFIG, LIKELY, (ev_evidence(failed[0]),), c.pod, c.name)
    return None


def probe_finding(facts: Facts, c: ContainerFact) -> Finding | None:
    """A probe-caused failure of container `c`, or None when probes are not the story."""
    if c.init:
        return None
    unhealthy = [e for e in events_for(facts, c.pod, "Unhealthy") if _mentions(e, c, facts)]
    kills = [
        e
        for e in events_for(facts, c.pod, "Killing")
        if pat.PROBE_KILL.search(e.message) and _mentions(e, c, facts)
    ]
    restarting = [e for e in unhealthy if "Readiness" not in e.message]
    if kills or (restarting and c.restarts > 0):
        failed = restarting or unhealthy
        wrong = _wrong_target(facts, c, failed) if failed else None
        if wrong is not None:
            return wrong
        evidence = tuple(ev_evidence(e) for e in (kills[:1] + failed[:1]))
        return Finding(fam.LIVENESS_KILLS_SLOW_START, STRONG, evidence, c.pod, c.name)
    readiness = [e for e in unhealthy if "Readiness" in e.message]
    if readiness and not c.ready and c.state == "running":
        wrong = _wrong_target(facts, c, readiness)
        if wrong is not None:
            return wrong
        return Finding(fam.PROBE_MISCONFIG, LIKELY, (ev_evidence(readiness[0]),), c.pod, c.name)
    return None
