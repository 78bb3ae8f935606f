"""Each named reduction op, on workspaces built from hand-made RawContexts."""

from __future__ import annotations

from deploy_assistant.models import FailureClass, RawContext
from deploy_assistant.reduce import ops
from deploy_assistant.reduce.redact import Redactor
from deploy_assistant.reduce.reducer import workspace_of
from tests.reduce.reduce_fixtures import crash_loop_context


def _ws(raw: RawContext | None = None) -> ops.Workspace:
    return workspace_of(Redactor().redact_raw_context(raw or crash_loop_context()))


def test_known_ops_and_default_plans_use_only_known_ops() -> None:
    assert len(ops.known_ops()) == 9
    for failure_class in FailureClass:
        plan = ops.default_plan(failure_class)
        assert set(plan) <= set(ops.known_ops())
        assert plan[-1] == "truncate_to_budget"


def test_new_pods_only_drops_old_replicaset_pods_and_their_logs() -> None:
    ws = _ws()
    ops.new_pods_only(ws)
    assert [p.name for p in ws.pods] == ["checkout-new-abcde"]
    assert {log.pod for log in ws.logs} == {"checkout-new-abcde"}
    assert any("older ReplicaSets" in n.what for n in ws.dropped)


def test_dedupe_events_merges_counts_and_puts_warnings_first() -> None:
    ws = _ws()
    ops.dedupe_events(ws)
    assert [e.reason for e in ws.events] == ["BackOff", "Pulled"]
    assert ws.events[0].count == 12
    assert ws.pinned_events == {0}


def test_template_logs_fills_templates_with_counts() -> None:
    ws = _ws()
    ops.template_logs(ws)
    crash = ws.logs[0]
    assert any(t.count == 50 for t in crash.shown_templates)
    assert "Application run failed" in crash.shown_templates[0].first


def test_keep_error_blocks_offers_errors_not_already_pinned() -> None:
    ws = _ws()
    ops.keep_error_blocks(ws)
    assert all(text not in ws.logs[0].pinned for _, text in ws.logs[0].optional)


def test_keep_last_lines_before_exit_offers_the_tail() -> None:
    ws = _ws()
    ops.keep_last_lines_before_exit(ws)
    texts = [text for _, text in ws.logs[0].optional]
    assert any("warmed entry 49" in t for t in texts)
    assert len(texts) <= ops.TAIL_LINES


def test_keep_deepest_cause_offers_the_innermost_cause() -> None:
    ws = _ws()
    ops.keep_deepest_cause(ws)
    assert any("UnknownHostException" in text for _, text in ws.logs[0].optional)


def test_diff_against_healthy_pods_drops_templates_seen_in_healthy_pods() -> None:
    ws = _ws()
    ops.template_logs(ws)
    ops.diff_against_healthy_pods(ws)
    assert all("warmed entry" not in t.template for t in ws.logs[0].shown_templates)
    assert any("healthy pods" in n.why for n in ws.dropped)
    assert any("Application run failed" in t.first for t in ws.logs[0].shown_templates)


def test_drop_healthy_containers_drops_healthy_pod_logs() -> None:
    ws = _ws()
    ops.drop_healthy_containers(ws)
    assert {log.pod for log in ws.logs} == {"checkout-new-abcde"}


def test_truncate_to_budget_caps_optional_lines() -> None:
    ws = _ws()
    ws.logs[0].optional.append((1, "x" * 5000))
    ops.truncate_to_budget(ws)
    assert max(len(text) for _, text in ws.logs[0].optional) < 400


def test_unknown_op_is_skipped_with_a_note() -> None:
    ws = _ws()
    ops.run_plan(ws, ["no_such_op"])
    assert ws.dropped[-1].what == "op 'no_such_op'"
