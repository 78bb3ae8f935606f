"""build_reduced_context: invariants under any budget, redaction, and what is recorded."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy_assistant.models import FailureClass, LogEntry, RawContext, ReducedContext
from deploy_assistant.reduce.budget import context_json, estimate_tokens
from deploy_assistant.reduce.ops import default_plan, known_ops
from deploy_assistant.reduce.reducer import build_reduced_context
from tests.reduce.reduce_fixtures import (
    DB_PASSWORD,
    DEEPEST_CAUSE,
    JAVA_TRACE,
    SCHEDULER_MESSAGE,
    TERMINATION_MESSAGE,
    crash_loop_context,
    oom_context,
    pending_context,
)

BELOW_MINIMUM = "budget below the minimum context size"


def _kept(text: str, candidates: list[str], shortened: bool) -> bool:
    """`text` is present whole, or (when invariants were shortened) as a cut with its head."""
    if any(text in c for c in candidates):
        return True
    heads = [c.split("…", 1)[0].rstrip() for c in candidates if "…" in c]
    return shortened and any(len(h) >= 6 and text.startswith(h) for h in heads)


def _shortened(reduced: ReducedContext) -> bool:
    return any("invariants shortened" in n.what for n in reduced.dropped)


def _below_minimum(reduced: ReducedContext) -> bool:
    return any(n.why == BELOW_MINIMUM for n in reduced.dropped) or not reduced.pods


def _log_lines(reduced: ReducedContext) -> list[str]:
    return [line for log in reduced.logs for line in log.lines]


def _with_noise(noise: list[str]) -> RawContext:
    raw = crash_loop_context()
    crash = raw.logs[0]
    text = "\n".join(noise) + "\n" + crash.text
    return raw.model_copy(update={"logs": (crash.model_copy(update={"text": text}), raw.logs[1])})


def assert_crash_loop_invariants(reduced: ReducedContext) -> None:
    if _below_minimum(reduced):
        return
    shortened = _shortened(reduced)
    container = reduced.pods[0].containers[0]
    assert (container.reason, container.exit_code) == ("Error", 1)
    assert _kept(TERMINATION_MESSAGE, [container.message or ""], shortened)
    lines = _log_lines(reduced)
    trace_head = JAVA_TRACE.split("\n")[1]
    assert _kept(trace_head, lines, shortened)
    assert _kept("deepest cause: " + DEEPEST_CAUSE, lines, shortened) or any(
        DEEPEST_CAUSE in line for line in lines
    )
    assert [e.reason for e in reduced.events][:1] == ["BackOff"]
    assert [c.field for c in reduced.rollout_diff] == ["container/app.image"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    budget=st.integers(min_value=50, max_value=5000),
    noise=st.lists(st.text(max_size=200), max_size=60),
    plan=st.lists(st.sampled_from(known_ops()), max_size=9),
)
def test_any_budget_noise_and_plan_keeps_invariants_within_budget(
    budget: int, noise: list[str], plan: list[str]
) -> None:
    reduced = build_reduced_context(_with_noise(noise), None, plan, budget_tokens=budget)
    assert reduced.estimated_tokens <= budget
    assert estimate_tokens(reduced) <= budget
    assert_crash_loop_invariants(reduced)
    assert DB_PASSWORD not in context_json(reduced)


def test_generous_budget_keeps_invariants_whole() -> None:
    plan = default_plan(FailureClass.CRASH_LOOP)
    reduced = build_reduced_context(crash_loop_context(), None, plan, budget_tokens=3000)
    assert not _shortened(reduced)
    assert reduced.pods[0].containers[0].message is not None
    assert TERMINATION_MESSAGE in reduced.pods[0].containers[0].message
    assert any(DEEPEST_CAUSE in line for line in _log_lines(reduced))
    assert reduced.logs[0].templates


def test_oom_killed_reason_and_exit_code_survive_a_tight_budget() -> None:
    plan = default_plan(FailureClass.OOM_KILLED)
    reduced = build_reduced_context(oom_context(), None, plan, budget_tokens=300)
    container = reduced.pods[0].containers[0]
    assert (container.reason, container.exit_code) == ("OOMKilled", 137)
    assert reduced.estimated_tokens <= 300
    assert any(n.why in ("token budget", "budget") for n in reduced.dropped)


def test_scheduler_message_is_kept_for_a_pending_pod() -> None:
    plan = default_plan(FailureClass.UNSCHEDULABLE)
    reduced = build_reduced_context(pending_context(), None, plan, budget_tokens=3000)
    assert reduced.events[0].reason == "FailedScheduling"
    assert reduced.events[0].message == SCHEDULER_MESSAGE
    assert reduced.events[0].count == 14
    assert "PodScheduled=False" in reduced.pods[0].conditions[0]


def test_budget_below_structure_gives_the_target_and_a_note() -> None:
    reduced = build_reduced_context(crash_loop_context(), None, (), budget_tokens=50)
    assert reduced.estimated_tokens <= 50
    assert reduced.target.deployment == "checkout"


def test_reduction_is_redacted() -> None:
    reduced = build_reduced_context(crash_loop_context(), None, known_ops(), budget_tokens=5000)
    dump = context_json(reduced)
    assert DB_PASSWORD not in dump
    assert "[REDACTED:env-secret#1]" in dump


def test_old_pods_are_marked_not_new_without_plan() -> None:
    reduced = build_reduced_context(crash_loop_context(), None, (), budget_tokens=5000)
    assert {p.name: p.new for p in reduced.pods} == {
        "checkout-new-abcde": True,
        "checkout-old-fghij": False,
    }


def test_input_is_not_mutated() -> None:
    raw = crash_loop_context()
    before = raw.model_dump_json()
    build_reduced_context(raw, None, known_ops(), budget_tokens=500)
    assert raw.model_dump_json() == before


def test_missing_objects_are_reported_not_fatal() -> None:
    raw = RawContext.model_validate({"target": {"namespace": "shop", "deployment": "checkout"}})
    raw = raw.model_copy(update={"missing": ("events: forbidden by RBAC",)})
    reduced = build_reduced_context(raw, None, known_ops(), budget_tokens=1000)
    assert reduced.missing[0] == "events: forbidden by RBAC"
    assert "the Deployment object was not collected" in reduced.missing
    assert "no pods were collected" in reduced.missing
    assert reduced.pods == ()


def _one_log(text: str) -> RawContext:
    raw = crash_loop_context()
    return raw.model_copy(
        update={"logs": (LogEntry(pod="checkout-new-abcde", container="app", text=text),)}
    )


def test_binary_and_ansi_text_is_cleaned() -> None:
    garbage = b"\x00\x01\xff\xfe binary \x1b[31mERROR\x1b[0m red failure".decode(
        "utf-8", "surrogateescape"
    )
    reduced = build_reduced_context(_one_log(garbage), None, known_ops(), budget_tokens=2000)
    dump = context_json(reduced)
    assert "\x1b" not in dump
    assert "\\u001b" not in dump
    assert "ERROR red failure" in dump


def test_single_huge_line_is_cut_with_a_note() -> None:
    huge = "ERROR " + "x" * 10_000_000
    reduced = build_reduced_context(_one_log(huge), None, known_ops(), budget_tokens=2000)
    assert reduced.estimated_tokens <= 2000
    assert any("over-long line" in n.what for n in reduced.dropped)


def test_log_larger_than_the_cap_is_cut_in_the_middle_with_a_note() -> None:
    line = "INFO request GET /api/orders/{} served in 12ms status=200\n"
    cap = 200_000
    size = 2 * cap // len(line)
    text = "".join(line.format(i % 1000) for i in range(size)) + "ERROR final: connection refused\n"
    reduced = build_reduced_context(
        _one_log(text), None, known_ops(), budget_tokens=1500, max_log_chars=cap
    )
    assert any("in the middle of the log" in n.what for n in reduced.dropped)
    assert any("ERROR final: connection refused" in line for line in _log_lines(reduced))
    assert reduced.estimated_tokens <= 1500


def test_new_replicaset_is_the_highest_revision_without_a_deployment() -> None:
    raw = crash_loop_context().model_copy(update={"deployment": None})
    reduced = build_reduced_context(raw, None, ("new_pods_only",), budget_tokens=5000)
    assert [p.name for p in reduced.pods] == ["checkout-new-abcde"]
