"""Reduction benchmark: raw size vs reduced tokens, evidence kept, time per context.

Contexts: the golden cases (tests/cases/*/snapshot.json, whose expected.yaml lists the evidence
lines a diagnosis needs) plus synthetic large failing contexts (a crash loop buried in noise,
an OOM loop, a pending pod). For each, `build_reduced_context` with the default plan of the
case's failure class runs against a naive baseline in the same process: "last 100 lines of each
log + every event message" (the k8sgpt/HolmesGPT default). Reported: input tokens, output
tokens, compression, evidence recall (labelled evidence and the reducer's invariants, which must
be 100 %), and milliseconds per context. Writes bench/results/reduction.json.

    .venv/bin/python -m bench.reduction [--budget 3000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from deploy_assistant.models import FailureClass, RawContext, ReducedContext
from deploy_assistant.reduce.evidence import deepest_cause, is_error_text
from deploy_assistant.reduce.ops import default_plan
from deploy_assistant.reduce.redact import redact_raw_context
from deploy_assistant.reduce.reducer import build_reduced_context
from deploy_assistant.reduce.status import new_pod_names
from deploy_assistant.reduce.templates import group_events
from deploy_assistant.snapshot import load_snapshot
from tests.reduce.reduce_fixtures import (
    JAVA_TRACE,
    buried_root_cause_context,
    crash_loop_context,
    oom_context,
    pending_context,
)

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"
RESULTS = ROOT / "bench" / "results" / "reduction.json"
TAIL = 100
PROBE_CHARS = 40

Case = tuple[str, RawContext, FailureClass, list[str]]


def golden_cases() -> list[Case]:
    cases = []
    for directory in sorted(p for p in CASES.iterdir() if (p / "snapshot.json").is_file()):
        expected = yaml.safe_load((directory / "expected.yaml").read_text(encoding="utf-8"))
        raw = load_snapshot(directory / "snapshot.json")
        evidence = [str(e) for e in expected.get("evidence") or ()]
        cases.append((directory.name, raw, FailureClass(expected["failure_class"]), evidence))
    return cases


def synthetic_cases() -> list[Case]:
    noisy = crash_loop_context(noise_lines=20_000)
    return [
        ("synthetic_crash_loop_20k_lines", noisy, FailureClass.CRASH_LOOP, []),
        (
            "synthetic_buried_root_cause_5k",
            buried_root_cause_context(),
            FailureClass.CRASH_LOOP,
            [],
        ),
        ("synthetic_oom", oom_context(), FailureClass.OOM_KILLED, []),
        ("synthetic_pending", pending_context(), FailureClass.UNSCHEDULABLE, []),
    ]


def huge_log_case(megabytes: int) -> Case:
    """A crash loop whose previous log is `megabytes` MB of request lines (linear-time check)."""
    line = "2026-11-27T10:00:00.123Z INFO GET /api/orders/{} served in {}ms status=200\n"
    count = megabytes * 1_000_000 // len(line)
    text = "".join(line.format(i, i % 97) for i in range(count)) + JAVA_TRACE + "\n"
    raw = crash_loop_context(noise_lines=0)
    crash = raw.logs[0].model_copy(update={"text": text})
    raw = raw.model_copy(update={"logs": (crash,)})
    return (f"synthetic_{megabytes}mb_log", raw, FailureClass.CRASH_LOOP, [])


def invariant_probes(raw: RawContext) -> list[str]:
    """Short verbatim probes the reduced context must contain (computed from the raw input)."""
    probes: list[str] = []
    for pod in raw.pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            for state in (status.get("state") or {}, status.get("lastState") or {}):
                terminated = state.get("terminated") or {}
                probes += [str(terminated[k]) for k in ("reason", "message") if terminated.get(k)]
    new = new_pod_names(raw)
    for entry in raw.logs:
        if new is not None and entry.pod not in new:
            continue
        events = list(group_events(entry.text.splitlines()))
        errors = [e for e in events if is_error_text(e.text)]
        if errors:
            probes.append(errors[-1].lines[0])
        for event in events:
            cause = deepest_cause(event.lines) if event.is_trace else None
            if cause:
                probes.append(cause)
    probes += [c.field for c in raw.rollout_diff]
    return [p.strip()[:PROBE_CHARS] for p in probes if p.strip()]


def searchable_text(reduced: ReducedContext) -> str:
    """Every string of the reduced context, unescaped, plus the diff as `field: a -> b`."""
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(reduced.model_dump(mode="json"))
    strings += [f"{c.field}: {c.before} -> {c.after}" for c in reduced.rollout_diff]
    return "\n".join(strings)


def naive_tail(raw: RawContext) -> str:
    parts = [str(e.get("message") or e.get("note") or "") for e in raw.events]
    parts += [f"{c.field}: {c.before} -> {c.after}" for c in raw.rollout_diff]
    for entry in raw.logs:
        parts += entry.text.splitlines()[-TAIL:]
    for pod in raw.pods:
        parts.append(json.dumps(pod.get("status") or {}))
    return "\n".join(parts)


def recall(probes: list[str], text: str) -> float:
    return sum(p in text for p in probes) / len(probes) if probes else 1.0


def raw_tokens(raw: RawContext) -> int:
    return len(raw.model_dump_json()) // 4


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def measure(case: Case, budget: int, repeat: int) -> dict[str, Any]:
    name, raw, failure_class, evidence = case
    plan = default_plan(failure_class)
    reduced, seconds = timed(lambda: build_reduced_context(raw, None, plan, budget), repeat)
    baseline, base_seconds = timed(lambda: naive_tail(redact_raw_context(raw)), repeat)
    text = searchable_text(reduced)
    probes = invariant_probes(redact_raw_context(raw))
    return {
        "case": name,
        "raw_tokens": raw_tokens(raw),
        "reduced_tokens": reduced.estimated_tokens,
        "within_budget": reduced.estimated_tokens <= budget,
        "baseline_tokens": len(baseline) // 4,
        "invariants": len(probes),
        "invariant_recall": recall(probes, text),
        "baseline_invariant_recall": recall(probes, baseline),
        "evidence": len(evidence),
        "evidence_recall": recall(evidence, text),
        "baseline_evidence_recall": recall(evidence, baseline),
        "ms": seconds * 1000,
        "baseline_ms": base_seconds * 1000,
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    with_evidence = [r for r in rows if r["evidence"]]
    big = [r for r in rows if r["raw_tokens"] >= 5000]
    return {
        "contexts": len(rows),
        "all_within_budget": all(r["within_budget"] for r in rows),
        "invariant_recall": statistics.mean(r["invariant_recall"] for r in rows),
        "baseline_invariant_recall": statistics.mean(r["baseline_invariant_recall"] for r in rows),
        "evidence_recall": statistics.mean(r["evidence_recall"] for r in with_evidence),
        "baseline_evidence_recall": statistics.mean(
            r["baseline_evidence_recall"] for r in with_evidence
        ),
        "compression_large_contexts": statistics.mean(
            r["raw_tokens"] / max(1, r["reduced_tokens"]) for r in big
        )
        if big
        else None,
        "median_ms": statistics.median(r["ms"] for r in rows),
        "median_baseline_ms": statistics.median(r["baseline_ms"] for r in rows),
        "max_ms": max(r["ms"] for r in rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--huge-mb", type=int, default=100, help="size of the huge-log case")
    args = parser.parse_args()
    cases = golden_cases() + synthetic_cases()
    rows = [measure(case, args.budget, args.repeat) for case in cases]
    if args.huge_mb > 0:
        rows.append(measure(huge_log_case(args.huge_mb), args.budget, 1))
    result = {"budget_tokens": args.budget, "summary": summary(rows), "rows": rows}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print("| case | raw tok | reduced tok | tail-100 tok | invariants | evidence | ms | tail ms |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['case']} | {r['raw_tokens']} | {r['reduced_tokens']} | {r['baseline_tokens']} "
            f"| {r['invariant_recall']:.0%} (tail {r['baseline_invariant_recall']:.0%}) "
            f"| {r['evidence_recall']:.0%} (tail {r['baseline_evidence_recall']:.0%}) "
            f"| {r['ms']:.1f} | {r['baseline_ms']:.1f} |"
        )
    print(json.dumps(result["summary"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
